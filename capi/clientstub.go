package main

/*
#include "bridge.h"
*/
import "C"

import "unsafe"

// Temporary: the client functions not implemented yet answer NOT_SUPPORTED
// (so that the library exports every function of the header meanwhile).

func notYet() C.int { return fail(C.ZIG_H3_ERR_NOT_SUPPORTED, "not implemented yet") }

//export zig_h3_client_new
func zig_h3_client_new(cfg *C.zig_h3_client_config) *C.zig_h3_client { notYet(); return nil }

//export zig_h3_client_free
func zig_h3_client_free(h *C.zig_h3_client) C.int { return notYet() }

//export zig_h3_client_set_options
func zig_h3_client_set_options(h *C.zig_h3_client, spec *C.char, n C.size_t) C.int { return notYet() }

//export zig_h3_client_connect
func zig_h3_client_connect(h *C.zig_h3_client, host *C.char, port C.uint16_t, sni *C.char) C.int {
	return notYet()
}

//export zig_h3_client_close
func zig_h3_client_close(h *C.zig_h3_client, code C.uint32_t, reason *C.uint8_t, n C.size_t) C.int {
	return notYet()
}

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
func zig_h3_client_cancel_fetch(h *C.zig_h3_client, sid C.uint64_t, code C.int32_t) C.int { return notYet() }

//export zig_h3_client_send_h3_datagram
func zig_h3_client_send_h3_datagram(h *C.zig_h3_client, sid C.uint64_t, data *C.uint8_t, n C.size_t) C.int {
	return notYet()
}

//export zig_h3_client_send_datagram
func zig_h3_client_send_datagram(h *C.zig_h3_client, data *C.uint8_t, n C.size_t) C.int { return notYet() }

//export zig_h3_client_max_datagram_size
func zig_h3_client_max_datagram_size(h *C.zig_h3_client) C.int { return notYet() }

//export zig_h3_client_run_once
func zig_h3_client_run_once(h *C.zig_h3_client) C.int { return notYet() }

//export zig_h3_client_poll
func zig_h3_client_poll(h *C.zig_h3_client) C.int { return notYet() }

//export zig_h3_client_open_webtransport
func zig_h3_client_open_webtransport(h *C.zig_h3_client, path *C.char, n C.size_t, cb C.zig_h3_wt_event_cb, user unsafe.Pointer) *C.zig_h3_wt_session {
	notYet()
	return nil
}

//export zig_h3_wt_session_close
func zig_h3_wt_session_close(p *C.zig_h3_wt_session, code C.uint32_t, reason *C.uint8_t, n C.size_t) C.int {
	return notYet()
}

//export zig_h3_wt_session_send_datagram
func zig_h3_wt_session_send_datagram(p *C.zig_h3_wt_session, data *C.uint8_t, n C.size_t) C.int {
	return notYet()
}

//export zig_h3_wt_session_receive_datagram
func zig_h3_wt_session_receive_datagram(p *C.zig_h3_wt_session, out *C.zig_h3_bytes) C.int { return notYet() }

//export zig_h3_wt_session_free_datagram
func zig_h3_wt_session_free_datagram(p *C.zig_h3_wt_session, data *C.uint8_t, n C.size_t) C.int {
	return notYet()
}

//export zig_h3_wt_session_is_established
func zig_h3_wt_session_is_established(p *C.zig_h3_wt_session) C.int { return notYet() }

//export zig_h3_wt_session_stream_id
func zig_h3_wt_session_stream_id(p *C.zig_h3_wt_session) C.uint64_t { notYet(); return C.UINT64_MAX }

//export zig_h3_wt_session_free
func zig_h3_wt_session_free(p *C.zig_h3_wt_session) C.int { return notYet() }

//export zig_h3_client_event_fd
func zig_h3_client_event_fd(h *C.zig_h3_client) C.int { return notYet() }

//export zig_h3_client_drain
func zig_h3_client_drain(h *C.zig_h3_client, buf *C.uint8_t, capacity C.size_t) C.int64_t {
	return C.int64_t(notYet())
}

//export zig_h3_client_event_size
func zig_h3_client_event_size(h *C.zig_h3_client) C.int64_t { return C.int64_t(notYet()) }

//export zig_h3_client_fetch_start
func zig_h3_client_fetch_start(h *C.zig_h3_client, head *C.uint8_t, n C.size_t, flags C.uint32_t) C.int64_t {
	return C.int64_t(notYet())
}

//export zig_h3_fetch_write
func zig_h3_fetch_write(f C.uint64_t, data *C.uint8_t, n C.size_t, fin C.uint8_t) C.int64_t {
	return C.int64_t(notYet())
}

//export zig_h3_fetch_ack
func zig_h3_fetch_ack(f C.uint64_t, n C.size_t) C.int { return notYet() }

//export zig_h3_fetch_cancel
func zig_h3_fetch_cancel(f C.uint64_t, code C.uint32_t) C.int { return notYet() }

//export zig_h3_fetch_send_datagram
func zig_h3_fetch_send_datagram(f C.uint64_t, data *C.uint8_t, n C.size_t) C.int { return notYet() }

//export zig_h3_fetch_max_datagram_size
func zig_h3_fetch_max_datagram_size(f C.uint64_t) C.int { return notYet() }
