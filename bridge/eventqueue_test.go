package bridge

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/zig-h3/h3bun/server"
)

// rang reads the doorbell without blocking and reports whether it had rung.
func rang(t *testing.T, q *EventQueue) bool {
	t.Helper()
	var b [8]byte
	n, err := syscall.Read(q.FD(), b[:])
	if err == syscall.EAGAIN {
		return false
	}
	if err != nil || n != 8 {
		t.Fatalf("reading the eventfd: %d, %v", n, err)
	}
	return true
}

// drainAll drains q with a buffer of size bytes and returns the events' types.
func drainAll(q *EventQueue, size int) []byte {
	buf := make([]byte, size)
	var types []byte
	for {
		n, _ := q.Drain(buf)
		if n == 0 {
			return types
		}
		evs, err := Decode(buf[:n])
		if err != nil {
			panic(err)
		}
		for _, ev := range evs {
			types = append(types, ev.Type)
		}
	}
}

func newTestQueue(t testing.TB) *EventQueue {
	t.Helper()
	q, err := NewEventQueue()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q
}

func TestEventQueueRingsOncePerBatch(t *testing.T) {
	q := newTestQueue(t)
	ctx := context.Background()
	for i := range 3 {
		if err := q.PushWait(ctx, encodeWritable(uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	if !rang(t, q) || rang(t, q) {
		t.Fatal("three events should ring the doorbell exactly once")
	}
	if got := drainAll(q, 4096); len(got) != 3 {
		t.Fatalf("drained %d events, want 3", len(got))
	}
	_ = q.PushControl(encodeStopped())
	if !rang(t, q) {
		t.Fatal("the first event after a drain did not ring")
	}
}

func TestEventQueueRingsAgainForEventsLeftBehind(t *testing.T) {
	q := newTestQueue(t)
	for i := range 3 {
		_ = q.PushControl(encodeWritable(uint64(i)))
	}
	if !rang(t, q) {
		t.Fatal("no ring for the first event")
	}
	one := len(encodeWritable(0))
	buf := make([]byte, 2*one)
	if n, _ := q.Drain(buf); n != 2*one {
		t.Fatalf("drained %d bytes, want two events (%d)", n, 2*one)
	}
	if !rang(t, q) {
		t.Fatal("a drain that left an event behind did not ring again")
	}
	if n, _ := q.Drain(buf); n != one {
		t.Fatalf("drained %d bytes, want the last event (%d)", n, one)
	}
	if rang(t, q) {
		t.Fatal("a drain that emptied the queue rang")
	}
}

func TestEventQueueDrainReportsTheSizeItNeeds(t *testing.T) {
	q := newTestQueue(t)
	big := encodeBodyChunk(1, make([]byte, 1000))
	_ = q.PushControl(encodeWritable(1))
	_ = q.PushControl(big)
	buf := make([]byte, 100)
	if n, need := q.Drain(buf); n == 0 || need != 0 {
		t.Fatalf("first drain: n=%d need=%d, want the small event", n, need)
	}
	if n, need := q.Drain(buf); n != 0 || need != len(big) {
		t.Fatalf("second drain: n=%d need=%d, want 0 and %d", n, need, len(big))
	}
	if q.NextSize() != len(big) || len(drainAll(q, len(big))) != 1 || q.Len() != 0 {
		t.Fatal("the large event did not drain with a large enough buffer")
	}
}

func TestEventQueueBoundsAndWaiters(t *testing.T) {
	q := newTestQueue(t)
	q.maxEvents = 2
	ctx := context.Background()
	_ = q.PushWait(ctx, encodeWritable(1))
	_ = q.PushWait(ctx, encodeWritable(2))
	if err := q.TryPush(encodeWritable(3)); !errors.Is(err, ErrQueueFull) || q.Dropped() != 1 {
		t.Fatalf("TryPush on a full queue: %v, dropped %d", err, q.Dropped())
	}
	if err := q.PushControl(encodeStopped()); err != nil {
		t.Fatalf("PushControl must pass the bound: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := q.PushWait(short, encodeWritable(4)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PushWait on a full queue: %v, want the context's deadline", err)
	}
	pushed := make(chan error)
	go func() { pushed <- q.PushWait(ctx, encodeWritable(5)) }()
	time.Sleep(10 * time.Millisecond)
	drainAll(q, 4096)
	select {
	case err := <-pushed:
		if err != nil {
			t.Fatalf("PushWait after a drain freed room: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a drain did not wake a waiting producer")
	}
	for q.Len() < q.maxEvents { // full again (the drain may also have taken 5)
		_ = q.PushControl(encodeWritable(6))
	}
	go func() { pushed <- q.PushWait(ctx, encodeWritable(7)) }()
	time.Sleep(10 * time.Millisecond)
	q.Close()
	select {
	case err := <-pushed:
		if !errors.Is(err, server.ErrClosed) {
			t.Fatalf("a waiter when the queue closes: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake a waiting producer")
	}
}
