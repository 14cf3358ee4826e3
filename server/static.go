package server

import (
	"fmt"
	"net/http"
	"strings"
)

// StaticHandler answers every request with one response fixed in advance:
// the static routes of the Bun wrapper (`"/": new Response("home")`, or a
// file), served without a round trip to the consumer, as Bun.serve serves
// its static routes natively. Its head is checked and built once, by
// NewStaticHandler or NewStaticFileHandler.
//
// HEAD gets the head of GET (with the body's length, without the body). When
// the response is a 2xx with an ETag, a GET or HEAD whose If-None-Match names
// it (weak comparison) or is "*" gets 304 with the fields a cache needs. A
// request body is never read: the client is told to stop sending it.
type StaticHandler struct {
	status      int
	header      http.Header
	body        []byte
	file        string // sent with SendFile's rules instead of body when set
	etag        string // opaque part (W/ removed); "" for none
	notModified http.Header
}

// notModifiedFields are the fields a 304 repeats from the response it stands
// for (RFC 9110 section 15.4.5; Date is added by the server).
var notModifiedFields = map[string]bool{
	"Cache-Control": true, "Content-Location": true, "Etag": true,
	"Expires": true, "Last-Modified": true, "Vary": true,
}

// NewStaticHandler makes the handler of a static response: status, header
// fields (a Content-Length among them is dropped: the body's own length is
// sent; an ETag of a 2xx answers If-None-Match) and the body, which is kept
// and must never change. A bad status or field is an ErrInvalidArgument.
func NewStaticHandler(status int, fields []HeaderField, body []byte) (*StaticHandler, error) {
	if err := checkStatus(status); err != nil {
		return nil, err
	}
	if err := validateFields(fields); err != nil {
		return nil, err
	}
	h := &StaticHandler{status: status, body: body, header: http.Header{}, notModified: http.Header{}}
	addFields(h.header, fields)
	delete(h.header, "Content-Length")
	for k := range notModifiedFields {
		if v, ok := h.header[k]; ok {
			h.notModified[k] = v
		}
	}
	if etag := h.header.Get("Etag"); etag != "" && status < 300 {
		h.etag = strings.TrimPrefix(etag, "W/")
	}
	return h, nil
}

// NewStaticFileHandler makes the handler of a static route whose body is
// the file at path, read at each request (as Response.SendFile: Range and
// conditional requests, 404 when the file is missing).
func NewStaticFileHandler(status int, fields []HeaderField, path string) (*StaticHandler, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: empty path", ErrInvalidArgument)
	}
	h, err := NewStaticHandler(status, fields, nil)
	if err != nil {
		return nil, err
	}
	h.file, h.etag = path, "" // SendFile answers conditional requests itself
	return h, nil
}

// Route is the route of h: its body streams, so that it is not read (and
// not buffered) before the answer, which does not depend on it.
func (h *StaticHandler) Route() Route { return Route{Handler: h, StreamBody: true} }

// ServeRequest implements Handler.
func (h *StaticHandler) ServeRequest(req *Request, res *Response) {
	if h.etag != "" && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
		for _, f := range req.Header {
			if f.Name == "if-none-match" && ifNoneMatch(f.Value, h.etag) {
				_ = res.respondPrepared(http.StatusNotModified, h.notModified, nil, "")
				return
			}
		}
	}
	_ = res.respondPrepared(h.status, h.header, h.body, h.file)
}

// ifNoneMatch reports whether an If-None-Match value names etag (given
// without W/) or is "*", comparing entity tags weakly (RFC 9110 section
// 8.8.3.2: W/ is ignored).
func ifNoneMatch(value, etag string) bool {
	for tag := range strings.SplitSeq(value, ",") {
		t := strings.TrimSpace(tag)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
