package bridge

import (
	"math/bits"
	"sync"
	"unsafe"
)

// Event buffers are recycled: every event is encoded into a buffer taken
// from a pool of its size class and given back once EventQueue.Drain has
// copied it out (or the queue refused or discarded it). A streaming upload
// makes one event per read, and allocating (and zeroing) each one was a
// measurable part of the server's CPU.
//
// The classes are powers of two from minEventBuf to maxEventBuf, so a
// queued event holds at most twice its length, or 256 bytes (the queue's
// bounds count lengths); a larger event is allocated and left to the
// collector. Free buffers live in sync.Pools, which the collector empties
// when idle.
const (
	minEventBufShift = 8  // 256 B
	maxEventBufShift = 17 // 128 KiB: a 64 KiB body chunk and its header
	minEventBuf      = 1 << minEventBufShift
	maxEventBuf      = 1 << maxEventBufShift
)

// eventBufPools holds, per class, pointers to the first byte of free
// buffers of exactly that class's size (a pointer fits an interface
// without allocating, a slice does not).
var eventBufPools [maxEventBufShift - minEventBufShift + 1]sync.Pool

// eventBufClass returns the pool index for a buffer of at least size bytes,
// or -1 if size is beyond the largest class.
func eventBufClass(size int) int {
	if size <= minEventBuf {
		return 0
	}
	if size > maxEventBuf {
		return -1
	}
	return bits.Len(uint(size-1)) - minEventBufShift
}

// getEventBuf returns an empty slice with room for size bytes. Its contents
// are not zeroed.
func getEventBuf(size int) []byte {
	c := eventBufClass(size)
	if c < 0 {
		return make([]byte, 0, size)
	}
	if p, ok := eventBufPools[c].Get().(unsafe.Pointer); ok {
		return unsafe.Slice((*byte)(p), minEventBuf<<c)[:0]
	}
	return make([]byte, 0, minEventBuf<<c)
}

// putEventBuf gives b's buffer back for reuse, in the largest class it can
// fill; one past the largest class is left to the collector. b must not be
// used by anyone afterwards.
func putEventBuf(b []byte) {
	if c := putClass(cap(b)); c >= 0 {
		eventBufPools[c].Put(unsafe.Pointer(unsafe.SliceData(b[:cap(b)])))
	}
}

// putClass is the pool index for a free buffer of capacity n: the largest
// class no bigger than n, or -1.
func putClass(n int) int {
	if n < minEventBuf || n > maxEventBuf {
		return -1
	}
	return bits.Len(uint(n)) - 1 - minEventBufShift
}
