package main

/*
#include "bridge.h"
*/
import "C"

import (
	"time"
	"unsafe"

	"github.com/zig-h3/h3bun/bridge"
	"github.com/zig-h3/h3bun/server"
)

// bytesArg views a (pointer, length) argument; ok is false for NULL with a
// non-zero length. The view is only valid during the call: core copies it.
func bytesArg(p unsafe.Pointer, n C.size_t) (b []byte, ok bool) {
	if n == 0 {
		return nil, true
	}
	if p == nil || n > C.ZIG_H3_MAX_LENGTH {
		return nil, false
	}
	return unsafe.Slice((*byte)(p), int(n)), true
}

func stringArg(p *C.char, n C.size_t) (string, bool) {
	b, ok := bytesArg(unsafe.Pointer(p), n)
	return string(b), ok
}

//export zig_h3_response_status
func zig_h3_response_status(h *C.zig_h3_response, status C.uint16_t) C.int {
	r, code := lookupResponse(h)
	if r == nil {
		return code
	}
	return result(r.SetStatus(int(status)))
}

//export zig_h3_response_header
func zig_h3_response_header(h *C.zig_h3_response, name *C.char, nameLen C.size_t, value *C.char, valueLen C.size_t) C.int {
	r, code := lookupResponse(h)
	if r == nil {
		return code
	}
	n, ok1 := stringArg(name, nameLen)
	v, ok2 := stringArg(value, valueLen)
	if !ok1 || !ok2 {
		return invalid("header name or value is NULL with a non-zero length")
	}
	return result(r.AddHeader(n, v))
}

// withBytes resolves a response handle and a (data, n) argument, then
// calls f with them.
func withBytes(h *C.zig_h3_response, data *C.uint8_t, n C.size_t, f func(*bridge.Response, []byte) error) C.int {
	r, code := lookupResponse(h)
	if r == nil {
		return code
	}
	b, ok := bytesArg(unsafe.Pointer(data), n)
	if !ok {
		return invalid("data is NULL with a non-zero length")
	}
	return result(f(r, b))
}

//export zig_h3_response_write
func zig_h3_response_write(h *C.zig_h3_response, data *C.uint8_t, n C.size_t) C.int {
	return withBytes(h, data, n, (*bridge.Response).Write)
}

//export zig_h3_response_end
func zig_h3_response_end(h *C.zig_h3_response, data *C.uint8_t, n C.size_t) C.int {
	return withBytes(h, data, n, (*bridge.Response).End)
}

//export zig_h3_response_send_trailers
func zig_h3_response_send_trailers(h *C.zig_h3_response, headers *C.zig_h3_header, count C.size_t) C.int {
	r, code := lookupResponse(h)
	if r == nil {
		return code
	}
	if headers == nil && count > 0 || count > 1<<20 {
		return invalid("headers is NULL with a non-zero count, or count is absurd")
	}
	var fields []server.HeaderField
	if count > 0 {
		for _, hd := range unsafe.Slice(headers, int(count)) {
			n, ok1 := stringArg(hd.name, hd.name_len)
			v, ok2 := stringArg(hd.value, hd.value_len)
			if !ok1 || !ok2 {
				return invalid("a trailer name or value is NULL with a non-zero length")
			}
			fields = append(fields, server.HeaderField{Name: n, Value: v})
		}
	}
	return result(r.SendTrailers(fields))
}

//export zig_h3_response_defer_end
func zig_h3_response_defer_end(h *C.zig_h3_response) C.int {
	r, code := lookupResponse(h)
	if r == nil {
		return code
	}
	r.DeferEnd()
	return C.ZIG_H3_OK
}

//export zig_h3_response_set_auto_end
func zig_h3_response_set_auto_end(h *C.zig_h3_response, on C.uint8_t) C.int {
	r, code := lookupResponse(h)
	if r == nil {
		return code
	}
	r.SetAutoEnd(on != 0)
	return C.ZIG_H3_OK
}

//export zig_h3_response_should_auto_end
func zig_h3_response_should_auto_end(h *C.zig_h3_response) C.int {
	r, code := lookupResponse(h)
	if r == nil {
		return code
	}
	if r.AutoEnd() {
		return 1
	}
	return 0
}

//export zig_h3_response_process_partial
func zig_h3_response_process_partial(h *C.zig_h3_response) C.int {
	r, code := lookupResponse(h)
	if r == nil {
		return code
	}
	n, err := r.Pending()
	if err != nil {
		return result(err)
	}
	return C.int(min(n, 1<<30))
}

//export zig_h3_response_set_timeout
func zig_h3_response_set_timeout(h *C.zig_h3_response, ms C.uint32_t) C.int {
	r, code := lookupResponse(h)
	if r == nil {
		return code
	}
	return result(r.SetTimeout(time.Duration(ms) * time.Millisecond))
}

// zigh3_go_response_respond is zig_h3_response_respond's Go path
// (answers.c takes the complete answers it can queue).
//
//export zigh3_go_response_respond
func zigh3_go_response_respond(h *C.zig_h3_response, status C.uint16_t, headers *C.uint8_t, headersLen C.size_t,
	body *C.uint8_t, bodyLen C.size_t, end C.uint8_t) C.int {
	r, code := lookupResponse(h)
	if r == nil {
		return code
	}
	hb, ok1 := bytesArg(unsafe.Pointer(headers), headersLen)
	bb, ok2 := bytesArg(unsafe.Pointer(body), bodyLen)
	if !ok1 || !ok2 {
		return invalid("headers or body is NULL with a non-zero length")
	}
	fields, err := bridge.DecodeHeaders(hb)
	if err != nil {
		return invalid("malformed header block: each name and value must end with NUL")
	}
	return result(r.Respond(int(status), fields, bb, end != 0))
}

//export zig_h3_response_abort
func zig_h3_response_abort(h *C.zig_h3_response) C.int {
	r, code := lookupResponse(h)
	if r == nil {
		return code
	}
	return result(r.Abort())
}
