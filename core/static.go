package core

import (
	"net/http"
	"strings"
)

// StaticHandler answers every request with one response fixed in advance:
// the static routes of the Bun wrapper (`"/": new Response("home")`), served
// without a round trip to the consumer, as Bun.serve serves its static
// routes natively.
//
// HEAD gets the head of GET (with the body's length, without the body). When
// ETag is set, a GET or HEAD whose If-None-Match names it (or is "*") gets
// 304 with the ETag and no body.
type StaticHandler struct {
	Status int
	// Header is sent as is (Content-Length is the body's own).
	Header []HeaderField
	// Body is never modified; responses copy it.
	Body []byte
	// ETag is the entity tag for If-None-Match, with its quotes ("" for none).
	ETag string
}

// ServeRequest implements Handler.
func (h *StaticHandler) ServeRequest(req *Request, res *Response) {
	if h.ETag != "" && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
		for _, f := range req.Header {
			if f.Name == "if-none-match" && ifNoneMatch(f.Value, h.ETag) {
				_ = res.Respond(http.StatusNotModified, []HeaderField{{Name: "etag", Value: h.ETag}}, nil, true)
				return
			}
		}
	}
	_ = res.Respond(h.Status, h.Header, h.Body, true)
}

// ifNoneMatch reports whether an If-None-Match value names etag or is "*"
// (weak comparison, RFC 9110 section 13.1.2).
func ifNoneMatch(value, etag string) bool {
	for tag := range strings.SplitSeq(value, ",") {
		t := strings.TrimSpace(tag)
		if t == "*" || t == etag || t == "W/"+etag {
			return true
		}
	}
	return false
}
