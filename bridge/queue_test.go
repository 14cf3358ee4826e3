package bridge

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/zig-h3/h3bun/server"
)

func TestQueueStreamingBodyRespectsWindow(t *testing.T) {
	q, c, base := startStreamingQueue(t, "/up")

	const total = 4 << 20
	body := bytes.Repeat([]byte{0xab}, total)
	done := make(chan string, 1)
	go func() {
		resp, err := c.Post(base+"/up", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		done <- string(b)
	}()

	r := newBodyReader(q)
	delivered, acked := 0, 0
	sum := sha256.New()
	drain := func() (ended bool) {
		return r.drain(func(b []byte) {
			sum.Write(b)
			delivered += len(b)
		})
	}
	// Without acknowledgements, delivery stops at the window.
	deadline := time.Now().Add(5 * time.Second)
	for delivered < BodyWindow && time.Now().Before(deadline) {
		drain()
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	drain()
	if delivered != BodyWindow {
		t.Fatalf("delivered %d bytes without acks, want exactly the window %d", delivered, BodyWindow)
	}
	res := r.open(t)
	for ended := false; !ended; {
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatalf("body did not end: %d of %d", delivered, total)
		}
		if delivered > acked {
			res.AckBody(delivered - acked)
			acked = delivered
		}
		ended = drain()
		if delivered-acked > BodyWindow {
			t.Fatalf("window exceeded: %d unacknowledged", delivered-acked)
		}
		time.Sleep(time.Millisecond)
	}
	if delivered != total || !bytes.Equal(sum.Sum(nil), sha256Sum(body)) {
		t.Fatalf("got %d bytes, checksum match %v", delivered, bytes.Equal(sum.Sum(nil), sha256Sum(body)))
	}
	res.Respond(200, nil, []byte("ok"), true)
	if got := <-done; got != "ok" {
		t.Fatalf("client: %q", got)
	}
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// startStreamingQueue starts a server whose one route, POST pattern, hands
// requests and their streaming bodies to its event queue.
func startStreamingQueue(t *testing.T, pattern string) (*EventQueue, *http.Client, string) {
	t.Helper()
	return startQueue(t, server.Config{}, `{"routes":[{"method":"POST","pattern":"`+pattern+`","tag":7,"streaming":true}]}`)
}

// bodyReader drains the request and body events of a startStreamingQueue
// server: id is the response of the last request event.
type bodyReader struct {
	q   *EventQueue
	buf []byte
	id  uint64
}

func newBodyReader(q *EventQueue) *bodyReader { return &bodyReader{q: q, buf: make([]byte, 1<<20)} }

// open returns the response of the last request event drained, which must
// still be open.
func (r *bodyReader) open(t *testing.T) *Response {
	t.Helper()
	res, ok := Responses.Get(r.id)
	if !ok {
		t.Fatalf("no open response for request %d", r.id)
	}
	return res
}

// drain takes what is queued, passing each body chunk to chunk; it reports
// whether the body ended.
func (r *bodyReader) drain(chunk func([]byte)) (ended bool) {
	n, _ := r.q.Drain(r.buf)
	evs, err := Decode(r.buf[:n])
	if err != nil {
		panic(err)
	}
	for _, ev := range evs {
		switch ev.Type {
		case EventRequest:
			r.id = ev.Handle
		case EventBodyChunk:
			chunk(ev.Data)
		case EventBodyEnd:
			ended = true
		}
	}
	return ended
}

// A consumer that answers without reading the body, after the whole credit
// window was delivered: the pump waits for credit that never comes, and
// the response must still go out (it used to wait until the client gave up).
func TestQueueAnswerWithoutReadingAFullWindow(t *testing.T) {
	q, c, base := startStreamingQueue(t, "/deny")

	status := make(chan int, 1)
	go func() {
		resp, err := c.Post(base+"/deny", "application/octet-stream", bytes.NewReader(make([]byte, 8<<20)))
		if err != nil {
			status <- -1
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()

	r := newBodyReader(q)
	delivered := 0
	for deadline := time.Now().Add(5 * time.Second); delivered < BodyWindow; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d body bytes delivered", delivered)
		}
		r.drain(func(b []byte) { delivered += len(b) })
	}
	res := r.open(t)
	if err := res.Respond(401, nil, []byte("no"), true); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-status:
		if got != 401 {
			t.Fatalf("status %d, want 401", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the 401 never reached the client: the response waited for the body pump")
	}
}
