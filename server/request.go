package server

import (
	"context"
	"math"
	"net/http"
	"slices"
	"strings"
)

// HeaderField is one header line with a lower-case name.
type HeaderField struct {
	Name  string
	Value string
}

// Request is what a Handler receives: the request head, the buffered body
// (empty for streaming routes) and where it came from. Handlers must not
// modify it.
type Request struct {
	Method string
	// ProtoMajor is the HTTP version: 1 (HTTP/1.x over TCP), 2 (HTTP/2
	// over TCP) or 3.
	ProtoMajor int
	// Path is the request target as sent: escaped path and query.
	Path      string
	Authority string
	// Header holds the request headers (pseudo-headers excluded), sorted by name.
	Header []HeaderField
	Body   []byte
	// StreamID is the QUIC stream the request arrived on; over TCP, the
	// request's number on its connection times 4 (0, 4, 8, ...).
	StreamID uint64
	// ConnID identifies the connection in the process (8 bytes: Conn.ID).
	ConnID []byte
	// RemoteAddr is the client's address as "ip:port".
	RemoteAddr string
	// Pattern and Params describe the route that matched ("" for the fallback).
	Pattern string
	Params  []Param
	// Context is cancelled when the request stream or connection goes away.
	Context context.Context
	// EarlyData reports that the request arrived in 0-RTT data (or through
	// an intermediary that forwarded it from early data) and that its
	// handler runs before the client's handshake is complete: it may be a
	// replay (RFC 8470). Only safe methods run so (see Config.Disable0RTT);
	// the header then carries early-data: 1, the field RFC 8470 defines.
	EarlyData bool

	conn    *Conn          // the connection the request arrived on
	body    *streamingBody // streaming routes only; see ReadBody
	trailer []HeaderField  // buffered routes: read with the body
}

// newRequest makes, at req, the Request of hr, whose header is flattened
// as header (see HeaderFields), matched as m, without its body.
func newRequest(req *Request, hr *http.Request, header []HeaderField, m Match[*Route], conn *Conn, streamID uint64) *Request {
	*req = Request{
		Method:     hr.Method,
		ProtoMajor: hr.ProtoMajor,
		Path:       hr.URL.RequestURI(),
		Authority:  hr.Host,
		Header:     header,
		RemoteAddr: hr.RemoteAddr,
		Context:    hr.Context(),
		StreamID:   streamID,
		EarlyData:  isSafeMethod(hr.Method) && slices.Contains(hr.Header[earlyDataField], "1"),
		conn:       conn,
	}
	if req.conn != nil {
		req.ConnID = req.conn.ID
	}
	if m.Found {
		req.Pattern, req.Params = m.Pattern, m.Params
	}
	return req
}

// Conn returns the connection the request arrived on.
func (r *Request) Conn() *Conn { return r.conn }

// Outcome is how the serving of a request ended (see Route.Finished).
type Outcome int

const (
	// Completed: the whole response was handed to the stream.
	Completed Outcome = iota
	// Aborted: the client went away (reset the stream, or the connection
	// closed) before the response ended, or the response was reset.
	Aborted
	// TimedOut: the request timed out and the client got 503 (see
	// Response.SetTimeout).
	TimedOut
)

// HeaderFields flattens an http.Header into lower-case fields sorted by
// name; values of one name keep their order.
func HeaderFields(h http.Header) []HeaderField {
	fields, _ := flattenFields(h, math.MaxInt)
	return fields
}

// flattenFields is HeaderFields for a section that may hold at most limit
// fields (names, and values; http3 has joined Cookie fields into one):
// over it, ok is false and nothing is flattened (the count stops at the
// limit).
func flattenFields(h http.Header, limit int) (fields []HeaderField, ok bool) {
	if len(h) > limit {
		return nil, false
	}
	if len(h) == 0 {
		return []HeaderField{}, true
	}
	type entry struct {
		name   string
		values []string
	}
	var small [8]entry // most requests: the names sorted without an allocation
	entries := small[:0]
	n := 0
	for name, values := range h {
		if n += len(values); n > limit {
			return nil, false
		}
		entries = append(entries, entry{name, values})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	fields = make([]HeaderField, 0, n)
	for _, e := range entries {
		lower := lowerName(e.name)
		for _, v := range e.values {
			fields = append(fields, HeaderField{Name: lower, Value: v})
		}
	}
	return fields, true
}
