package main

/*
#include "bridge.h"
*/
import "C"

import "unsafe"

// Temporary: the client functions not implemented yet answer NOT_SUPPORTED
// (so that the library exports every function of the header meanwhile).

func notYet() C.int { return fail(C.ZIG_H3_ERR_NOT_SUPPORTED, "not implemented yet") }

//export zig_h3_client_set_datagram_callback
func zig_h3_client_set_datagram_callback(h *C.zig_h3_client, cb C.zig_h3_client_datagram_cb, user unsafe.Pointer) C.int {
	return notYet()
}

//export zig_h3_client_fetch
func zig_h3_client_fetch(h *C.zig_h3_client, opts *C.zig_h3_fetch_options, sid *C.uint64_t, cb C.zig_h3_fetch_cb, user unsafe.Pointer) C.int {
	return notYet()
}

//export zig_h3_client_fetch_simple
func zig_h3_client_fetch_simple(h *C.zig_h3_client, method, path *C.char, collect, stream C.uint8_t, timeout C.uint32_t,
	ecb C.zig_h3_fetch_event_cb, euser unsafe.Pointer, cb C.zig_h3_fetch_cb, user unsafe.Pointer, sid *C.uint64_t) C.int {
	return notYet()
}

//export zig_h3_client_write_body
func zig_h3_client_write_body(h *C.zig_h3_client, sid C.uint64_t, data *C.uint8_t, n C.size_t, fin C.uint8_t) C.int64_t {
	return C.int64_t(notYet())
}

//export zig_h3_client_cancel_fetch
func zig_h3_client_cancel_fetch(h *C.zig_h3_client, sid C.uint64_t, code C.int32_t) C.int {
	return notYet()
}

//export zig_h3_client_send_h3_datagram
func zig_h3_client_send_h3_datagram(h *C.zig_h3_client, sid C.uint64_t, data *C.uint8_t, n C.size_t) C.int {
	return notYet()
}
