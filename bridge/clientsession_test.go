package bridge

import (
	"errors"
	"testing"
	"time"

	"github.com/zig-h3/h3bun/internal/abi"
	"github.com/zig-h3/h3bun/server"
)

// wtClient is a queue-mode client with WebTransport, connected to srv.
func wtClient(t *testing.T, addr string) (*Client, *clientEvents) {
	t.Helper()
	c, ev := queueClient(t, ClientConfig{EnableWebTransport: true}, "", addr)
	ev.typed(EventClientConnected)
	return c, ev
}

// openSession opens a session at path and waits for its first event.
func openSession(t *testing.T, c *Client, ev *clientEvents, path string) (*Session, Event) {
	t.Helper()
	s, err := c.OpenWebTransport(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, ev.of(s.Handle)
}

// streamEvents reads the events of stream h until its end: the data and
// how it ended.
func streamEvents(t *testing.T, ev *clientEvents, st *Stream) (string, Event) {
	t.Helper()
	var data []byte
	for {
		e := ev.of(st.Handle)
		switch e.Type {
		case EventStreamData:
			data = append(data, e.Data...)
			if err := st.AckData(len(e.Data)); err != nil {
				t.Fatal(err)
			}
		case EventStreamEnd:
			return string(data), e
		}
	}
}

// A WebTransport session in event-queue mode against the reference
// server: datagrams, bidirectional and unidirectional streams both ways,
// and a fetch on the same connection.
func TestClientWebTransportEcho(t *testing.T) {
	srv := refServer(t)
	c, ev := wtClient(t, srv.Addr)
	s, first := openSession(t, c, ev, "/wt/echo")
	if first.Type != EventSessionReady || !s.Established() {
		t.Fatalf("first event %s", describe([]Event{first}))
	}
	if sid, ok := s.StreamID(); !ok || sid%4 != 0 {
		t.Errorf("stream id %d %v", sid, ok)
	}
	if got := echoDatagram(t, ev, s.Handle, EventSessionDgram, s.SendDatagram); got != "dg" {
		t.Fatalf("datagram echo %q", got)
	}
	bidi, err := s.OpenStream(true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bidi.Send([]byte("ping"), true); err != nil {
		t.Fatal(err)
	}
	if data, end := streamEvents(t, ev, bidi); data != "ping" || end.Flag {
		t.Fatalf("bidi echo %q, end %s", data, describe([]Event{end}))
	}
	uni, err := s.OpenStream(false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uni.Send([]byte("uni"), true); err != nil {
		t.Fatal(err)
	}
	opened := ev.next(func(e Event) bool { return e.Type == EventStreamOpened && e.Handle == s.Handle })
	back, ok := Streams.Get(opened.Stream)
	if !ok || opened.Flag {
		t.Fatalf("opened %s", describe([]Event{opened}))
	}
	if data, _ := streamEvents(t, ev, back); data != "uni" {
		t.Fatalf("uni echo %q", data)
	}
	f := startFetch(t, c, false, false, "GET", "/")
	if o := ev.finish(f); o.last.Type != EventFetchEnd || string(o.body) != "ok" {
		t.Fatalf("fetch beside the session: %v %q", o.events, o.body)
	}
	if err := s.Accept(); !errors.Is(err, server.ErrState) {
		t.Errorf("accept on a client session: %v", err)
	}
}

// Close codes and reasons travel both ways; a refused session ends with
// its status and no EventSessionReady.
func TestClientWebTransportClose(t *testing.T) {
	srv := refServer(t)
	c, ev := wtClient(t, srv.Addr)

	s, first := openSession(t, c, ev, "/wt/close")
	if first.Type != EventSessionReady {
		t.Fatalf("first event %s", describe([]Event{first}))
	}
	if err := s.Close(7, "client bye"); err != nil {
		t.Fatal(err)
	}
	select {
	case se := <-srv.ClientCloses:
		if se.ErrorCode != 7 || se.Message != "client bye" {
			t.Fatalf("the server saw %d %q", se.ErrorCode, se.Message)
		}
	case <-time.After(eventWait):
		t.Fatal("the server saw no close")
	}
	if closed := ev.of(s.Handle); closed.Type != EventSessionClosed || closed.Code != 7 {
		t.Fatalf("closed %s", describe([]Event{closed}))
	}
	if s.Established() {
		t.Error("established after close")
	}

	s2, _ := openSession(t, c, ev, "/wt/close")
	for {
		_ = s2.SendDatagram([]byte("close"))
		time.Sleep(20 * time.Millisecond)
		if !s2.Established() {
			break
		}
	}
	if closed := ev.of(s2.Handle); closed.Type != EventSessionClosed || closed.Code != 42 || string(closed.Data) != "server bye" {
		t.Fatalf("server close %s", describe([]Event{closed}))
	}

	s3, first := openSession(t, c, ev, "/wt/reject")
	if first.Type != EventSessionClosed || first.Code != 403 {
		t.Fatalf("rejected session %s", describe([]Event{first}))
	}
	if err := s3.Close(0, ""); !errors.Is(err, server.ErrClosed) {
		t.Errorf("close of a refused session: %v", err)
	}
}

// A freed session reports nothing more and its handle is gone.
func TestClientWebTransportFree(t *testing.T) {
	srv := refServer(t)
	c, ev := wtClient(t, srv.Addr)
	s, _ := openSession(t, c, ev, "/wt/echo")
	if _, ok := Sessions.Take(s.Handle); !ok {
		t.Fatal("no handle")
	}
	s.Free()
	ev.none(s.Handle, 200*time.Millisecond)
	if _, ok := Sessions.Get(s.Handle); ok {
		t.Error("the handle survived the free")
	}
}

// A session whose connection goes away without a close capsule ends with
// EventSessionAborted (W3C: closed rejects), not EventSessionClosed.
func TestClientWebTransportConnectionLost(t *testing.T) {
	srv := refServer(t)
	c, ev := wtClient(t, srv.Addr)
	s, first := openSession(t, c, ev, "/wt/echo")
	if first.Type != EventSessionReady {
		t.Fatalf("first event %s", describe([]Event{first}))
	}
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	_ = conn.qconn.CloseWithError(0x10c, "gone") // no capsule: the connection just ends
	if got := ev.of(s.Handle); got.Type != EventSessionAborted || got.ErrCode != abi.ErrClosed || got.Code != 0x10c {
		t.Fatalf("the session ended with %s, want an abort (CLOSED, app code 0x10c)", describe([]Event{got}))
	}
}
