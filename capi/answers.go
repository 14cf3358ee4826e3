package main

/*
#include "answers.h"
*/
import "C"

import (
	"sync"
	"unsafe"

	"github.com/zig-h3/h3bun/bridge"
)

// The Go half of the answer queue (answers.c): the responses of event
// routes are opened on it, one goroutine applies the answers queued by
// zig_h3_response_respond, and every other call on a response settles its
// queued answer first.

func init() {
	C.zh3_answers_init(C.uint64_t(bridge.KindResponse.Handle(0)), C.uint64_t(bridge.KindResponse.Limit()))
	bridge.QueuedResponseHooks.Open = openAnswer
	bridge.QueuedResponseHooks.Close = settleAnswer
}

// startAnswers starts the queue's doorbell and the goroutine that applies
// the answers, once; false if that failed (every answer takes the Go path).
var startAnswers = sync.OnceValue(func() bool {
	fd, err := bridge.NewEventFD()
	if err != nil {
		return false
	}
	C.zh3_answers_start(C.int(fd))
	go onDoorbell(fd, "zig_h3 answers", applyAnswers)
	return true
})

// openAnswer lets zig_h3_response_respond queue the answer to handle h.
func openAnswer(h uint64) {
	if startAnswers() {
		C.zh3_answers_open(C.uint64_t(h))
	}
}

// applied counts the batches of answers applied, so that settleAnswer can
// wait for the one that holds its answer.
var applied struct {
	sync.Mutex
	cond    sync.Cond
	batches uint64
}

func init() { applied.cond.L = &applied.Mutex }

// settleAnswer takes handle h off the queue's path; an answer to h already
// queued is applied first (here, or by whoever took it from the queue).
func settleAnswer(h uint64) {
	for C.zh3_answers_revoke(C.uint64_t(h)) == 1 {
		applied.Lock()
		seen := applied.batches
		applied.Unlock()
		applyAnswers()
		if C.zh3_answers_revoke(C.uint64_t(h)) != 1 {
			return
		}
		applied.Lock()
		for applied.batches == seen { // another goroutine holds it: wait for its batch
			applied.cond.Wait()
		}
		applied.Unlock()
	}
}

// applyAnswers applies every queued answer. An answer to a response that
// finished meanwhile is dropped, as if it had come just before the end.
func applyAnswers() {
	a := C.zh3_answers_take()
	if a == nil {
		return
	}
	for a != nil {
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
	applied.Lock()
	applied.batches++
	applied.cond.Broadcast()
	applied.Unlock()
}
