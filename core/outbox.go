package core

import (
	"context"
	"io"
	"sync"
)

// outbox buffers bytes for a stream written by a goroutine of its own, so
// that callers never block on the network. Send reports the bytes pending;
// a caller that sees ResponseHighWater or more pauses until onWritable runs
// (pending back to ResponseLowWater, or the outbox finished).
type outbox struct {
	mu         sync.Mutex
	chunks     [][]byte
	pending    int
	fin        bool
	finished   bool
	armed      bool
	wake       chan struct{}
	onWritable func()
}

func newOutbox(onWritable func()) *outbox {
	return &outbox{wake: make(chan struct{}, 1), onWritable: onWritable}
}

// send records p (copied) and, with fin, the end of the stream.
func (o *outbox) send(p []byte, fin bool) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.finished || o.fin {
		return 0, ErrClosed
	}
	if len(p) > 0 {
		o.chunks = append(o.chunks, append([]byte(nil), p...))
		o.pending += len(p)
	}
	o.fin = fin
	if o.pending >= ResponseHighWater {
		o.armed = true
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return o.pending, nil
}

// run writes everything sent to w until fin (then it calls closeWrite) or
// until ctx ends or a write fails. It reports whether fin was written.
func (o *outbox) run(ctx context.Context, w io.Writer, closeWrite func() error) bool {
	defer o.finish()
	for {
		o.mu.Lock()
		chunks, fin := o.chunks, o.fin
		o.chunks = nil
		o.mu.Unlock()
		for _, c := range chunks {
			if _, err := w.Write(c); err != nil {
				return false
			}
			o.written(len(c))
		}
		if fin {
			return closeWrite() == nil
		}
		select {
		case <-o.wake:
		case <-ctx.Done():
			return false
		}
	}
}

func (o *outbox) written(n int) {
	o.mu.Lock()
	o.pending -= n
	fire := o.armed && o.pending <= ResponseLowWater
	if fire {
		o.armed = false
	}
	o.mu.Unlock()
	if fire && o.onWritable != nil {
		o.onWritable()
	}
}

func (o *outbox) finish() {
	o.mu.Lock()
	o.finished = true
	o.chunks, o.pending = nil, 0
	armed := o.armed
	o.armed = false
	o.mu.Unlock()
	if armed && o.onWritable != nil {
		o.onWritable()
	}
}
