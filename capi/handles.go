package main

/*
#include "bridge.h"
*/
import "C"

import (
	"unsafe"

	"github.com/zig-h3/h3bun/bridge"
)

// lookup resolves a handle of table t. On failure
// it returns the zero value and the BAD_HANDLE code naming what.
func lookup[T any](t *bridge.Table[T], h uint64, what string) (T, C.int) {
	v, ok := t.Get(h)
	return v, handleCode(ok, what)
}

// take resolves a handle of table t and retires it in one step, so that of
// calls racing to free an object exactly one gets it.
func take[T any](t *bridge.Table[T], h uint64, what string) (T, C.int) {
	v, ok := t.Take(h)
	return v, handleCode(ok, what)
}

// handleCode is the return code of a handle lookup.
func handleCode(found bool, what string) C.int {
	if !found {
		return badHandle(what)
	}
	return C.ZIG_H3_OK
}

func lookupServer(h *C.zig_h3_server) (*bridge.Server, C.int) {
	return lookup(bridge.Servers, handleOf(unsafe.Pointer(h)), "server")
}

// lookupResponse resolves a response handle once any answer to it queued
// by zig_h3_response_respond's C path is applied (see settleAnswer), so
// that calls on one response keep their order.
func lookupResponse(h *C.zig_h3_response) (*bridge.Response, C.int) {
	handle := handleOf(unsafe.Pointer(h))
	settleAnswer(handle)
	return lookup(bridge.Responses, handle, "response")
}

// handleOf is the handle a C pointer argument stands for (never
// dereferenced).
func handleOf(p unsafe.Pointer) uint64 { return uint64(uintptr(p)) }

// handlePointer turns a handle into the opaque pointer C sees.
func handlePointer(h uint64) unsafe.Pointer {
	p := uintptr(h)
	return *(*unsafe.Pointer)(unsafe.Pointer(&p)) // an opaque number, never dereferenced
}
