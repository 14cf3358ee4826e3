package main

/*
#include "bridge.h"
*/
import "C"

import (
	"unsafe"

	"github.com/zig-h3/h3bun/bridge"
	"github.com/zig-h3/h3bun/server"
)

//export zig_h3_server_route_streaming
func zig_h3_server_route_streaming(h *C.zig_h3_server, method, pattern *C.char, cb C.zig_h3_request_cb,
	chunkCb C.zig_h3_body_chunk_cb, completeCb C.zig_h3_body_complete_cb, dgramCb C.zig_h3_datagram_cb,
	wtCb C.zig_h3_wt_session_cb, user unsafe.Pointer) C.int {
	s, code := lookupServer(h)
	if s == nil {
		return code
	}
	if method == nil || pattern == nil || cb == nil || chunkCb == nil {
		return invalid("method, pattern, callback and body_chunk_cb must not be NULL")
	}
	r := cStreamingRoute{cRoute: cRoute{b: s, cb: cb, dgram: dgramCb, wt: wtCb, user: user}, chunk: chunkCb, complete: completeCb}
	rt := r.route(r)
	rt.StreamBody = true
	return result(s.Route(C.GoString(method), C.GoString(pattern), rt))
}

// cStreamingRoute calls the request callback when the head arrives, then
// delivers the body through the chunk and complete callbacks on a goroutine
// of its own, so that the response can be written meanwhile (full duplex).
// Auto-end waits for the body to be delivered.
type cStreamingRoute struct {
	cRoute
	chunk    C.zig_h3_body_chunk_cb
	complete C.zig_h3_body_complete_cb
}

// ServeRequest implements server.Handler.
func (r cStreamingRoute) ServeRequest(req *server.Request, res *server.Response) {
	r.cRoute.ServeRequest(req, res)
	connID, connLen := bytesPointer(req.ConnID)
	sid := C.uint64_t(req.StreamID)
	req.DeliverBody(res, func(b []byte) {
		p, n := bytesPointer(b) // no Go pointers inside: C may borrow it for the call
		C.zig_h3_call_body_chunk_cb(r.chunk, r.user, connID, connLen, sid, p, n)
	}, func() {
		if r.complete != nil {
			C.zig_h3_call_body_complete_cb(r.complete, r.user, connID, connLen, sid)
		}
	})
}

// bytesPointer returns a pointer to b's bytes (NULL if empty) for a C call.
func bytesPointer(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

//export zig_h3_server_set_stream_close_cb
func zig_h3_server_set_stream_close_cb(h *C.zig_h3_server, cb C.zig_h3_stream_close_cb, user unsafe.Pointer) C.int {
	s, code := lookupServer(h)
	if s == nil {
		return code
	}
	if cb == nil {
		s.OnStreamClose(nil)
		return C.ZIG_H3_OK
	}
	s.OnStreamClose(func(connID []byte, streamID uint64, aborted bool) {
		p, n := bytesPointer(connID)
		a := C.uint8_t(0)
		if aborted {
			a = 1
		}
		C.zig_h3_call_stream_close_cb(cb, user, p, n, C.uint64_t(streamID), a)
	})
	return C.ZIG_H3_OK
}

//export zig_h3_server_set_connection_close_cb
func zig_h3_server_set_connection_close_cb(h *C.zig_h3_server, cb C.zig_h3_connection_close_cb, user unsafe.Pointer) C.int {
	s, code := lookupServer(h)
	if s == nil {
		return code
	}
	if cb == nil {
		s.OnConnectionClose(nil)
		return C.ZIG_H3_OK
	}
	s.OnConnectionClose(func(connID []byte) {
		p, n := bytesPointer(connID)
		C.zig_h3_call_connection_close_cb(cb, user, p, n)
	})
	return C.ZIG_H3_OK
}

//export zig_h3_response_send
func zig_h3_response_send(h *C.zig_h3_response, data *C.uint8_t, n C.size_t, end C.uint8_t,
	trailers *C.uint8_t, trailersLen C.size_t) C.int64_t {
	r, code := lookupResponse(h)
	if r == nil {
		return C.int64_t(code)
	}
	b, ok1 := bytesArg(unsafe.Pointer(data), n)
	tb, ok2 := bytesArg(unsafe.Pointer(trailers), trailersLen)
	if !ok1 || !ok2 {
		return C.int64_t(invalid("data or trailers is NULL with a non-zero length"))
	}
	fields, err := bridge.DecodeHeaders(tb)
	if err != nil {
		return C.int64_t(invalid("malformed trailer block: each name and value must end with NUL"))
	}
	pending, err := r.Send(b, end != 0, fields)
	if err != nil {
		return C.int64_t(result(err))
	}
	return C.int64_t(pending)
}

//export zig_h3_response_send_file
func zig_h3_response_send_file(h *C.zig_h3_response, status C.uint16_t, headers *C.uint8_t, headersLen C.size_t,
	path *C.char, pathLen C.size_t) C.int {
	r, code := lookupResponse(h)
	if r == nil {
		return code
	}
	hb, ok1 := bytesArg(unsafe.Pointer(headers), headersLen)
	p, ok2 := stringArg(path, pathLen)
	if !ok1 || !ok2 || p == "" {
		return invalid("headers is NULL with a non-zero length, or path is empty")
	}
	fields, err := bridge.DecodeHeaders(hb)
	if err != nil {
		return invalid("malformed header block: each name and value must end with NUL")
	}
	return result(r.SendFile(int(status), fields, p))
}

//export zig_h3_response_ack_body
func zig_h3_response_ack_body(h *C.zig_h3_response, n C.size_t) C.int {
	r, code := lookupResponse(h)
	if r == nil {
		return code
	}
	if n > C.ZIG_H3_MAX_LENGTH {
		return invalid("absurd byte count")
	}
	return result(r.AckBody(int(n)))
}

//export zig_h3_response_discard_body
func zig_h3_response_discard_body(h *C.zig_h3_response) C.int {
	r, code := lookupResponse(h)
	if r == nil {
		return code
	}
	return result(r.DiscardBody())
}

//export zig_h3_server_response_for_stream
func zig_h3_server_response_for_stream(h *C.zig_h3_server, connID *C.uint8_t, connIDLen C.size_t, streamID C.uint64_t,
	out **C.zig_h3_response) C.int {
	s, code := lookupServer(h)
	if s == nil {
		return code
	}
	if out == nil || connID == nil || connIDLen != 8 {
		return invalid("out or conn_id is NULL, or conn_id_len is not 8")
	}
	r, ok := s.ResponseForStream(unsafe.Slice((*byte)(unsafe.Pointer(connID)), 8), uint64(streamID))
	if !ok {
		return badHandle("response for that stream")
	}
	*out = (*C.zig_h3_response)(handlePointer(r.Handle))
	return C.ZIG_H3_OK
}
