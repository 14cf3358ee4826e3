package main

/*
#include "bridge.h"
*/
import "C"

import (
	"unsafe"

	"github.com/zig-h3/h3bun/bridge"
)

//export zig_h3_server_event_fd
func zig_h3_server_event_fd(h *C.zig_h3_server) C.int {
	s, code := lookupServer(h)
	if s == nil {
		return code
	}
	q, err := s.EventQueue()
	if err != nil {
		return result(err)
	}
	return C.int(q.FD())
}

// queueOf returns the server's event queue if it has one.
func queueOf(h *C.zig_h3_server) (*bridge.EventQueue, C.int) {
	s, code := lookupServer(h)
	if s == nil {
		return nil, code
	}
	q, err := s.ExistingEventQueue()
	if err != nil {
		return nil, result(err)
	}
	return q, C.ZIG_H3_OK
}

// zigh3_go_server_drain is zig_h3_server_drain's Go path (eventstore.c
// drains registered queues without Go).
//
//export zigh3_go_server_drain
func zigh3_go_server_drain(h *C.zig_h3_server, buf *C.uint8_t, capacity C.size_t) C.int64_t {
	q, code := queueOf(h)
	if q == nil {
		return C.int64_t(code)
	}
	return drain(q, buf, capacity)
}

// drain moves whole events of q into (buf, capacity).
func drain(q *bridge.EventQueue, buf *C.uint8_t, capacity C.size_t) C.int64_t {
	dst, ok := bytesArg(unsafe.Pointer(buf), capacity)
	if !ok || dst == nil {
		return C.int64_t(invalid("buf is NULL or cap is 0"))
	}
	n, need := q.Drain(dst)
	if n == 0 && need > 0 {
		return C.int64_t(fail(C.ZIG_H3_ERR_BUFFER_TOO_SMALL, ""))
	}
	return C.int64_t(n)
}

//export zig_h3_server_event_size
func zig_h3_server_event_size(h *C.zig_h3_server) C.int64_t {
	q, code := queueOf(h)
	if q == nil {
		return C.int64_t(code)
	}
	return C.int64_t(q.NextSize())
}

//export zig_h3_server_set_event_routes
func zig_h3_server_set_event_routes(h *C.zig_h3_server, spec *C.char, n C.size_t) C.int {
	return withSpec(h, spec, n, (*bridge.Server).SetEventRoutes)
}
