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

var startStores = sync.OnceValue(func() error {
	const efdCloexec, efdNonblock = 0x80000, 0x800
	fd, _, errno := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, efdCloexec|efdNonblock, 0)
	if errno != 0 {
		return errno
	}
	spaceWaits.chans = map[*cStore]chan struct{}{}
	C.zh3_stores_start(C.int(fd))
	go wakeSpaceWaiters(os.NewFile(fd, "zig_h3 queue space")) // non-blocking: read through Go's poller
	return nil
})

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

// wakeSpaceWaiters closes the waiting channels each time a drain in C
// freed room that a producer asked for.
func wakeSpaceWaiters(doorbell *os.File) {
	var b [8]byte
	for {
		if _, err := doorbell.Read(b[:]); err != nil {
			time.Sleep(time.Millisecond) // not expected: an eventfd read fails only if not readable
		}
		spaceWaits.Lock()
		for s, ch := range spaceWaits.chans {
			close(ch)
			delete(spaceWaits.chans, s)
		}
		spaceWaits.Unlock()
	}
}

func (s *cStore) Push(ev []byte, force bool) bool {
	f := C.int(0)
	if force {
		f = 1
	}
	var p *C.uint8_t
	if len(ev) > 0 {
		p = (*C.uint8_t)(unsafe.Pointer(&ev[0]))
	}
	switch C.zh3_store_push(s.s, p, C.size_t(len(ev)), f) {
	case 1:
		bridge.RecycleEvent(ev)
		return true
	case 0:
		return false
	}
	// Out of C memory: the event is lost, as an event the queue refused.
	bridge.RecycleEvent(ev)
	return true
}

func (s *cStore) Drain(dst []byte) (n, need int) {
	if len(dst) == 0 {
		return 0, s.NextSize()
	}
	var c C.size_t
	got := C.zh3_store_drain(s.s, (*C.uint8_t)(unsafe.Pointer(&dst[0])), C.size_t(len(dst)), &c)
	return int(got), int(c)
}

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

func (s *cStore) Len() int      { return int(C.zh3_store_len(s.s)) }
func (s *cStore) NextSize() int { return int(C.zh3_store_next_size(s.s)) }

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
