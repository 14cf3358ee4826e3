package bridge

import "github.com/zig-h3/h3bun/internal/bufpool"

// Event buffers are recycled (see bufpool): every event is encoded into a
// buffer from the pool and given back once EventQueue.Drain has copied it
// out (or the queue refused or discarded it). A streaming upload makes one
// event per read.

// getEventBuf returns an empty slice with room for size bytes, not zeroed.
func getEventBuf(size int) []byte { return bufpool.Get(size) }

// putEventBuf gives b's buffer back for reuse; b must not be used by anyone
// afterwards.
func putEventBuf(b []byte) { bufpool.Put(b) }

// RecycleEvent gives the buffer of an event an EventStore has copied back
// for reuse; ev must not be used afterwards.
func RecycleEvent(ev []byte) { putEventBuf(ev) }
