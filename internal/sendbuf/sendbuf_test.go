package sendbuf

import "testing"

func TestSendBufferSignalsOnceBelowLowWater(t *testing.T) {
	var b Buffer
	chunk := make([]byte, 64<<10)
	for b.Pending() < HighWater {
		b.Add(chunk)
	}
	if !b.armed {
		t.Fatalf("not armed at %d pending", b.Pending())
	}
	chunk[0] = 1 // the buffer holds copies
	var fired int
	for _, c := range b.Take() {
		if c.Data[0] != 0 {
			t.Fatal("add kept the caller's slice")
		}
		if b.Written(len(c.Data)) {
			fired++
			if b.Pending() > LowWater {
				t.Fatalf("signal at %d pending, above the low-water mark", b.Pending())
			}
		}
		c.Release()
	}
	if fired != 1 || b.Pending() != 0 {
		t.Fatalf("fired %d times, %d pending; want 1 and 0", fired, b.Pending())
	}
	b.Add(nil)
	if len(b.chunks) != 0 {
		t.Fatal("an empty add recorded a chunk")
	}
}

func TestSendBufferResetReportsArmed(t *testing.T) {
	var b Buffer
	b.Add(make([]byte, 10))
	if b.Reset() {
		t.Fatal("reset of an unarmed buffer reported armed")
	}
	b.Add(make([]byte, HighWater))
	if !b.Reset() || b.Pending() != 0 || b.chunks != nil || b.armed {
		t.Fatalf("reset of an armed buffer: %+v", b)
	}
}
