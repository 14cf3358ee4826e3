package bridge

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/zig-h3/h3bun/client/clienttest"
	"github.com/zig-h3/h3bun/internal/abi"
)

// Fetches in event-queue mode against the reference server: each ends in
// EventFetchEnd with the whole body, or in EventFetchError, never in a
// truncated success.
func TestClientFetchQueue(t *testing.T) {
	srv := refServer(t)
	c, ev := queueClient(t, ClientConfig{RequestTimeout: 3 * time.Second}, "", srv.Addr)
	if got := ev.typed(EventClientConnected); got.Handle != c.Handle {
		t.Fatalf("connected event of %#x", got.Handle)
	}
	const big = 4 << 20
	for _, tc := range []struct {
		name    string
		head    []string
		body    string
		status  uint32
		want    string // body; "" with size for /bytes
		size    int
		trailer string // x-checksum
		errCode int32  // 0: must end in EventFetchEnd
		app     uint32
	}{
		{name: "get", head: []string{"GET", "/"}, status: 200, want: "ok"},
		{name: "post echo", head: []string{"POST", "/echo", "content-type", "text/plain"}, body: "hello", status: 200, want: "hello"},
		{name: "head", head: []string{"HEAD", "/bytes?n=100"}, status: 200},
		{name: "no content", head: []string{"GET", "/status?code=204"}, status: 204},
		{name: "not found", head: []string{"GET", "/status?code=404"}, status: 404},
		{name: "trailers", head: []string{"GET", "/trailers"}, status: 200, want: "body", trailer: "abc"},
		{name: "4 MiB", head: []string{"GET", "/bytes?n=" + strconv.Itoa(big)}, status: 200, size: big},
		{name: "reset", head: []string{"GET", "/reset"}, errCode: abi.ErrClosed, app: uint32(clienttest.ResetCode)},
		{name: "short", head: []string{"GET", "/short"}, errCode: abi.ErrIO},
		{name: "long", head: []string{"GET", "/long"}, errCode: abi.ErrIO},
		{name: "timeout", head: []string{"GET", "/slow"}, errCode: abi.ErrTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := startFetch(t, c, tc.body != "", false, tc.head...)
			if tc.body != "" {
				if _, err := f.Write([]byte(tc.body), true); err != nil {
					t.Fatal(err)
				}
			}
			o := ev.finish(f)
			if tc.errCode != 0 {
				if o.last.Type != EventFetchError || o.last.ErrCode != tc.errCode || o.last.Code != tc.app {
					t.Fatalf("ended with %s, want error %d app %#x", describe([]Event{o.last}), tc.errCode, tc.app)
				}
				return
			}
			if o.last.Type != EventFetchEnd || o.head.Status != tc.status {
				t.Fatalf("events %v, status %d, last %s", o.events, o.head.Status, describe([]Event{o.last}))
			}
			if tc.size > 0 {
				checkPattern(t, o.body, tc.size)
			} else if string(o.body) != tc.want {
				t.Fatalf("body %q, want %q", o.body, tc.want)
			}
			if got := field(o.last.Trailer, "x-checksum"); got != tc.trailer {
				t.Errorf("trailer x-checksum %q, want %q", got, tc.trailer)
			}
			if tc.name == "post echo" && field(o.head.Header, "x-method") != "POST" {
				t.Errorf("head %v", o.head.Header)
			}
		})
	}
}

func checkPattern(t *testing.T, body []byte, size int) {
	t.Helper()
	if len(body) != size {
		t.Fatalf("body of %d bytes, want %d", len(body), size)
	}
	for i, b := range body {
		if b != clienttest.Pattern(i) {
			t.Fatalf("byte %d is %d, want %d", i, b, clienttest.Pattern(i))
		}
	}
}

// A 5 MB request body written at the pace of EventWritable arrives whole.
func TestClientFetchStreamedUpload(t *testing.T) {
	srv := refServer(t)
	c, ev := queueClient(t, ClientConfig{}, "", srv.Addr)
	const total = 5 << 20
	f := startFetch(t, c, true, false, "PUT", "/count", "content-length", strconv.Itoa(total))
	chunk := bytes.Repeat([]byte{7}, 100<<10)
	writable := 0
	for sent := 0; sent < total; {
		n := min(len(chunk), total-sent)
		pending, err := f.Write(chunk[:n], sent+n == total)
		if err != nil {
			t.Fatal(err)
		}
		sent += n
		if pending >= abi.ResponseHighWater && sent < total {
			ev.next(func(e Event) bool { return e.Handle == f.Handle && e.Type == EventWritable })
			writable++
		}
	}
	o := ev.finish(f)
	if o.last.Type != EventFetchEnd || string(o.body) != strconv.Itoa(total) {
		t.Fatalf("events %v, body %q", o.events, o.body)
	}
	if writable == 0 {
		t.Error("never paused for EventWritable")
	}
	if _, err := f.Write([]byte("x"), false); err == nil {
		t.Error("write after the end succeeded")
	}
}

// A body over its declared content-length, or short of it at fin, is
// refused at the write.
func TestClientFetchDeclaredLength(t *testing.T) {
	srv := refServer(t)
	c, ev := queueClient(t, ClientConfig{}, "", srv.Addr)
	f := startFetch(t, c, true, false, "POST", "/count", "content-length", "4")
	if _, err := f.Write([]byte("12345"), false); err == nil {
		t.Error("a write past the content-length succeeded")
	}
	if _, err := f.Write([]byte("12"), true); err == nil {
		t.Error("a fin short of the content-length succeeded")
	}
	if _, err := f.Write([]byte("1234"), true); err != nil {
		t.Fatal(err)
	}
	if o := ev.finish(f); o.last.Type != EventFetchEnd || string(o.body) != "4" {
		t.Fatalf("events %v body %q", o.events, o.body)
	}
}

// A cancelled fetch reports nothing more; its handle still takes acks.
func TestClientFetchCancel(t *testing.T) {
	srv := refServer(t)
	c, ev := queueClient(t, ClientConfig{}, "", srv.Addr)
	f := startFetch(t, c, false, false, "GET", "/slow")
	time.Sleep(50 * time.Millisecond)
	f.Cancel(0)
	ev.none(f.Handle, 300*time.Millisecond)
	if err := f.Ack(10); err != nil {
		t.Errorf("ack after cancel: %v", err)
	}
	g := startFetch(t, c, false, false, "GET", "/")
	if o := ev.finish(g); o.last.Type != EventFetchEnd {
		t.Fatalf("the connection did not survive the cancel: %v", o.events)
	}
}

func TestParseFetchHead(t *testing.T) {
	for _, tc := range []struct {
		name, block string
		ok          bool
	}{
		{"plain", "GET\x00/x?y=1\x00accept\x00text/plain\x00", true},
		{"options star", "OPTIONS\x00*\x00", true},
		{"star not options", "GET\x00*\x00", false},
		{"no final nul", "GET\x00/", false},
		{"odd fields", "GET\x00/\x00accept\x00", false},
		{"bad method", "G T\x00/\x00", false},
		{"connect", "CONNECT\x00/\x00", false},
		{"relative path", "GET\x00x\x00", false},
		{"space in path", "GET\x00/a b\x00", false},
		{"pseudo", "GET\x00/\x00:path\x00/x\x00", false},
		{"connection", "GET\x00/\x00connection\x00close\x00", false},
		{"transfer-encoding", "GET\x00/\x00transfer-encoding\x00chunked\x00", false},
		{"te trailers", "GET\x00/\x00te\x00trailers\x00", true},
		{"te gzip", "GET\x00/\x00te\x00gzip\x00", false},
		{"cr in value", "GET\x00/\x00x\x00a\rb\x00", false},
		{"bad name", "GET\x00/\x00a b\x00c\x00", false},
		{"two lengths", "POST\x00/\x00content-length\x001\x00content-length\x002\x00", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFetchHead([]byte(tc.block))
			if (err == nil) != tc.ok {
				t.Fatalf("error %v, want ok %v", err, tc.ok)
			}
		})
	}
}
