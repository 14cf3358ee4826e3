package server

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// What a response head may carry: the rules applied when it is written.

// isConnectionField reports whether the canonical name k is one of the
// connection-specific fields HTTP/3 forbids (RFC 9114, section 4.2):
// clients refuse a response that carries one. They are left out of heads
// and trailers, as Bun.serve does.
func isConnectionField(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// smallLengths are the Content-Length values of bodies shorter than 1 KiB,
// made once: most answers are small, and a head's values are never
// appended to in place (each is cut to its length).
var smallLengths = func() (v [1024][]string) {
	for n := range v {
		v[n] = []string{strconv.Itoa(n)}
	}
	return v
}()

// contentLength is the value of a Content-Length field for n bytes.
func contentLength(n int) []string {
	if n < len(smallLengths) {
		return smallLengths[n][:1:1]
	}
	return []string{strconv.Itoa(n)}
}

// headerOut puts the recorded head in w's header map (where it already is
// when recorded in place) and returns that map.
func (r *Response) headerOut(w http.ResponseWriter) http.Header {
	if r.inPlace {
		return r.header
	}
	dst := w.Header()
	maps.Copy(dst, r.header)
	return dst
}

func (r *Response) writeHeadLocked(w http.ResponseWriter, status int) {
	dst := r.headerOut(w)
	if _, typed := dst["Content-Type"]; !typed {
		// No sniffing: http3 would label a body without a declared type
		// from its first bytes (text/html for markup a client uploaded, say).
		// It goes without one, as in Bun.serve.
		dst["Content-Type"] = nil
	}
	// http3 gives a head it sends when the handler returns the length of
	// what was written. A 204 must carry none and a 304 none but the
	// length of the 200 (RFC 9110, section 8.6); a 205 has no content
	// (section 15.3.6); a HEAD's streamed body (the consumer may skip it)
	// says nothing about the length a GET would get.
	_, declared := dst["Content-Length"]
	switch {
	case status == http.StatusResetContent:
		dst["Content-Length"] = []string{"0"}
	case declared:
	case r.isHead() && r.bodyStarted:
		dst["Content-Length"] = nil
	}
	dropImpliedLength(dst, status)
	w.WriteHeader(status)
}

// dropImpliedLength keeps http3 from adding a Content-Length to a 204,
// which must carry none, or to a 304 that declares none: a 304's length is
// the 200's (RFC 9110, section 8.6).
func dropImpliedLength(h http.Header, status int) {
	if _, declared := h["Content-Length"]; status == http.StatusNoContent || status == http.StatusNotModified && !declared {
		h["Content-Length"] = nil
	}
}

// declaredLengthLocked checks the Content-Length of a head about to go out
// and drops it unless it is one non-negative decimal number (repeated
// equal values count as one; writeHeadLocked applies the status rules).
// It returns the length declared for a body that is sent, or -1 (none, or
// no body is sent: see sendsBody).
func (r *Response) declaredLengthLocked() int64 {
	vs := r.header["Content-Length"]
	if len(vs) == 0 {
		return -1
	}
	if r.trailersOverTCPLocked() {
		delete(r.header, "Content-Length") // see trailersOverTCPLocked
		return -1
	}
	n, err := strconv.ParseUint(vs[0], 10, 63)
	if err != nil || slices.ContainsFunc(vs, func(v string) bool { return v != vs[0] }) {
		delete(r.header, "Content-Length")
		return -1
	}
	r.header["Content-Length"] = vs[:1:1]
	if !r.sendsBody(r.status) {
		return -1
	}
	return int64(n)
}

// trailersOverTCPLocked reports whether the response goes over TCP with
// trailers known before its head: HTTP/1.1 carries trailers only in a
// chunked body, which has no Content-Length, and curl drops the trailers
// of an HTTP/2 response whose Content-Length it has received in full, so
// such a head goes out at once, without a length, the trailers announced.
func (r *Response) trailersOverTCPLocked() bool {
	return len(r.trailer) > 0 && r.req.ProtoMajor < 3
}

// sendsBody reports whether body bytes go out with status: not for a
// status without content (204, 205, 304) nor for a HEAD request, whose
// head is all it gets.
func (r *Response) sendsBody(status int) bool {
	return bodyAllowed(status) && !r.isHead()
}

// notModifiedWithoutLength applies dropImpliedLength to the heads
// http.ServeContent writes (its 304 answer to a conditional request).
type notModifiedWithoutLength struct{ http.ResponseWriter }

func (w notModifiedWithoutLength) WriteHeader(status int) {
	dropImpliedLength(w.Header(), status)
	w.ResponseWriter.WriteHeader(status)
}

// rangeForGetOnly returns hr without its Range field unless it is a GET
// with a bytes range: a server must ignore Range for other methods and
// unknown units (RFC 9110, section 14.2), where http.ServeContent would
// answer 206 or 416.
func rangeForGetOnly(hr *http.Request) *http.Request {
	rng := hr.Header.Get("Range")
	if rng == "" || (hr.Method == http.MethodGet && strings.HasPrefix(rng, "bytes=")) {
		return hr
	}
	hr = hr.Clone(hr.Context())
	hr.Header.Del("Range")
	return hr
}
