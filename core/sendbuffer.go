package core

// sendBuffer holds body bytes that a writer has handed over and the
// goroutine serving the stream has not yet written, with the writable
// signal of their backpressure: once pending reaches ResponseHighWater the
// buffer is armed, and the signal is due when pending is back down to
// ResponseLowWater (or the stream ends). Response and outbox each keep one
// under their own mutex.
type sendBuffer struct {
	chunks  [][]byte
	pending int
	armed   bool
}

// add copies p in (the caller may reuse p at once) and arms the buffer at
// the high-water mark.
func (b *sendBuffer) add(p []byte) { b.addShared(append([]byte(nil), p...)) }

// addShared is add without the copy, for bytes that never change.
func (b *sendBuffer) addShared(p []byte) {
	if len(p) == 0 {
		return
	}
	b.chunks = append(b.chunks, p)
	b.pending += len(p)
	if b.pending >= ResponseHighWater {
		b.armed = true
	}
}

// take hands the chunks to the writing goroutine; they stay pending until
// written reports them.
func (b *sendBuffer) take() [][]byte {
	chunks := b.chunks
	b.chunks = nil
	return chunks
}

// written accounts for n bytes handed to the stream and reports whether
// the writable signal is due.
func (b *sendBuffer) written(n int) bool {
	b.pending -= n
	if b.armed && b.pending <= ResponseLowWater {
		b.armed = false
		return true
	}
	return false
}

// reset drops everything and reports whether a paused writer must be told
// (the signal was armed).
func (b *sendBuffer) reset() bool {
	armed := b.armed
	*b = sendBuffer{}
	return armed
}
