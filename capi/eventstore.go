package main

/*
#include "eventstore.h"
*/
import "C"

import (
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/zig-h3/h3bun/bridge"
)

// The event queues' store in C memory (eventstore.c): what the library's
// queues hold lives where zig_h3_server_drain and zig_h3_client_drain can
// take it without entering Go.

func init() {
	C.zh3_stores_init(C.uint64_t(bridge.KindServer.Handle(0)), C.uint64_t(bridge.KindServer.Limit()),
		C.uint64_t(bridge.KindClient.Handle(0)), C.uint64_t(bridge.KindClient.Limit()))
	bridge.NewEventStore = newCStore
}

// cStore is a bridge.EventStore in C memory.
type cStore struct {
	s *C.zh3_store
}

// spaceWaits are the channels of the stores' Space calls, closed together
// when the space doorbell rings: a drain in C freed room somewhere.
var spaceWaits struct {
	sync.Mutex
	chans map[*cStore]chan struct{}
}

// startStores starts the space doorbell and its goroutine, once.
var startStores = sync.OnceValue(func() error {
	fd, err := bridge.NewEventFD()
	if err != nil {
		return err
	}
	spaceWaits.chans = map[*cStore]chan struct{}{}
	C.zh3_stores_start(C.int(fd))
	go onDoorbell(fd, "zig_h3 queue space", wakeSpaceWaiters)
	return nil
})

// onDoorbell calls f each time the eventfd fd rings, forever. The fd is
// non-blocking, so the goroutine waits in Go's poller, not on a thread.
func onDoorbell(fd int, name string, f func()) {
	doorbell := os.NewFile(uintptr(fd), name)
	var b [8]byte
	for {
		if _, err := doorbell.Read(b[:]); err != nil {
			time.Sleep(time.Millisecond) // not expected: an eventfd read fails only if not readable
		}
		f()
	}
}

// newCStore is bridge.NewEventStore.
func newCStore(owner uint64, fd, maxEvents, maxBytes int) (bridge.EventStore, error) {
	if err := startStores(); err != nil {
		return nil, err
	}
	s := C.zh3_store_new(C.uint64_t(owner), C.int(fd), C.size_t(maxEvents), C.size_t(maxBytes))
	if s == nil {
		return nil, syscall.ENOMEM
	}
	return &cStore{s: s}, nil
}

// wakeSpaceWaiters closes every waiting channel: a drain in C freed room
// that a producer asked for. The doorbell is shared by all stores, so the
// waiters of the others wake too, find their queue still full and wait
// again.
func wakeSpaceWaiters() {
	spaceWaits.Lock()
	for s, ch := range spaceWaits.chans {
		close(ch)
		delete(spaceWaits.chans, s)
	}
	spaceWaits.Unlock()
}

// Push implements bridge.EventStore: the event is copied into C memory.
func (s *cStore) Push(ev []byte, force bool) bool {
	f := C.int(0)
	if force {
		f = 1
	}
	var p *C.uint8_t
	if len(ev) > 0 {
		p = (*C.uint8_t)(unsafe.Pointer(&ev[0]))
	}
	if C.zh3_store_push(s.s, p, C.size_t(len(ev)), f) == 0 {
		return false // full
	}
	// Taken, or lost to a failed malloc: waiting for room would not help
	// then, and a producer waiting for a drain that never comes would hang.
	bridge.RecycleEvent(ev)
	return true
}

// Drain implements bridge.EventStore.
func (s *cStore) Drain(dst []byte) (n, need int) {
	if len(dst) == 0 {
		return 0, s.NextSize()
	}
	var c C.size_t
	got := C.zh3_store_drain(s.s, (*C.uint8_t)(unsafe.Pointer(&dst[0])), C.size_t(len(dst)), &c)
	return int(got), int(c)
}

// Space implements bridge.EventStore.
func (s *cStore) Space() <-chan struct{} {
	spaceWaits.Lock()
	ch, ok := spaceWaits.chans[s]
	if !ok {
		ch = make(chan struct{})
		spaceWaits.chans[s] = ch
	}
	spaceWaits.Unlock()
	C.zh3_store_want_space(s.s)
	return ch
}

// Len implements bridge.EventStore.
func (s *cStore) Len() int { return int(C.zh3_store_len(s.s)) }

// NextSize implements bridge.EventStore.
func (s *cStore) NextSize() int { return int(C.zh3_store_next_size(s.s)) }

// Retire implements bridge.EventStore.
func (s *cStore) Retire() { C.zh3_store_retire(s.s) }

// Close implements bridge.EventStore.
func (s *cStore) Close() {
	C.zh3_store_free(s.s)
	s.s = nil
	spaceWaits.Lock()
	if ch, ok := spaceWaits.chans[s]; ok {
		close(ch)
		delete(spaceWaits.chans, s)
	}
	spaceWaits.Unlock()
}
