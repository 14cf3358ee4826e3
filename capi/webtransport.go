package main

/*
#include "bridge.h"
*/
import "C"

import (
	"unsafe"

	"github.com/zig-h3/h3bun/bridge"
)

func lookupSession(p *C.zig_h3_wt_session) (*bridge.Session, C.int) {
	if p == nil {
		return nil, invalid("session is NULL")
	}
	return lookup(bridge.Sessions, handleOf(unsafe.Pointer(p)), "session")
}

//export zig_h3_wt_accept
func zig_h3_wt_accept(p *C.zig_h3_wt_session) C.int {
	s, code := lookupSession(p)
	if s == nil {
		return code
	}
	return result(s.Accept())
}

//export zig_h3_wt_reject
func zig_h3_wt_reject(p *C.zig_h3_wt_session, status C.uint16_t) C.int {
	s, code := lookupSession(p)
	if s == nil {
		return code
	}
	return result(s.Reject(int(status)))
}

//export zig_h3_wt_close
func zig_h3_wt_close(p *C.zig_h3_wt_session, errCode C.uint32_t, reason *C.uint8_t, n C.size_t) C.int {
	s, code := lookupSession(p)
	if s == nil {
		return code
	}
	b, ok := bytesArg(unsafe.Pointer(reason), n)
	if !ok {
		return invalid("reason is NULL with a non-zero length")
	}
	return result(s.Close(uint32(errCode), string(b)))
}

//export zig_h3_wt_send_datagram
func zig_h3_wt_send_datagram(p *C.zig_h3_wt_session, data *C.uint8_t, n C.size_t) C.int {
	s, code := lookupSession(p)
	if s == nil {
		return code
	}
	return sendDatagram(s, data, n)
}

//export zig_h3_wt_max_datagram_size
func zig_h3_wt_max_datagram_size(p *C.zig_h3_wt_session) C.int {
	s, code := lookupSession(p)
	if s == nil {
		return code
	}
	return C.int(s.MaxDatagramSize())
}

//export zig_h3_wt_release
func zig_h3_wt_release(p *C.zig_h3_wt_session) C.int {
	_, code := lookupSession(p)
	return code // the handle lives as long as the session; nothing to free
}

//export zig_h3_wt_open_stream
func zig_h3_wt_open_stream(p *C.zig_h3_wt_session, bidi C.uint8_t) C.int64_t {
	s, code := lookupSession(p)
	if s == nil {
		return C.int64_t(code)
	}
	st, err := s.OpenStream(bidi != 0)
	if err != nil {
		return C.int64_t(result(err))
	}
	return C.int64_t(st.Handle)
}

func lookupStream(h C.uint64_t) (*bridge.Stream, C.int) {
	return lookup(bridge.Streams, uint64(h), "stream")
}

//export zig_h3_wt_stream_write
func zig_h3_wt_stream_write(h C.uint64_t, data *C.uint8_t, n C.size_t, fin C.uint8_t) C.int64_t {
	st, code := lookupStream(h)
	if st == nil {
		return C.int64_t(code)
	}
	b, ok := bytesArg(unsafe.Pointer(data), n)
	if !ok {
		return C.int64_t(invalid("data is NULL with a non-zero length"))
	}
	pending, err := st.Send(b, fin != 0)
	if err != nil {
		return C.int64_t(result(err))
	}
	return C.int64_t(pending)
}

//export zig_h3_wt_stream_ack
func zig_h3_wt_stream_ack(h C.uint64_t, n C.size_t) C.int {
	st, code := lookupStream(h)
	if st == nil {
		return code
	}
	if n > C.ZIG_H3_MAX_LENGTH {
		return invalid("absurd byte count")
	}
	return result(st.AckData(int(n)))
}

//export zig_h3_wt_stream_reset
func zig_h3_wt_stream_reset(h C.uint64_t, errCode C.uint32_t) C.int {
	st, code := lookupStream(h)
	if st == nil {
		return code
	}
	st.Reset(uint32(errCode))
	return C.ZIG_H3_OK
}

//export zig_h3_wt_stream_stop_reading
func zig_h3_wt_stream_stop_reading(h C.uint64_t, errCode C.uint32_t) C.int {
	st, code := lookupStream(h)
	if st == nil {
		return code
	}
	return result(st.StopReading(uint32(errCode)))
}
