package core

import (
	"bytes"
	"testing"
)

func TestEventBufClasses(t *testing.T) {
	for _, tc := range []struct{ size, want int }{
		{0, minEventBuf},
		{1, minEventBuf},
		{minEventBuf, minEventBuf},
		{minEventBuf + 1, 2 * minEventBuf},
		{64<<10 + 24, 128 << 10},
		{maxEventBuf, maxEventBuf},
	} {
		b := getEventBuf(tc.size)
		if len(b) != 0 || cap(b) != tc.want {
			t.Errorf("getEventBuf(%d): len %d cap %d, want 0 and %d", tc.size, len(b), cap(b), tc.want)
		}
	}
	if b := getEventBuf(maxEventBuf + 1); cap(b) != maxEventBuf+1 {
		t.Errorf("past the largest class: cap %d, want exactly the size", cap(b))
	}
}

// Events are encoded from recycled buffers: nothing of a previous event
// may show through, and a drained buffer is used again.
func TestEventBufRecycledThroughQueue(t *testing.T) {
	q, err := NewEventQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	dst := make([]byte, 1<<20)
	for i := range 100 {
		big := bytes.Repeat([]byte{0xff}, 300)
		if err := q.PushControl(encodeBodyChunk(1, big)); err != nil {
			t.Fatal(err)
		}
		// A smaller event of the same class after it: the header and
		// padding must be written, not left over from the big one.
		want := encodeWritable(uint64(i))
		wantCopy := append([]byte(nil), want...)
		if err := q.PushControl(want); err != nil {
			t.Fatal(err)
		}
		n, _ := q.Drain(dst)
		got := dst[n-len(wantCopy) : n]
		if !bytes.Equal(got, wantCopy) {
			t.Fatalf("round %d: drained %x, want %x", i, got, wantCopy)
		}
	}
}

func TestPutEventBufIgnoresOddSizes(t *testing.T) {
	putEventBuf(make([]byte, 0, 300))           // not a class size
	putEventBuf(make([]byte, 0, 2*maxEventBuf)) // beyond the classes
	putEventBuf(nil)
	if b := getEventBuf(300); cap(b) != 512 {
		t.Fatalf("cap %d, want 512", cap(b))
	}
}

func BenchmarkEncodeBodyChunk(b *testing.B) {
	q, err := NewEventQueue()
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	data := make([]byte, 8<<10)
	dst := make([]byte, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		_ = q.PushControl(encodeBodyChunk(1, data))
		q.Drain(dst)
	}
}
