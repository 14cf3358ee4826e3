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

// Small pieces join the last copy while it has room: what the buffer holds
// stays near what it counts, whatever the pieces' size.
func TestSendBufferSmallPiecesShareACopy(t *testing.T) {
	var b Buffer
	for i := range 1000 {
		b.Add([]byte{byte(i)})
	}
	held := 0
	for _, c := range b.chunks {
		held += cap(c.Data)
	}
	if b.Pending() != 1000 || held > 2*1000+256 {
		t.Fatalf("1000 one-byte pieces: %d pending, %d bytes held in %d copies", b.Pending(), held, len(b.chunks))
	}
	var got []byte
	for _, c := range b.Take() {
		got = append(got, c.Data...)
		c.Release()
	}
	for i, v := range got {
		if v != byte(i) {
			t.Fatalf("byte %d is %d, want %d", i, v, byte(i))
		}
	}
	shared := []byte("static")
	b.AddShared(shared)
	b.Add([]byte("x")) // never into a shared chunk
	if c := b.Take(); len(c) != 2 || string(c[0].Data) != "static" || string(shared) != "static" {
		t.Fatalf("after a shared chunk: %d chunks, %q", len(c), c[0].Data)
	}
}
