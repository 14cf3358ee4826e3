package main

/*
#include <stdlib.h>
#include <string.h>
#include "bridge.h"
*/
import "C"

import (
	"sync"
	"unsafe"

	"github.com/zig-h3/h3bun/bridge"
)

//export zig_h3_client_open_webtransport
func zig_h3_client_open_webtransport(h *C.zig_h3_client, path *C.char, n C.size_t, cb C.zig_h3_wt_event_cb, user unsafe.Pointer) *C.zig_h3_wt_session {
	c, _ := lookupClient(h)
	if c == nil {
		return nil
	}
	p, ok := stringArg(path, n)
	if !ok || p == "" {
		invalid("path is NULL or empty")
		return nil
	}
	var events func(*bridge.Session, *bridge.SessionEvent)
	if cb != nil {
		events = func(s *bridge.Session, ev *bridge.SessionEvent) { callWTEvent(cb, user, s.Handle, ev) }
	}
	s, err := c.OpenWebTransport(p, events)
	if err != nil {
		result(err)
		return nil
	}
	return (*C.zig_h3_wt_session)(handlePointer(s.Handle))
}

// callWTEvent calls a zig_h3_wt_event_cb with ev laid out in one C
// allocation (the struct, then the reason and the datagram), freed after.
func callWTEvent(cb C.zig_h3_wt_event_cb, user unsafe.Pointer, session uint64, ev *bridge.SessionEvent) {
	size := C.sizeof_zig_h3_wt_event + len(ev.Reason) + len(ev.Datagram)
	base := C.malloc(C.size_t(size))
	defer C.free(base)
	mem := unsafe.Slice((*byte)(base), size)
	e := (*C.zig_h3_wt_event)(base)
	*e = C.zig_h3_wt_event{}
	e.event_type = C.zig_h3_wt_event_type(ev.Type)
	e.status = C.uint32_t(ev.Status)
	e.error_code = C.int32_t(int32(ev.Code))
	if ev.Remote {
		e.flags = C.ZIG_H3_WT_EVENT_FLAG_REMOTE_CLOSE
	}
	e.stream_id = C.uint64_t(ev.StreamID)
	off := C.sizeof_zig_h3_wt_event
	if len(ev.Reason) > 0 {
		e.reason, e.reason_len = (*C.uint8_t)(unsafe.Pointer(&mem[off])), C.size_t(len(ev.Reason))
		off += copy(mem[off:], ev.Reason)
	}
	if len(ev.Datagram) > 0 {
		e.datagram, e.datagram_len = (*C.uint8_t)(unsafe.Pointer(&mem[off])), C.size_t(len(ev.Datagram))
		copy(mem[off:], ev.Datagram)
	}
	C.zig_h3_call_wt_event_cb(cb, user, (*C.zig_h3_wt_session)(handlePointer(session)), e)
}

// The event types of bridge are those of the header (an index out of
// range does not compile).
var (
	_ = [1]struct{}{}[bridge.WTEventConnected-C.ZIG_H3_WT_EVENT_CONNECTED]
	_ = [1]struct{}{}[bridge.WTEventConnectFailed-C.ZIG_H3_WT_EVENT_CONNECT_FAILED]
	_ = [1]struct{}{}[bridge.WTEventClosed-C.ZIG_H3_WT_EVENT_CLOSED]
	_ = [1]struct{}{}[bridge.WTEventDatagram-C.ZIG_H3_WT_EVENT_DATAGRAM]
)

//export zig_h3_wt_session_close
func zig_h3_wt_session_close(p *C.zig_h3_wt_session, errCode C.uint32_t, reason *C.uint8_t, n C.size_t) C.int {
	return zig_h3_wt_close(p, errCode, reason, n)
}

//export zig_h3_wt_session_send_datagram
func zig_h3_wt_session_send_datagram(p *C.zig_h3_wt_session, data *C.uint8_t, n C.size_t) C.int {
	return zig_h3_wt_send_datagram(p, data, n)
}

// handedOut are the datagram copies zig_h3_wt_session_receive_datagram
// gave and zig_h3_wt_session_free_datagram did not take back yet, by
// session handle: C pointer -> length.
var handedOut = struct {
	sync.Mutex
	m map[uint64]map[unsafe.Pointer]C.size_t
}{m: map[uint64]map[unsafe.Pointer]C.size_t{}}

//export zig_h3_wt_session_receive_datagram
func zig_h3_wt_session_receive_datagram(p *C.zig_h3_wt_session, out *C.zig_h3_bytes) C.int {
	s, code := lookupSession(p)
	if s == nil {
		return code
	}
	if out == nil {
		return invalid("out is NULL")
	}
	b, ok := s.ReceiveDatagram()
	if !ok {
		*out = C.zig_h3_bytes{}
		return 0
	}
	mem := C.malloc(C.size_t(max(len(b), 1)))
	copy(unsafe.Slice((*byte)(mem), len(b)), b)
	handedOut.Lock()
	if handedOut.m[s.Handle] == nil {
		handedOut.m[s.Handle] = map[unsafe.Pointer]C.size_t{}
	}
	handedOut.m[s.Handle][mem] = C.size_t(len(b))
	handedOut.Unlock()
	out.ptr, out.len = (*C.uint8_t)(mem), C.size_t(len(b))
	return 1
}

//export zig_h3_wt_session_free_datagram
func zig_h3_wt_session_free_datagram(p *C.zig_h3_wt_session, data *C.uint8_t, n C.size_t) C.int {
	s, code := lookupSession(p)
	if s == nil {
		return code
	}
	handedOut.Lock()
	defer handedOut.Unlock()
	given := handedOut.m[s.Handle]
	ptr := unsafe.Pointer(data)
	if held, ok := given[ptr]; data == nil || !ok || held != n {
		return invalid("not a datagram this session handed out and that is still held")
	}
	delete(given, ptr)
	C.free(ptr)
	return C.ZIG_H3_OK
}

// freeHandedOut frees the copies a freed session still had out.
func freeHandedOut(session uint64) {
	handedOut.Lock()
	given := handedOut.m[session]
	delete(handedOut.m, session)
	handedOut.Unlock()
	for ptr := range given {
		C.free(ptr)
	}
}

//export zig_h3_wt_session_is_established
func zig_h3_wt_session_is_established(p *C.zig_h3_wt_session) C.int {
	s, code := lookupSession(p)
	if s == nil {
		return code
	}
	if s.Established() {
		return 1
	}
	return 0
}

//export zig_h3_wt_session_stream_id
func zig_h3_wt_session_stream_id(p *C.zig_h3_wt_session) C.uint64_t {
	s, _ := lookupSession(p)
	if s == nil {
		return C.UINT64_MAX
	}
	sid, ok := s.StreamID()
	if !ok {
		fail(C.ZIG_H3_ERR_STATE, "the session's stream is not open yet")
		return C.UINT64_MAX
	}
	return C.uint64_t(sid)
}

//export zig_h3_wt_session_free
func zig_h3_wt_session_free(p *C.zig_h3_wt_session) C.int {
	if p == nil {
		return invalid("session is NULL")
	}
	s, code := take(bridge.Sessions, handleOf(unsafe.Pointer(p)), "session")
	if s == nil {
		return code
	}
	s.Free()
	freeHandedOut(s.Handle)
	return C.ZIG_H3_OK
}
