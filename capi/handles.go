package main

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

// lookupServer resolves a handle; p is never dereferenced.
func lookupServer(p unsafe.Pointer) (*server, bool) {
	v, ok := servers.Load(uintptr(p))
	if !ok {
		return nil, false
	}
	return v.(*server), true
}

// lookupResponse resolves a response handle; p is never dereferenced.
func lookupResponse(p unsafe.Pointer) (*core.Response, bool) {
	return core.LookupResponse(uint64(uintptr(p)))
}

// handlePointer turns a handle into the opaque pointer C sees.
func handlePointer(h uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&h)) // an opaque number, never dereferenced
}
