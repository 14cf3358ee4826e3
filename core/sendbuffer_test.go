package core

import "testing"

func TestSendBufferSignalsOnceBelowLowWater(t *testing.T) {
	var b sendBuffer
	chunk := make([]byte, 64<<10)
	for b.pending < ResponseHighWater {
		b.add(chunk)
	}
	if !b.armed {
		t.Fatalf("not armed at %d pending", b.pending)
	}
	chunk[0] = 1 // the buffer holds copies
	var fired int
	for _, c := range b.take() {
		if c[0] != 0 {
			t.Fatal("add kept the caller's slice")
		}
		if b.written(len(c)) {
			fired++
			if b.pending > ResponseLowWater {
				t.Fatalf("signal at %d pending, above the low-water mark", b.pending)
			}
		}
	}
	if fired != 1 || b.pending != 0 {
		t.Fatalf("fired %d times, %d pending; want 1 and 0", fired, b.pending)
	}
	b.add(nil)
	if len(b.chunks) != 0 {
		t.Fatal("an empty add recorded a chunk")
	}
}

func TestSendBufferResetReportsArmed(t *testing.T) {
	var b sendBuffer
	b.add(make([]byte, 10))
	if b.reset() {
		t.Fatal("reset of an unarmed buffer reported armed")
	}
	b.add(make([]byte, ResponseHighWater))
	if !b.reset() || b.pending != 0 || b.chunks != nil || b.armed {
		t.Fatalf("reset of an armed buffer: %+v", b)
	}
}
