package bufpool

import "testing"

func TestClasses(t *testing.T) {
	for _, tc := range []struct{ size, want int }{
		{0, Min},
		{1, Min},
		{Min, Min},
		{Min + 1, 2 * Min},
		{64<<10 + 24, 128 << 10},
		{Max, Max},
	} {
		b := Get(tc.size)
		if len(b) != 0 || cap(b) != tc.want {
			t.Errorf("Get(%d): len %d cap %d, want 0 and %d", tc.size, len(b), cap(b), tc.want)
		}
	}
	if b := Get(Max + 1); cap(b) != Max+1 {
		t.Errorf("past the largest class: cap %d, want exactly the size", cap(b))
	}
}

// A free buffer goes to the largest class it can fill, never a larger one.
func TestPutClasses(t *testing.T) {
	for _, tc := range []struct{ cap, class int }{
		{0, -1}, {Min - 1, -1}, {Min, 0}, {300, 0}, {2*Min - 1, 0},
		{2 * Min, 1}, {Max - 1, len(pools) - 2}, {Max, len(pools) - 1}, {Max + 1, -1},
	} {
		if c := putClass(tc.cap); c != tc.class || c >= 0 && Min<<c > tc.cap {
			t.Errorf("putClass(%d) = %d, want %d", tc.cap, c, tc.class)
		}
	}
	Put(nil) // nothing to keep, no panic
}
