package bridge

import (
	"runtime"
	"testing"
	"time"
)

// goroutinesSettle waits (bounded) for the goroutine count to drop to at
// most want, and returns the last count.
func goroutinesSettle(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(8 * time.Second); n > want && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// Finished fetches, sessions and freed clients leave no goroutine behind.
func TestClientNoGoroutineLeak(t *testing.T) {
	srv := refServer(t)
	for _, tc := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{name: "queue fetches", run: func(t *testing.T) {
			c, ev := queueClient(t, ClientConfig{EnableDatagrams: true}, "", srv.Addr)
			ev.typed(EventClientConnected)
			for i := range 30 {
				switch i % 5 {
				case 0:
					ev.finish(startFetch(t, c, false, false, "GET", "/"))
				case 1:
					ev.finish(startFetch(t, c, false, false, "GET", "/reset"))
				case 2:
					f := startFetch(t, c, false, false, "GET", "/slow")
					f.Cancel(0)
				case 3:
					f := startFetch(t, c, true, false, "POST", "/echo")
					if _, err := f.Write([]byte("x"), true); err != nil {
						t.Fatal(err)
					}
					ev.finish(f)
				case 4:
					ev.finish(startFetch(t, c, false, true, "GET", "/"))
				}
			}
			Clients.Take(c.Handle)
			c.Free()
		}},
		{name: "callback fetches", run: func(t *testing.T) {
			c := callbackClient(t, ClientConfig{}, srv.Addr)
			for range 20 {
				rec := newRecorder()
				if _, err := c.Fetch(&FetchRequest{Method: "GET", Path: "/", ContentLength: -1}, rec.options(FetchOptions{Collect: true})); err != nil {
					t.Fatal(err)
				}
				rec.wait(t)
			}
			Clients.Take(c.Handle)
			c.Free()
		}},
		{name: "sessions", run: func(t *testing.T) {
			for range 5 { // the reference server takes one session per connection at a time
				c, ev := wtClient(t, srv.Addr)
				s, first := openSession(t, c, ev, "/wt/echo")
				if first.Type != EventSessionReady {
					t.Fatalf("first event %s", describe([]Event{first}))
				}
				if _, err := s.OpenStream(true); err != nil {
					t.Fatal(err)
				}
				if err := s.Close(0, ""); err != nil {
					t.Fatal(err)
				}
				ev.of(s.Handle)
				if _, ok := Sessions.Take(s.Handle); ok {
					s.Free()
				}
				Clients.Take(c.Handle)
				c.Free()
			}
		}},
		{name: "clients", run: func(t *testing.T) {
			for range 10 {
				c, ev := queueClient(t, ClientConfig{}, "", srv.Addr)
				ev.typed(EventClientConnected)
				ev.finish(startFetch(t, c, false, false, "GET", "/"))
				if err := c.Close(0, ""); err != nil {
					t.Fatal(err)
				}
				ev.typed(EventClientClosed)
				Clients.Take(c.Handle)
				c.Free()
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			time.Sleep(100 * time.Millisecond)
			before := runtime.NumGoroutine()
			tc.run(t)
			if after := goroutinesSettle(before); after > before {
				buf := make([]byte, 1<<20)
				n := runtime.Stack(buf, true)
				t.Fatalf("%d goroutines before, %d after:\n%s", before, after, buf[:n])
			}
		})
	}
}
