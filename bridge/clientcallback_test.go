package bridge

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/zig-h3/h3bun/server"
)

// callbackClient is a client in callback mode connected to addr (Connect
// blocks until the connection is up).
func callbackClient(t *testing.T, cfg ClientConfig, addr string) *Client {
	t.Helper()
	c := NewClient(cfg)
	t.Cleanup(func() {
		if _, ok := Clients.Take(c.Handle); ok {
			c.Free()
		}
	})
	host, port := splitAddr(t, addr)
	if err := c.Connect(host, port, ""); err != nil {
		t.Fatal(err)
	}
	return c
}

// recorder keeps what a callback-mode fetch reported.
type recorder struct {
	mu     sync.Mutex
	types  []int
	data   []byte
	result *FetchResult
	done   chan struct{}
}

func newRecorder() *recorder { return &recorder{done: make(chan struct{})} }

func (r *recorder) options(o FetchOptions) FetchOptions {
	o.Event = func(ev *FetchEvent) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.types = append(r.types, ev.Type)
		if ev.Type == FetchEventData {
			r.data = append(r.data, ev.Data...)
		}
	}
	o.Done = func(res *FetchResult) {
		r.mu.Lock()
		r.result = &FetchResult{Status: res.Status, Header: res.Header, Trailer: res.Trailer,
			Body: append([]byte(nil), res.Body...), Err: res.Err}
		r.mu.Unlock()
		close(r.done)
	}
	return o
}

func (r *recorder) wait(t *testing.T) *FetchResult {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(eventWait):
		t.Fatal("the fetch did not end")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.result
}

func eventsEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Callback mode: the events come in order, the result once at the end;
// collected and streamed bodies, streamed request bodies, cancel.
func TestClientCallbackFetch(t *testing.T) {
	srv := refServer(t)
	c := callbackClient(t, ClientConfig{RequestTimeout: 3 * time.Second}, srv.Addr)
	get := func(path string) *FetchRequest { return &FetchRequest{Method: "GET", Path: path, ContentLength: -1} }
	for _, tc := range []struct {
		name   string
		r      *FetchRequest
		o      FetchOptions
		events []int
		status int
		body   string // collected body (or streamed, with StreamResponse)
	}{
		{"collect with trailers", get("/trailers"), FetchOptions{Collect: true},
			[]int{FetchEventStarted, FetchEventHeaders, FetchEventTrailers, FetchEventFinished}, 200, "body"},
		{"streamed", get("/bytes?n=3"), FetchOptions{StreamResponse: true},
			[]int{FetchEventStarted, FetchEventHeaders, FetchEventData, FetchEventFinished}, 200, "\x00\x01\x02"},
		{"post body", &FetchRequest{Method: "POST", Path: "/echo", ContentLength: -1}, FetchOptions{Body: []byte("abc"), Collect: true},
			[]int{FetchEventStarted, FetchEventHeaders, FetchEventFinished}, 200, "abc"},
		{"failed", get("/reset"), FetchOptions{Collect: true},
			[]int{FetchEventStarted, FetchEventHeaders, FetchEventFinished}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			if _, err := c.Fetch(tc.r, rec.options(tc.o)); err != nil {
				t.Fatal(err)
			}
			res := rec.wait(t)
			body := string(res.Body)
			if tc.o.StreamResponse {
				body = string(rec.data)
			}
			if res.Status != tc.status || body != tc.body || !eventsEqual(rec.types, tc.events) {
				t.Fatalf("status %d body %q events %v (err %v)", res.Status, body, rec.types, res.Err)
			}
			if tc.status == 0 && res.Err == nil {
				t.Error("a failed fetch without its error")
			}
		})
	}
}

// A streamed request body goes with Write (found by stream id); a cancel
// ends the fetch with status 0.
func TestClientCallbackStreamsAndCancel(t *testing.T) {
	srv := refServer(t)
	c := callbackClient(t, ClientConfig{}, srv.Addr)
	rec := newRecorder()
	f, err := c.Fetch(&FetchRequest{Method: "POST", Path: "/count", ContentLength: -1},
		rec.options(FetchOptions{StreamBody: true, Collect: true}))
	if err != nil {
		t.Fatal(err)
	}
	sid, ok := f.StreamID()
	if g, found := c.FetchByStream(sid); !ok || !found || g != f {
		t.Fatal("the fetch is not found by its stream id")
	}
	for range 10 {
		if _, err := f.Write(make([]byte, 1000), false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Write(nil, true); err != nil {
		t.Fatal(err)
	}
	if res := rec.wait(t); res.Status != 200 || string(res.Body) != strconv.Itoa(10000) {
		t.Fatalf("status %d body %q", res.Status, res.Body)
	}
	if _, found := c.FetchByStream(sid); found {
		t.Error("a finished fetch is still found by its stream id")
	}

	slow := newRecorder()
	g, err := c.Fetch(&FetchRequest{Method: "GET", Path: "/slow", ContentLength: -1}, slow.options(FetchOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	g.Cancel(0)
	if res := slow.wait(t); res.Status != 0 || res.Err == nil {
		t.Fatalf("cancelled fetch: status %d err %v", res.Status, res.Err)
	}
}

// Callback mode refuses what belongs to event-queue mode, and the reverse.
func TestClientModes(t *testing.T) {
	srv := refServer(t)
	c := callbackClient(t, ClientConfig{}, srv.Addr)
	r := &FetchRequest{Method: "GET", Path: "/", ContentLength: -1}
	if _, err := c.StartFetch(r, false, false); !errors.Is(err, server.ErrState) {
		t.Errorf("StartFetch in callback mode: %v", err)
	}
	if _, err := c.EventQueue(); !errors.Is(err, server.ErrState) {
		t.Errorf("EventQueue after a callback-mode connect: %v", err)
	}
	q, ev := queueClient(t, ClientConfig{}, "", srv.Addr)
	_ = ev
	if _, err := q.Fetch(r, FetchOptions{}); !errors.Is(err, server.ErrState) {
		t.Errorf("Fetch in event-queue mode: %v", err)
	}
	idle := NewClient(ClientConfig{})
	defer func() { Clients.Delete(idle.Handle); idle.Free() }()
	if _, err := idle.Fetch(r, FetchOptions{}); !errors.Is(err, server.ErrState) {
		t.Errorf("Fetch before connect: %v", err)
	}
}

// A client session in callback mode: connected, datagrams kept for
// ReceiveDatagram and reported, closed by the server with its code.
func TestClientCallbackWebTransport(t *testing.T) {
	srv := refServer(t)
	c := callbackClient(t, ClientConfig{EnableWebTransport: true}, srv.Addr)
	events := make(chan SessionEvent, 64)
	s, err := c.OpenWebTransport("/wt/close", func(_ *Session, ev *SessionEvent) {
		e := *ev
		e.Datagram = append([]byte(nil), ev.Datagram...)
		events <- e
	})
	if err != nil {
		t.Fatal(err)
	}
	next := func() SessionEvent {
		select {
		case ev := <-events:
			return ev
		case <-time.After(eventWait):
			t.Fatal("no session event")
			return SessionEvent{}
		}
	}
	if ev := next(); ev.Type != WTEventConnected || ev.Status != 200 {
		t.Fatalf("first event %+v", ev)
	}
	for {
		_ = s.SendDatagram([]byte("close"))
		ev := next()
		if ev.Type == WTEventClosed {
			if ev.Code != 42 || ev.Reason != "server bye" || !ev.Remote {
				t.Fatalf("closed %+v", ev)
			}
			break
		}
	}
	rejected, err := c.OpenWebTransport("/wt/reject", func(_ *Session, ev *SessionEvent) { events <- *ev })
	if err != nil {
		t.Fatal(err)
	}
	if ev := next(); ev.Type != WTEventConnectFailed || ev.Status != 403 {
		t.Fatalf("rejected session: %+v", ev)
	}
	if rejected.Established() {
		t.Error("a rejected session is established")
	}
}

// ReceiveDatagram keeps the datagrams of a callback-mode session (the
// echo server sends each back).
func TestClientSessionReceiveDatagram(t *testing.T) {
	srv := refServer(t)
	c := callbackClient(t, ClientConfig{EnableWebTransport: true}, srv.Addr)
	s, err := c.OpenWebTransport("/wt/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(eventWait)
	for !s.Established() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	for time.Now().Before(deadline) {
		_ = s.SendDatagram([]byte("kept"))
		time.Sleep(20 * time.Millisecond)
		if b, ok := s.ReceiveDatagram(); ok {
			if string(b) != "kept" {
				t.Fatalf("datagram %q", b)
			}
			return
		}
	}
	t.Fatal("no datagram kept")
}

// Freeing a callback-mode client tells each fetch and session how it ended
// before Free returns.
func TestClientCallbackFree(t *testing.T) {
	srv := refServer(t)
	c := callbackClient(t, ClientConfig{EnableWebTransport: true}, srv.Addr)
	rec := newRecorder()
	if _, err := c.Fetch(&FetchRequest{Method: "GET", Path: "/slow", ContentLength: -1}, rec.options(FetchOptions{})); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var last SessionEvent
	s, err := c.OpenWebTransport("/wt/echo", func(_ *Session, ev *SessionEvent) {
		mu.Lock()
		last = *ev
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(eventWait); !s.Established(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("not established")
		}
	}
	if _, ok := Clients.Take(c.Handle); !ok {
		t.Fatal("no handle")
	}
	c.Free()
	select {
	case <-rec.done:
	default:
		t.Fatal("Free returned before the fetch's end")
	}
	mu.Lock()
	defer mu.Unlock()
	if last.Type != WTEventClosed {
		t.Fatalf("the session's last event before Free returned: %+v", last)
	}
	if _, ok := Sessions.Get(s.Handle); ok {
		t.Error("the session's handle survived the client")
	}
}
