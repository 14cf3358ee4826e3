package bridge

import (
	"bytes"
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/zig-h3/h3bun/internal/bufpool"
)

// A recycled buffer's old bytes never show through an event encoded into
// it: the header's unused bytes and the padding are written.
func TestEventBufOldBytesDoNotShow(t *testing.T) {
	want := make([]byte, 24) // EventAbort: header, u64 id, u32 reason, 4 bytes of padding
	binary.LittleEndian.PutUint32(want[0:], 24)
	want[4] = EventAbort
	binary.LittleEndian.PutUint64(want[8:], 42)
	binary.LittleEndian.PutUint32(want[16:], AbortTimeout)
	reused := 0
	for range 20 {
		dirty := getEventBuf(bufpool.Min)[:bufpool.Min]
		for i := range dirty {
			dirty[i] = 0xff
		}
		putEventBuf(dirty)
		ev := encodeAbort(42, AbortTimeout)
		if unsafe.SliceData(ev) == unsafe.SliceData(dirty) {
			reused++
		}
		if !bytes.Equal(ev, want) {
			t.Fatalf("encoded %x, want %x", ev, want)
		}
		putEventBuf(ev)
	}
	if reused == 0 {
		t.Fatal("the pool never handed the dirty buffer back: nothing was checked")
	}
}

// Events of many sizes (classes) go through a queue intact, one after
// another through the same recycled buffers.
func TestEventBufQueueRoundTrip(t *testing.T) {
	q := newTestQueue(t)
	dst := make([]byte, 1<<20)
	for i := range 100 {
		payload := bytes.Repeat([]byte{byte(i)}, 100+i*37)
		if err := q.PushControl(encodeBodyChunk(uint64(i), payload)); err != nil {
			t.Fatal(err)
		}
		n, _ := q.Drain(dst)
		if n < 20+len(payload) || !bytes.Equal(dst[20:20+len(payload)], payload) ||
			binary.LittleEndian.Uint64(dst[8:]) != uint64(i) || int(binary.LittleEndian.Uint32(dst[16:])) != len(payload) {
			t.Fatalf("round %d: drained %x", i, dst[:n])
		}
	}
}

func BenchmarkEncodeBodyChunk(b *testing.B) {
	q := newTestQueue(b)
	data := make([]byte, 8<<10)
	dst := make([]byte, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		_ = q.PushControl(encodeBodyChunk(1, data))
		q.Drain(dst)
	}
}
