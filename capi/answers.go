package main

/*
#include "answers.h"
#include <stdlib.h>
*/
import "C"

import (
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/zig-h3/h3bun/bridge"
)

// The Go half of the answer queue (answers.c): the responses of event
// routes are opened on it, one goroutine applies the answers queued by
// zig_h3_response_respond, and every other call on a response settles its
// queued answer first.

func init() {
	bridge.QueuedResponseHooks.Open = openAnswer
	bridge.QueuedResponseHooks.Close = func(h uint64) { settleAnswer(h) }
}

var startAnswers = sync.OnceValue(func() bool {
	const efdCloexec, efdNonblock = 0x80000, 0x800
	fd, _, errno := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, efdCloexec|efdNonblock, 0)
	if errno != 0 {
		return false // every answer takes the Go path
	}
	doorbell := os.NewFile(fd, "zig_h3 answers") // non-blocking: read through Go's poller
	base := bridge.KindResponse.Handle(0)
	C.zh3_answers_start(C.uint64_t(base), C.uint64_t(bridge.KindResponse.Limit()), C.int(fd))
	go pumpAnswers(doorbell)
	return true
})

// openAnswer lets zig_h3_response_respond queue the answer to handle h.
func openAnswer(h uint64) {
	if startAnswers() {
		C.zh3_answers_open(C.uint64_t(h))
	}
}

// settleAnswer takes handle h off the queue's path; an answer to h already
// queued is applied first.
func settleAnswer(h uint64) {
	for i := 0; C.zh3_answers_revoke(C.uint64_t(h)) == 1; i++ {
		applyAnswers()
		if i > 0 {
			runtime.Gosched() // the pump took it and is applying it
		}
	}
}

// pumpAnswers applies the queued answers each time the doorbell rings.
func pumpAnswers(doorbell *os.File) {
	var b [8]byte
	for {
		if _, err := doorbell.Read(b[:]); err != nil {
			time.Sleep(time.Millisecond) // not expected: an eventfd read fails only if not readable
		}
		applyAnswers()
	}
}

// applyAnswers applies every queued answer. An answer to a response that
// finished meanwhile is dropped, as if it had come just before the end.
func applyAnswers() {
	for a := C.zh3_answers_take(); a != nil; {
		next := a.next
		if r, ok := bridge.Responses.Get(uint64(a.handle)); ok {
			fields, err := bridge.DecodeHeaders(unsafe.Slice((*byte)(unsafe.Pointer(a.headers)), int(a.headers_len)))
			if err == nil { // checked by answers.c
				_ = r.Respond(int(a.status), fields, unsafe.Slice((*byte)(unsafe.Pointer(a.body)), int(a.body_len)), true)
			}
		}
		C.zh3_answers_done(a)
		a = next
	}
}
