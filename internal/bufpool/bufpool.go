// Package bufpool recycles byte buffers by size class: the event queue's
// encoded events and the copies of response and stream bodies waiting to
// be written. Allocating (and zeroing) a fresh buffer for each of them,
// only to drop it once written, was a measurable part of the server's CPU,
// most of it in the collector.
//
// The classes are powers of two from Min to Max, so a buffer holds at most
// twice what it was asked for, or Min bytes; a request past Max is
// allocated and left to the collector. Free buffers live in sync.Pools,
// which the collector empties when idle.
package bufpool

import (
	"math/bits"
	"sync"
	"unsafe"
)

const (
	minShift = 8  // 256 B
	maxShift = 17 // 128 KiB: a 64 KiB body chunk and its event header
	// Min is the smallest class.
	Min = 1 << minShift
	// Max is the largest class.
	Max = 1 << maxShift
)

// pools holds, per class, pointers to the first byte of free buffers of
// exactly that class's size (a pointer fits an interface without
// allocating, a slice does not).
var pools [maxShift - minShift + 1]sync.Pool

// class returns the pool index for a buffer of at least size bytes, or -1
// if size is beyond the largest class.
func class(size int) int {
	if size <= Min {
		return 0
	}
	if size > Max {
		return -1
	}
	return bits.Len(uint(size-1)) - minShift
}

// Get returns an empty slice with room for size bytes. Its contents are
// not zeroed.
func Get(size int) []byte {
	c := class(size)
	if c < 0 {
		return make([]byte, 0, size)
	}
	if p, ok := pools[c].Get().(unsafe.Pointer); ok {
		return unsafe.Slice((*byte)(p), Min<<c)[:0]
	}
	return make([]byte, 0, Min<<c)
}

// Put gives b's buffer back for reuse, in the largest class it can fill;
// one outside the classes is left to the collector. Nobody may use b (or
// any slice of its array) afterwards.
func Put(b []byte) {
	if c := putClass(cap(b)); c >= 0 {
		pools[c].Put(unsafe.Pointer(unsafe.SliceData(b[:cap(b)])))
	}
}

// putClass is the pool index for a free buffer of capacity n: the largest
// class no bigger than n, or -1.
func putClass(n int) int {
	if n < Min || n > Max {
		return -1
	}
	return bits.Len(uint(n)) - 1 - minShift
}
