package bridge

import (
	"context"
	"io"
	"sync"

	"github.com/zig-h3/h3bun/internal/sendbuf"
	"github.com/zig-h3/h3bun/server"
)

// outbox buffers bytes for a stream written by a goroutine of its own, so
// that callers never block on the network. Send reports the bytes pending;
// a caller that sees sendbuf.HighWater or more pauses until onWritable runs
// (pending back to sendbuf.LowWater, or the outbox finished).
type outbox struct {
	mu         sync.Mutex
	buf        sendbuf.Buffer
	fin        bool
	finished   bool
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
		return 0, server.ErrClosed
	}
	o.buf.Add(p)
	o.fin = fin
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return o.buf.Pending(), nil
}

// run writes everything sent to w until fin (then it calls closeWrite) or
// until ctx ends or a write fails. It reports whether fin was written.
func (o *outbox) run(ctx context.Context, w io.Writer, closeWrite func() error) bool {
	defer o.finish()
	for {
		o.mu.Lock()
		chunks, fin := o.buf.Take(), o.fin
		o.mu.Unlock()
		for _, c := range chunks {
			if _, err := w.Write(c.Data); err != nil {
				return false
			}
			o.written(len(c.Data))
			c.Release()
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
	fire := o.buf.Written(n)
	o.mu.Unlock()
	if fire && o.onWritable != nil {
		o.onWritable()
	}
}

func (o *outbox) finish() {
	o.mu.Lock()
	o.finished = true
	armed := o.buf.Reset()
	o.mu.Unlock()
	if armed && o.onWritable != nil {
		o.onWritable()
	}
}
