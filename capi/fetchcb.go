package main

/*
#include <stdlib.h>
#include "bridge.h"
*/
import "C"

import (
	"unsafe"

	"github.com/zig-h3/h3bun/bridge"
	"github.com/zig-h3/h3bun/server"
)

// cBlock lays out C structs and the bytes they point to in one C
// allocation, freed by free.
type cBlock struct {
	base unsafe.Pointer
	mem  []byte
	off  int
}

func newCBlock(size int) *cBlock {
	base := C.malloc(C.size_t(max(size, 1)))
	return &cBlock{base: base, mem: unsafe.Slice((*byte)(base), max(size, 1))}
}

func (b *cBlock) free() { C.free(b.base) }

// take reserves n bytes aligned to 8 and returns their address.
func (b *cBlock) take(n int) unsafe.Pointer {
	b.off = (b.off + 7) &^ 7
	p := unsafe.Pointer(&b.mem[b.off])
	b.off += n
	return p
}

// bytes copies p in; NULL for empty.
func (b *cBlock) bytes(p []byte) (*C.uint8_t, C.size_t) {
	if len(p) == 0 {
		return nil, 0
	}
	dst := b.take(len(p))
	copy(unsafe.Slice((*byte)(dst), len(p)), p)
	return (*C.uint8_t)(dst), C.size_t(len(p))
}

// str copies s in; a non-NULL pointer even when empty.
func (b *cBlock) str(s string) (*C.char, C.size_t) {
	dst := b.take(len(s))
	copy(unsafe.Slice((*byte)(dst), len(s)), s)
	return (*C.char)(dst), C.size_t(len(s))
}

// headers copies fields in as a zig_h3_header array; NULL for none.
func (b *cBlock) headers(fields []server.HeaderField) (*C.zig_h3_header, C.size_t) {
	if len(fields) == 0 {
		return nil, 0
	}
	arr := unsafe.Slice((*C.zig_h3_header)(b.take(len(fields)*C.sizeof_zig_h3_header)), len(fields))
	for i, f := range fields {
		arr[i].name, arr[i].name_len = b.str(f.Name)
		arr[i].value, arr[i].value_len = b.str(f.Value)
	}
	return &arr[0], C.size_t(len(fields))
}

// blockSize is an upper bound of the bytes a block of these parts needs.
func blockSize(structs int, data []byte, lists ...[]server.HeaderField) int {
	n := structs + len(data) + 16
	for _, fields := range lists {
		n += len(fields)*C.sizeof_zig_h3_header + 8
		for _, f := range fields {
			n += len(f.Name) + len(f.Value) + 16
		}
	}
	return n
}

// callFetchEvent calls a zig_h3_fetch_event_cb with ev in C memory.
func callFetchEvent(cb C.zig_h3_fetch_event_cb, user unsafe.Pointer, ev *bridge.FetchEvent) {
	b := newCBlock(blockSize(C.sizeof_zig_h3_fetch_event, ev.Data, ev.Header))
	defer b.free()
	e := (*C.zig_h3_fetch_event)(b.take(C.sizeof_zig_h3_fetch_event))
	*e = C.zig_h3_fetch_event{}
	e._type = C.zig_h3_fetch_event_type(ev.Type)
	e.status = C.uint16_t(ev.Status)
	e.headers, e.headers_len = b.headers(ev.Header)
	e.data, e.data_len = b.bytes(ev.Data)
	e.flow_id, e.stream_id = C.uint64_t(ev.FlowID), C.uint64_t(ev.StreamID)
	C.zig_h3_call_fetch_event_cb(cb, user, e)
}

// callFetchDone calls a zig_h3_fetch_cb with the result; the body is
// borrowed from Go memory for the call (it holds no Go pointers).
func callFetchDone(cb C.zig_h3_fetch_cb, user unsafe.Pointer, res *bridge.FetchResult) {
	b := newCBlock(blockSize(0, nil, res.Header, res.Trailer))
	defer b.free()
	hdrs, nh := b.headers(res.Header)
	trailers, nt := b.headers(res.Trailer)
	body, nb := bytesPointer(res.Body)
	C.zig_h3_call_fetch_cb(cb, user, C.uint16_t(res.Status), hdrs, nh, body, nb, trailers, nt)
}
