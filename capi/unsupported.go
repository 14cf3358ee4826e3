package main

/*
#include "bridge.h"
*/
import "C"

import "unsafe"

// The functions below are part of the ABI but not implemented yet. They
// check their handles like every other function, then return
// ZIG_H3_ERR_NOT_SUPPORTED.

//export zig_h3_server_set_quic_datagram_cb
func zig_h3_server_set_quic_datagram_cb(h *C.zig_h3_server, cb C.zig_h3_quic_datagram_cb, user unsafe.Pointer) C.int {
	return serverNotSupported(h, "zig_h3_server_set_quic_datagram_cb")
}

//export zig_h3_server_send_quic_datagram
func zig_h3_server_send_quic_datagram(h *C.zig_h3_server, conn unsafe.Pointer, data *C.uint8_t, n C.size_t) C.int {
	return serverNotSupported(h, "zig_h3_server_send_quic_datagram")
}

func serverNotSupported(h *C.zig_h3_server, what string) C.int {
	if _, ok := lookupServer(unsafe.Pointer(h)); !ok {
		return badHandle("server")
	}
	return notSupported(what)
}

//export zig_h3_response_send_h3_datagram
func zig_h3_response_send_h3_datagram(h *C.zig_h3_response, data *C.uint8_t, n C.size_t) C.int {
	if _, ok := lookupResponse(unsafe.Pointer(h)); !ok {
		return badHandle("response")
	}
	return notSupported("zig_h3_response_send_h3_datagram")
}

func sessionNotSupported(s *C.zig_h3_wt_session, what string) C.int {
	if s == nil {
		return invalid("session is NULL")
	}
	return notSupported(what)
}

//export zig_h3_wt_accept
func zig_h3_wt_accept(s *C.zig_h3_wt_session) C.int {
	return sessionNotSupported(s, "zig_h3_wt_accept")
}

//export zig_h3_wt_reject
func zig_h3_wt_reject(s *C.zig_h3_wt_session, status C.uint16_t) C.int {
	return sessionNotSupported(s, "zig_h3_wt_reject")
}

//export zig_h3_wt_close
func zig_h3_wt_close(s *C.zig_h3_wt_session, code C.uint32_t, reason *C.uint8_t, n C.size_t) C.int {
	return sessionNotSupported(s, "zig_h3_wt_close")
}

//export zig_h3_wt_send_datagram
func zig_h3_wt_send_datagram(s *C.zig_h3_wt_session, data *C.uint8_t, n C.size_t) C.int {
	return sessionNotSupported(s, "zig_h3_wt_send_datagram")
}

//export zig_h3_wt_release
func zig_h3_wt_release(s *C.zig_h3_wt_session) C.int {
	return sessionNotSupported(s, "zig_h3_wt_release")
}
