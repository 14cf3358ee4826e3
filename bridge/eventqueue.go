package bridge

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/zig-h3/h3bun/internal/abi"
	"github.com/zig-h3/h3bun/server"
)

// Limits of an EventQueue.
const (
	// DefaultQueueEvents is the most events an EventQueue holds.
	DefaultQueueEvents = abi.QueueMaxEvents
	// DefaultQueueBytes is the most encoded bytes an EventQueue holds (one
	// event larger than this is still accepted into an empty queue).
	DefaultQueueBytes = abi.QueueMaxBytes
)

// EventQueue is a bounded queue of encoded events (see events.go) with an
// eventfd doorbell: the eventfd becomes readable when the queue goes from
// empty to non-empty, and a consumer drains whole batches with Drain. It is
// how events reach a consumer that cannot be called from foreign threads,
// such as Bun's JavaScript thread. Its events are held by an EventStore.
//
// The push methods take ownership of the event, whatever their result:
// its buffer is recycled (eventbuf.go) once drained, refused or discarded.
type EventQueue struct {
	fd    int
	store EventStore

	mu     sync.Mutex // orders pushes against Mute and Close
	closed bool

	dropped atomic.Uint64
}

// NewEventQueue creates a queue with the default limits and its eventfd
// (non-blocking, close-on-exec).
func NewEventQueue() (*EventQueue, error) {
	return newEventQueue(0, DefaultQueueEvents, DefaultQueueBytes)
}

// newEventQueue creates the queue of the server or client whose handle is
// owner, with its store (see NewEventStore).
func newEventQueue(owner uint64, maxEvents, maxBytes int) (*EventQueue, error) {
	fd, err := NewEventFD()
	if err != nil {
		return nil, err
	}
	var store EventStore = newMemStore(fd, maxEvents, maxBytes)
	if NewEventStore != nil {
		if store, err = NewEventStore(owner, fd, maxEvents, maxBytes); err != nil {
			_ = syscall.Close(fd)
			return nil, err
		}
	}
	return &EventQueue{fd: fd, store: store}, nil
}

// FD returns the eventfd to wait on. It stays open until Close.
func (q *EventQueue) FD() int { return q.fd }

// Dropped returns how many events TryPush discarded because the queue was full.
func (q *EventQueue) Dropped() uint64 { return q.dropped.Load() }

// PushWait adds ev, waiting for room while the queue is full. It returns
// ctx's error if ctx ends first, or ErrClosed if the queue is closed.
func (q *EventQueue) PushWait(ctx context.Context, ev []byte) error { return q.pushWait(ctx, ev, nil) }

// pushWait is PushWait, except that ev is dropped (with ErrMuted) once
// muted is set by Mute.
func (q *EventQueue) pushWait(ctx context.Context, ev []byte, muted *atomic.Bool) error {
	for {
		q.mu.Lock()
		if err := q.refuseLocked(muted); err != nil {
			q.mu.Unlock()
			putEventBuf(ev)
			return err
		}
		if q.store.Push(ev, false) {
			q.mu.Unlock()
			return nil
		}
		space := q.store.Space()
		if q.store.Push(ev, false) { // a drain between the two
			q.mu.Unlock()
			return nil
		}
		q.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			putEventBuf(ev)
			return ctx.Err()
		}
	}
}

// errMuted: the event's producer was muted (Mute); the event was dropped.
var errMuted = errors.New("muted")

// refuseLocked is why an event cannot be pushed now, if it cannot.
func (q *EventQueue) refuseLocked(muted *atomic.Bool) error {
	if q.closed {
		return server.ErrClosed
	}
	if muted != nil && muted.Load() {
		return errMuted
	}
	return nil
}

// Mute sets muted under the queue's lock: from the moment Mute returns, no
// event pushed with that flag enters the queue (one being pushed either
// got in before, or is dropped).
func (q *EventQueue) Mute(muted *atomic.Bool) {
	q.mu.Lock()
	muted.Store(true)
	q.mu.Unlock()
}

// TryPush adds ev if there is room, otherwise drops and counts it.
func (q *EventQueue) TryPush(ev []byte) error { return q.tryPush(ev, nil) }

// tryPush is TryPush, dropping ev (uncounted) once muted is set by Mute.
func (q *EventQueue) tryPush(ev []byte, muted *atomic.Bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.refuseLocked(muted); err != nil {
		putEventBuf(ev)
		return err
	}
	if !q.store.Push(ev, false) {
		q.dropped.Add(1)
		putEventBuf(ev)
		return ErrQueueFull
	}
	return nil
}

// PushControl adds ev whatever the fill level: for events that must never
// be lost and whose number is bounded by something else (one per request or
// per server stop).
func (q *EventQueue) PushControl(ev []byte) error { return q.pushControl(ev, nil, false) }

// pushControl is PushControl, dropping ev once muted is set by Mute; with
// last, ev is the producer's last event: muted is set with it, in the same
// step, so that nothing of the producer follows it.
func (q *EventQueue) pushControl(ev []byte, muted *atomic.Bool, last bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.refuseLocked(muted); err != nil {
		putEventBuf(ev)
		return err
	}
	q.store.Push(ev, true)
	if last {
		muted.Store(true)
	}
	return nil
}

// Drain copies whole events, oldest first, into dst and removes them. It
// returns the bytes written; when the oldest event does not fit in dst at
// all, it returns 0 and need, the size dst must have. When some events fit
// and others are left, the eventfd is made readable again: a consumer may
// drain once each time it is readable, without a last call to find the
// queue empty.
func (q *EventQueue) Drain(dst []byte) (n, need int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0, 0
	}
	return q.store.Drain(dst)
}

// Len returns the number of queued events.
func (q *EventQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0
	}
	return q.store.Len()
}

// NextSize returns the size of the oldest event, or 0 if the queue is empty.
func (q *EventQueue) NextSize() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0
	}
	return q.store.NextSize()
}

// Retire tells the queue that its owner's handle is retired: drains by
// that handle (the C face's) stop finding it. Close follows.
func (q *EventQueue) Retire() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.store.Retire()
	}
}

// Close discards queued events, wakes waiting producers with ErrClosed and
// closes the eventfd. The consumer must have stopped waiting on FD first.
func (q *EventQueue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.closed = true
	q.store.Close()
	_ = syscall.Close(q.fd)
}
