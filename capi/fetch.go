package main

/*
#include "bridge.h"
*/
import "C"

import (
	"unsafe"

	"github.com/zig-h3/h3bun/bridge"
)

// fetchFlags are the flags zig_h3_client_fetch_start knows.
const fetchFlags = C.ZIG_H3_FETCH_FLAG_BODY | C.ZIG_H3_FETCH_FLAG_DATAGRAMS

//export zig_h3_client_fetch_start
func zig_h3_client_fetch_start(h *C.zig_h3_client, head *C.uint8_t, n C.size_t, flags C.uint32_t) C.int64_t {
	c, code := lookupClient(h)
	if c == nil {
		return C.int64_t(code)
	}
	if flags&^fetchFlags != 0 {
		return C.int64_t(invalid("unknown fetch flag"))
	}
	b, ok := bytesArg(unsafe.Pointer(head), n)
	if !ok || b == nil {
		return C.int64_t(invalid("head is NULL or empty"))
	}
	r, err := bridge.ParseFetchHead(b)
	if err != nil {
		return C.int64_t(result(err))
	}
	f, err := c.StartFetch(r, flags&C.ZIG_H3_FETCH_FLAG_BODY != 0, flags&C.ZIG_H3_FETCH_FLAG_DATAGRAMS != 0)
	if err != nil {
		return C.int64_t(result(err))
	}
	return C.int64_t(f.Handle)
}

func lookupFetch(h C.uint64_t) (*bridge.Fetch, C.int) {
	return lookup(bridge.Fetches, uint64(h), "fetch")
}

//export zig_h3_fetch_write
func zig_h3_fetch_write(h C.uint64_t, data *C.uint8_t, n C.size_t, fin C.uint8_t) C.int64_t {
	f, code := lookupFetch(h)
	if f == nil {
		return C.int64_t(code)
	}
	return writeFetch(f, data, n, fin)
}

// writeFetch appends request body bytes to f.
func writeFetch(f *bridge.Fetch, data *C.uint8_t, n C.size_t, fin C.uint8_t) C.int64_t {
	b, ok := bytesArg(unsafe.Pointer(data), n)
	if !ok {
		return C.int64_t(invalid("data is NULL with a non-zero length"))
	}
	pending, err := f.Write(b, fin != 0)
	if err != nil {
		return C.int64_t(result(err))
	}
	return C.int64_t(pending)
}

//export zig_h3_fetch_ack
func zig_h3_fetch_ack(h C.uint64_t, n C.size_t) C.int {
	f, code := lookupFetch(h)
	if f == nil {
		return code
	}
	if n > C.ZIG_H3_MAX_LENGTH {
		return invalid("absurd byte count")
	}
	return result(f.Ack(int(n)))
}

//export zig_h3_fetch_cancel
func zig_h3_fetch_cancel(h C.uint64_t, errCode C.uint32_t) C.int {
	f, code := lookupFetch(h)
	if f == nil {
		return code
	}
	f.Cancel(uint32(errCode))
	return C.ZIG_H3_OK
}

//export zig_h3_fetch_send_datagram
func zig_h3_fetch_send_datagram(h C.uint64_t, data *C.uint8_t, n C.size_t) C.int {
	f, code := lookupFetch(h)
	if f == nil {
		return code
	}
	return sendDatagram(f, data, n)
}

//export zig_h3_fetch_max_datagram_size
func zig_h3_fetch_max_datagram_size(h C.uint64_t) C.int {
	f, code := lookupFetch(h)
	if f == nil {
		return code
	}
	return C.int(f.MaxDatagramSize())
}
