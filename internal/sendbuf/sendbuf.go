// Package sendbuf holds bytes handed over by a writer that must never
// block, until the goroutine that owns a stream writes them, with the
// writable signal of their backpressure. The server's responses and the
// bridge's WebTransport stream outboxes each keep one under their own mutex.
package sendbuf

import "github.com/zig-h3/h3bun/internal/bufpool"

// Backpressure levels: once Pending reaches HighWater the buffer is armed,
// and the writable signal is due when Pending is back down to LowWater (or
// the stream ends).
const (
	HighWater = 256 << 10
	LowWater  = 64 << 10
)

// Buffer is the bytes handed over and not yet written. The zero value is
// empty. It is not safe for concurrent use.
type Buffer struct {
	chunks  []Chunk
	pending int
	armed   bool
}

// Chunk is one piece handed over: a copy (Add) or the caller's bytes
// (AddShared).
type Chunk struct {
	Data   []byte
	pooled bool // Data is a copy from bufpool
}

// Release gives a written chunk's copy back for reuse (without a copy,
// nothing happens). Data must not be used afterwards: write it, then
// release it. A chunk never released is left to the collector.
func (c Chunk) Release() {
	if c.pooled {
		bufpool.Put(c.Data)
	}
}

// Pending is the number of bytes added and not yet reported written.
func (b *Buffer) Pending() int { return b.pending }

// Add copies p in (the caller may reuse p at once) and arms the buffer at
// the high-water mark.
func (b *Buffer) Add(p []byte) {
	if len(p) == 0 {
		return
	}
	// A piece that fits in the room left in the last copy not yet taken
	// joins it: a pooled copy holds at least bufpool.Min bytes, so tiny
	// pieces each in their own would hold many times what they count for.
	if n := len(b.chunks); n > 0 {
		if last := &b.chunks[n-1]; last.pooled && cap(last.Data)-len(last.Data) >= len(p) {
			last.Data = append(last.Data, p...)
			b.grew(len(p))
			return
		}
	}
	// Copies come from a pool: a streamed body is otherwise garbage at
	// the rate it is sent, and the collector's work was the largest cost
	// of a WebTransport stream echo.
	b.add(Chunk{Data: append(bufpool.Get(len(p)), p...), pooled: true})
}

// AddShared is Add without the copy, for bytes that never change.
func (b *Buffer) AddShared(p []byte) {
	if len(p) > 0 {
		b.add(Chunk{Data: p})
	}
}

func (b *Buffer) add(c Chunk) {
	b.chunks = append(b.chunks, c)
	b.grew(len(c.Data))
}

// grew counts n more bytes pending and arms the buffer at the high-water mark.
func (b *Buffer) grew(n int) {
	b.pending += n
	if b.pending >= HighWater {
		b.armed = true
	}
}

// Take hands the chunks to the writing goroutine, which releases each one
// once written (Chunk.Release); they stay pending until Written reports
// them.
func (b *Buffer) Take() []Chunk {
	chunks := b.chunks
	b.chunks = nil
	return chunks
}

// Written accounts for n bytes handed to the stream and reports whether
// the writable signal is due.
func (b *Buffer) Written(n int) bool {
	b.pending -= n
	if b.armed && b.pending <= LowWater {
		b.armed = false
		return true
	}
	return false
}

// Reset drops everything and reports whether a paused writer must be told
// (the signal was armed).
func (b *Buffer) Reset() bool {
	armed := b.armed
	for _, c := range b.chunks {
		c.Release()
	}
	*b = Buffer{}
	return armed
}
