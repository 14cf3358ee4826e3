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

//export zig_h3_server_set_quic_datagram_cb
func zig_h3_server_set_quic_datagram_cb(h *C.zig_h3_server, cb C.zig_h3_quic_datagram_cb, user unsafe.Pointer) C.int {
	s, code := lookupServer(h)
	if s == nil {
		return code
	}
	if cb == nil {
		s.OnQUICDatagram(nil)
		return C.ZIG_H3_OK
	}
	s.OnQUICDatagram(func(c *server.Conn, b []byte) {
		id, idLen := bytesPointer(c.ID)
		p, n := bytesPointer(b)
		C.zig_h3_call_quic_datagram_cb(cb, user, handlePointer(bridge.ConnHandle(c)), id, idLen, p, n)
	})
	return C.ZIG_H3_OK
}

//export zig_h3_server_queue_quic_datagrams
func zig_h3_server_queue_quic_datagrams(h *C.zig_h3_server) C.int {
	s, code := lookupServer(h)
	if s == nil {
		return code
	}
	return result(s.QueueQUICDatagrams())
}

// lookupConn resolves a conn_ptr of a server's connection.
func lookupConn(h *C.zig_h3_server, conn unsafe.Pointer) (*server.Conn, C.int) {
	s, code := lookupServer(h)
	if s == nil {
		return nil, code
	}
	c, ok := s.ConnByHandle(handleOf(conn))
	if !ok {
		return nil, badHandle("connection")
	}
	return c, C.ZIG_H3_OK
}

//export zig_h3_server_send_quic_datagram
func zig_h3_server_send_quic_datagram(h *C.zig_h3_server, conn unsafe.Pointer, data *C.uint8_t, n C.size_t) C.int {
	c, code := lookupConn(h, conn)
	if c == nil {
		return code
	}
	return sendDatagram(c, data, n)
}

//export zig_h3_server_max_datagram_size
func zig_h3_server_max_datagram_size(h *C.zig_h3_server, conn unsafe.Pointer) C.int {
	c, code := lookupConn(h, conn)
	if c == nil {
		return code
	}
	return C.int(c.MaxDatagramSize())
}

//export zig_h3_response_send_h3_datagram
func zig_h3_response_send_h3_datagram(h *C.zig_h3_response, data *C.uint8_t, n C.size_t) C.int {
	return withBytes(h, data, n, (*bridge.Response).SendDatagram)
}

//export zig_h3_response_max_datagram_size
func zig_h3_response_max_datagram_size(h *C.zig_h3_response) C.int {
	r, code := lookupResponse(h)
	if r == nil {
		return code
	}
	return C.int(r.MaxDatagramSize())
}

// sendDatagram sends the datagram of a //export's (data, n) arguments with
// s (a connection, fetch or session found by the caller).
func sendDatagram(s interface{ SendDatagram([]byte) error }, data *C.uint8_t, n C.size_t) C.int {
	b, ok := bytesArg(unsafe.Pointer(data), n)
	if !ok {
		return invalid("data is NULL with a non-zero length")
	}
	return result(s.SendDatagram(b))
}
