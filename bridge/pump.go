package bridge

import (
	"context"
	"sync"

	"github.com/zig-h3/h3bun/internal/abi"

	"github.com/zig-h3/h3bun/server"
)

// BodyWindow is the most bytes of one incoming stream (a streaming request
// body, a WebTransport stream) delivered to the consumer as events and not
// yet acknowledged. Past it the bridge stops reading, and QUIC flow control
// stops the peer.
const BodyWindow = abi.BodyWindow

// credit counts bytes delivered but not yet acknowledged.
type credit struct {
	mu       sync.Mutex
	inflight int
	more     chan struct{} // closed and replaced when credit returns to a full window
}

func newCredit() *credit { return &credit{more: make(chan struct{})} }

// wait returns how many bytes may be delivered now (at least 1), waiting
// for acknowledgements while the window is full.
func (c *credit) wait(ctx context.Context) (int, error) {
	for {
		c.mu.Lock()
		if free := BodyWindow - c.inflight; free > 0 {
			c.mu.Unlock()
			return min(free, server.BodyChunk), nil
		}
		more := c.more
		c.mu.Unlock()
		select {
		case <-more:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (c *credit) take(n int) {
	c.mu.Lock()
	c.inflight += n
	c.mu.Unlock()
}

// ack returns n bytes of credit.
func (c *credit) ack(n int) {
	c.mu.Lock()
	wasFull := c.inflight >= BodyWindow // only then may the pump wait on more
	c.inflight = max(0, c.inflight-n)
	if wasFull {
		close(c.more)
		c.more = make(chan struct{})
	}
	c.mu.Unlock()
}

// maxReadChunk is the most pumpToQueue reads at once: the event then fits
// a 64 KiB buffer of the pool (a read of server.BodyChunk would take a
// 128 KiB one, held while the read waits).
const maxReadChunk = server.BodyChunk - idBytesOverhead

// pumpToQueue reads with read into events of type typ for id (the layout
// of encodeIDBytes, read in place), keeping at most BodyWindow bytes
// unacknowledged in c; when read fails it pushes endEvent(err) unless that
// is nil.
func pumpToQueue(ctx context.Context, q *EventQueue, c *credit, read func([]byte) (int, error),
	typ byte, id uint64, endEvent func(error) []byte) {
	for {
		n, err := c.wait(ctx)
		if err != nil {
			return
		}
		ev, room := newIDBytes(typ, id, min(n, maxReadChunk))
		m, err := read(room)
		if m > 0 {
			c.take(m)
			if q.PushWait(ctx, finishIDBytes(ev, m)) != nil {
				return
			}
		} else {
			putEventBuf(ev)
		}
		if err != nil {
			if ev := endEvent(err); ev != nil {
				_ = q.PushWait(ctx, ev)
			}
			return
		}
	}
}
