package core

import (
	"net/http"
	"strings"
)

// StaticHandler answers every request with one response fixed in advance:
// the static routes of the Bun wrapper (`"/": new Response("home")`, or a
// file), served without a round trip to the consumer, as Bun.serve serves
// its static routes natively. Use NewStaticHandler or NewStaticFileHandler.
//
// HEAD gets the head of GET (with the body's length, without the body). When
// the response is a 2xx with an ETag, a GET or HEAD whose If-None-Match names
// it (weak comparison) or is "*" gets 304 with the fields a cache needs. A
// request body is never read: the client is told to stop sending it.
type StaticHandler struct {
	status      int
	header      []HeaderField
	body        []byte
	file        string // sent with Response.SendFile instead of body when set
	etag        string
	notModified []HeaderField
}

// notModifiedFields are the fields a 304 repeats from the response it stands
// for (RFC 9110 section 15.4.5; Date is added by the server).
var notModifiedFields = map[string]bool{
	"cache-control": true, "content-location": true, "etag": true,
	"expires": true, "last-modified": true, "vary": true,
}

// NewStaticHandler makes the handler of a static response: status, header
// fields (a Content-Length among them is dropped: the body's own length is
// sent), the body (kept, never modified) and the entity tag If-None-Match is
// compared with, quotes included ("" for none).
func NewStaticHandler(status int, header []HeaderField, body []byte, etag string) *StaticHandler {
	h := &StaticHandler{status: status, body: body}
	for _, f := range header {
		name := strings.ToLower(f.Name)
		if name == "content-length" {
			continue
		}
		h.header = append(h.header, f)
		if notModifiedFields[name] {
			h.notModified = append(h.notModified, f)
		}
	}
	if status >= 200 && status < 300 {
		h.etag = etag
	}
	return h
}

// NewStaticFileHandler makes the handler of a static route whose body is
// the file at path, read at each request (Response.SendFile: Range and
// conditional requests, 404 when the file is missing).
func NewStaticFileHandler(status int, header []HeaderField, path string) *StaticHandler {
	h := NewStaticHandler(status, header, nil, "")
	h.file = path
	return h
}

// StreamsBody implements BodyStreamer: the body is not read (and not
// buffered) before the answer, which does not depend on it.
func (h *StaticHandler) StreamsBody() bool { return true }

// ServeRequest implements Handler.
func (h *StaticHandler) ServeRequest(req *Request, res *Response) {
	if h.etag != "" && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
		for _, f := range req.Header {
			if f.Name == "if-none-match" && ifNoneMatch(f.Value, h.etag) {
				_ = res.Respond(http.StatusNotModified, h.notModified, nil, true)
				return
			}
		}
	}
	if h.file != "" {
		_ = res.SendFile(h.status, h.header, h.file)
		return
	}
	_ = res.respondShared(h.status, h.header, h.body)
}

// ifNoneMatch reports whether an If-None-Match value names etag or is "*",
// comparing entity tags weakly (RFC 9110 section 8.8.3.2: W/ is ignored on
// either side).
func ifNoneMatch(value, etag string) bool {
	etag = strings.TrimPrefix(etag, "W/")
	for tag := range strings.SplitSeq(value, ",") {
		t := strings.TrimSpace(tag)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
