package main

/*
#include "bridge.h"
*/
import "C"

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/zig-h3/h3bun/core"
)

// serverHandleBase tags server handles. Like response ids (see
// core.ResponseIDBase) they lie above user space and below 2^53.
const serverHandleBase = 1 << 49

// server is what a zig_h3_server handle stands for.
type server struct {
	core *core.Server
}

var (
	servers    sync.Map // uintptr -> *server
	lastServer atomic.Uint64
)

func newServerHandle(s *server) uintptr {
	h := uintptr(serverHandleBase + lastServer.Add(1))
	servers.Store(h, s)
	return h
}

// lookupServer resolves a server handle; p is never dereferenced. On
// failure it returns nil and the badHandle code.
func lookupServer(p unsafe.Pointer) (*server, C.int) {
	return serverFound(servers.Load(uintptr(p)))
}

// takeServer resolves a server handle and retires it in one step, so that
// of calls racing to free a server exactly one gets it. On failure it
// returns nil and the badHandle code.
func takeServer(p unsafe.Pointer) (*server, C.int) {
	return serverFound(servers.LoadAndDelete(uintptr(p)))
}

// serverFound is the result of a lookup in servers.
func serverFound(v any, ok bool) (*server, C.int) {
	if !ok {
		return nil, badHandle("server")
	}
	return v.(*server), C.ZIG_H3_OK
}

// lookupResponse resolves a response handle; p is never dereferenced. On
// failure it returns nil and the badHandle code.
func lookupResponse(p unsafe.Pointer) (*core.Response, C.int) {
	r, ok := core.LookupResponse(uint64(uintptr(p)))
	if !ok {
		return nil, badHandle("response")
	}
	return r, C.ZIG_H3_OK
}

// handlePointer turns a handle into the opaque pointer C sees.
func handlePointer(h uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&h)) // an opaque number, never dereferenced
}
