// Package eventqueuetest checks that a bridge.EventQueue behaves as its
// documentation says, whatever bridge.EventStore holds its events: the
// package's own store (bridge's tests) or the C face's (capi's tests).
package eventqueuetest

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zig-h3/h3bun/bridge"
	"github.com/zig-h3/h3bun/server"
)

// Run runs the checks on queues made by newQueue (with the default limits).
func Run(t *testing.T, newQueue func() (*bridge.EventQueue, error)) {
	mk := func(t *testing.T) *bridge.EventQueue {
		q, err := newQueue()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(q.Close)
		return q
	}
	for _, c := range []struct {
		name string
		f    func(*testing.T, *bridge.EventQueue)
	}{
		{"rings once per batch", ringsOncePerBatch},
		{"drain takes whole events in order", drainsWholeEventsInOrder},
		{"drain reports the size it needs", reportsSizeNeeded},
		{"bounds and waiters", boundsAndWaiters},
		{"producers and a consumer at once", concurrent},
	} {
		t.Run(c.name, func(t *testing.T) { c.f(t, mk(t)) })
	}
}

// event is a writable event carrying n, with extra payload bytes (a
// multiple of 8) after it.
func event(n uint64, extra int) []byte {
	b := make([]byte, 16+extra)
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	b[4] = bridge.EventWritable
	binary.LittleEndian.PutUint64(b[8:], n)
	return b
}

// numbers decodes drained bytes into the numbers their events carry.
func numbers(t *testing.T, b []byte) []uint64 {
	t.Helper()
	var out []uint64
	for len(b) > 0 {
		if len(b) < 16 {
			t.Fatalf("a drain left %d bytes of a partial event", len(b))
		}
		size := int(binary.LittleEndian.Uint32(b))
		if size < 16 || size > len(b) {
			t.Fatalf("a drained event claims %d of %d bytes", size, len(b))
		}
		out = append(out, binary.LittleEndian.Uint64(b[8:]))
		b = b[size:]
	}
	return out
}

// rang reads the doorbell without blocking and reports whether it had rung.
func rang(t *testing.T, q *bridge.EventQueue) bool {
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

func ringsOncePerBatch(t *testing.T, q *bridge.EventQueue) {
	for i := range 3 {
		if err := q.PushWait(context.Background(), event(uint64(i), 0)); err != nil {
			t.Fatal(err)
		}
	}
	if !rang(t, q) || rang(t, q) {
		t.Fatal("three pushes into an empty queue must ring exactly once")
	}
	buf := make([]byte, 4096)
	if n, _ := q.Drain(buf); len(numbers(t, buf[:n])) != 3 || rang(t, q) {
		t.Fatal("one drain takes the batch, without ringing again")
	}
	_ = q.TryPush(event(4, 0))
	if !rang(t, q) {
		t.Fatal("a push into the emptied queue must ring")
	}
}

func drainsWholeEventsInOrder(t *testing.T, q *bridge.EventQueue) {
	for i := range 10 {
		_ = q.PushControl(event(uint64(i), 8*i))
	}
	rang(t, q)
	var got []uint64
	buf := make([]byte, 100) // holds a few events at a time
	for range 20 {
		n, need := q.Drain(buf)
		if n == 0 {
			if need != 0 {
				t.Fatalf("drain needs %d bytes with a 100-byte buffer", need)
			}
			break
		}
		if q.Len() > 0 && !rang(t, q) {
			t.Fatal("a drain that leaves events must ring again")
		}
		got = append(got, numbers(t, buf[:n])...)
	}
	for i, n := range got {
		if n != uint64(i) {
			t.Fatalf("drained %v, want 0..9 in order", got)
		}
	}
	if len(got) != 10 || q.Len() != 0 || q.NextSize() != 0 {
		t.Fatalf("drained %d of 10; %d left", len(got), q.Len())
	}
}

func reportsSizeNeeded(t *testing.T, q *bridge.EventQueue) {
	big := event(2, 1000)
	_ = q.PushControl(event(1, 0))
	_ = q.PushControl(big)
	buf := make([]byte, 100)
	if n, need := q.Drain(buf); n != 16 || need != 0 {
		t.Fatalf("first drain: n=%d need=%d, want the small event", n, need)
	}
	if n, need := q.Drain(buf); n != 0 || need != len(big) {
		t.Fatalf("second drain: n=%d need=%d, want 0 and %d", n, need, len(big))
	}
	if q.NextSize() != len(big) || q.Len() != 1 {
		t.Fatalf("NextSize %d, Len %d, want %d and 1", q.NextSize(), q.Len(), len(big))
	}
	big2 := make([]byte, len(big))
	if n, _ := q.Drain(big2); n != len(big) || q.Len() != 0 {
		t.Fatal("the large event did not drain with a large enough buffer")
	}
}

func fill(q *bridge.EventQueue) {
	for i := q.Len(); i < bridge.DefaultQueueEvents; i++ {
		_ = q.PushControl(event(uint64(i), 0))
	}
}

func boundsAndWaiters(t *testing.T, q *bridge.EventQueue) {
	ctx := context.Background()
	fill(q)
	if err := q.TryPush(event(1, 0)); !errors.Is(err, bridge.ErrQueueFull) || q.Dropped() != 1 {
		t.Fatalf("TryPush on a full queue: %v, dropped %d", err, q.Dropped())
	}
	if err := q.PushControl(event(2, 0)); err != nil {
		t.Fatalf("PushControl must pass the bound: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := q.PushWait(short, event(3, 0)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PushWait on a full queue: %v, want the context's deadline", err)
	}
	pushed := make(chan error)
	go func() { pushed <- q.PushWait(ctx, event(4, 0)) }()
	time.Sleep(10 * time.Millisecond)
	buf := make([]byte, 1<<20)
	for n, _ := q.Drain(buf); n > 0; n, _ = q.Drain(buf) {
	}
	select {
	case err := <-pushed:
		if err != nil {
			t.Fatalf("PushWait after a drain freed room: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a drain did not wake a waiting producer")
	}
	fill(q)
	go func() { pushed <- q.PushWait(ctx, event(5, 0)) }()
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
	if n, _ := q.Drain(buf); n != 0 || q.Len() != 0 {
		t.Fatal("a closed queue still drains")
	}
}

// concurrent runs 4 producers of 20,000 events each (more than the queue
// holds; small ones, and some of 64 KiB and 200 KB) against one consumer:
// every event arrives once, each producer's in order.
func concurrent(t *testing.T, q *bridge.EventQueue) {
	const producers, each = 4, 20000
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				extra := 8 * (i % 4)
				switch {
				case i%5000 == 0:
					extra = 200000 // larger than any block class of the C store
				case i%1000 == 0:
					extra = 65536 // a full body chunk
				}
				if err := q.PushWait(context.Background(), event(uint64(p)<<32|uint64(i), extra)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	next := make([]uint64, producers)
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(20 * time.Second)
	for got := 0; got < producers*each && time.Now().Before(deadline); {
		n, _ := q.Drain(buf)
		if n == 0 {
			time.Sleep(50 * time.Microsecond)
			continue
		}
		for _, v := range numbers(t, buf[:n]) {
			p, i := v>>32, v&0xffffffff
			if p >= producers || i != next[p] {
				t.Fatalf("producer %d: event %d arrived, want %d", p, i, next[p])
			}
			next[p]++
			got++
		}
	}
	wg.Wait()
	for p, n := range next {
		if n != each {
			t.Errorf("producer %d: %d of %d events arrived", p, n, each)
		}
	}
}
