package bridge

import (
	"sync/atomic"
	"testing"
	"time"
)

// callbackWatch counts the calls of a callback running now, and those
// that began after the object they report was freed.
type callbackWatch struct {
	running, late atomic.Int32
	calls         atomic.Int32
	freed         atomic.Bool
}

// call is the body of the watched callback: it takes a while, as a
// consumer's work does.
func (w *callbackWatch) call() {
	if w.freed.Load() {
		w.late.Add(1)
	}
	w.running.Add(1)
	w.calls.Add(1)
	time.Sleep(5 * time.Millisecond)
	w.running.Add(-1)
}

// check frees with free once calls are coming, then checks that no call
// runs once free returned.
func (w *callbackWatch) check(t *testing.T, send func(), free func()) {
	t.Helper()
	for deadline := time.Now().Add(eventWait); w.calls.Load() < 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no callbacks")
		}
		send()
	}
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() { // datagrams keep coming while free runs
		defer close(sent)
		for {
			select {
			case <-stop:
				return
			default:
				send()
				time.Sleep(200 * time.Microsecond)
			}
		}
	}()
	time.Sleep(20 * time.Millisecond)
	free()
	w.freed.Store(true)
	running := w.running.Load()
	close(stop)
	<-sent
	time.Sleep(100 * time.Millisecond)
	if running != 0 || w.late.Load() != 0 {
		t.Fatalf("after free returned: %d callbacks running, %d began", running, w.late.Load())
	}
}

// Freeing a callback-mode session waits for its callbacks: none runs once
// zig_h3_wt_session_free returned (the consumer frees its user data then).
func TestClientSessionFreeStopsCallbacks(t *testing.T) {
	srv := refServer(t)
	c := callbackClient(t, ClientConfig{EnableWebTransport: true}, srv.Addr)
	var w callbackWatch
	s, err := c.OpenWebTransport("/wt/echo", func(_ *Session, ev *SessionEvent) {
		if ev.Type == WTEventDatagram {
			w.call()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	w.check(t, func() { _ = s.SendDatagram([]byte("dg")) }, func() {
		if _, ok := Sessions.Take(s.Handle); !ok {
			t.Fatal("no handle")
		}
		s.Free()
	})
}

// Freeing a callback-mode client waits for its datagram callback: none
// runs once zig_h3_client_free returned.
func TestClientFreeStopsDatagramCallbacks(t *testing.T) {
	srv := refServer(t)
	c := callbackClient(t, ClientConfig{EnableDatagrams: true}, srv.Addr)
	var w callbackWatch
	c.SetDatagramHandler(func(uint64, []byte) { w.call() })
	f, err := c.Fetch(&FetchRequest{Method: "POST", Path: "/h3dg/echo", ContentLength: -1},
		FetchOptions{StreamBody: true})
	if err != nil {
		t.Fatal(err)
	}
	w.check(t, func() { _ = f.SendDatagram([]byte("dg")) }, func() {
		if _, ok := Clients.Take(c.Handle); !ok {
			t.Fatal("no handle")
		}
		c.Free()
	})
}
