package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// streamingFunc is a streaming-route handler for tests.
type streamingFunc func(req *Request, res *Response)

func (f streamingFunc) ServeRequest(req *Request, res *Response) { f(req, res) }
func (streamingFunc) StreamsBody() bool                          { return true }

func TestStreamingBodyFullDuplexEcho(t *testing.T) {
	s, c, base := startServer(t, Config{MaxRequestBodySize: 1000}, nil)
	_ = s
	var b RouterBuilder[Handler]
	b.Add("POST", "/echo", streamingFunc(func(req *Request, res *Response) {
		res.DeferEnd()
		req.GoBody(func() {
			buf := make([]byte, 16<<10)
			for {
				n, err := req.ReadBody(buf)
				if n > 0 {
					res.Write(buf[:n])
				}
				if err != nil {
					res.SendTrailers([]HeaderField{{"x-got-trailer", headerValue(req.Trailers(), "x-client-sum")}})
					return
				}
			}
		})
	}))
	s.SetRoutes(NewRoutes(&b, nil))

	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", base+"/echo", pr)
	req.Trailer = http.Header{"X-Client-Sum": nil}
	respc := make(chan *http.Response, 1)
	go func() {
		resp, err := c.Do(req)
		if err != nil {
			t.Error(err)
			close(respc)
			return
		}
		respc <- resp
	}()
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB, over the buffered limit
	// Full duplex: each chunk comes back before the next is sent.
	pw.Write(chunk)
	resp := <-respc
	if resp == nil {
		t.FailNow()
	}
	got := make([]byte, len(chunk))
	for i := 0; i < 3; i++ {
		if i > 0 {
			pw.Write(chunk)
		}
		if _, err := io.ReadFull(resp.Body, got); err != nil || !bytes.Equal(got, chunk) {
			t.Fatalf("chunk %d: %v", i, err)
		}
	}
	req.Trailer.Set("X-Client-Sum", "abc")
	pw.Close()
	if rest, _ := io.ReadAll(resp.Body); len(rest) != 0 {
		t.Fatalf("%d extra bytes", len(rest))
	}
	if v := resp.Trailer.Get("X-Got-Trailer"); v != "abc" {
		t.Fatalf("request trailer seen by the server: %q", v)
	}
}

func headerValue(fields []HeaderField, name string) string {
	for _, f := range fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

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
	return startQueue(t, Config{}, `{"routes":[{"method":"POST","pattern":"`+pattern+`","tag":7,"streaming":true}]}`)
}

// startQueue starts a server routed by the queue route spec (JSON) and
// returns its event queue, a client and the base URL.
func startQueue(t *testing.T, cfg Config, spec string) (*EventQueue, *http.Client, string) {
	t.Helper()
	s, c, base := startServer(t, cfg, nil)
	q, err := s.EventQueue()
	if err != nil {
		t.Fatal(err)
	}
	routes, err := s.QueueRoutes([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	s.SetRoutes(routes)
	return q, c, base
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
	res, ok := LookupResponse(r.id)
	if !ok {
		t.Fatalf("no open response for request %d", r.id)
	}
	return res
}

// drain takes what is queued, passing each body chunk to chunk; it reports
// whether the body ended.
func (r *bodyReader) drain(chunk func([]byte)) (ended bool) {
	n, _ := r.q.Drain(r.buf)
	for off := 0; off < n; off += int(binary.LittleEndian.Uint32(r.buf[off:])) {
		switch r.buf[off+4] {
		case EventRequest:
			r.id = binary.LittleEndian.Uint64(r.buf[off+8:])
		case EventBodyChunk:
			m := int(binary.LittleEndian.Uint32(r.buf[off+16:]))
			chunk(r.buf[off+20 : off+20+m])
		case EventBodyEnd:
			ended = true
		}
	}
	return ended
}

func TestSendFileRanges(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data.txt")
	os.WriteFile(path, []byte("0123456789"), 0o644)
	_, c, base := startServer(t, Config{}, func(s *Server) {
		mustRoute(t, s, "GET", "/file", func(req *Request, res *Response) {
			res.SendFile(200, []HeaderField{{"x-file", "1"}}, path)
		})
		mustRoute(t, s, "GET", "/missing", func(req *Request, res *Response) {
			res.SendFile(200, nil, filepath.Join(dir, "nope"))
		})
		mustRoute(t, s, "GET", "/teapot", func(req *Request, res *Response) {
			res.SendFile(418, nil, path)
		})
	})
	do := func(path, rng string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if r, b := do("/file", ""); r.StatusCode != 200 || b != "0123456789" || r.Header.Get("Content-Type") != "text/plain; charset=utf-8" || r.Header.Get("X-File") != "1" {
		t.Fatalf("full: %d %q %v", r.StatusCode, b, r.Header)
	}
	if r, b := do("/file", "bytes=2-4"); r.StatusCode != 206 || b != "234" || r.Header.Get("Content-Range") != "bytes 2-4/10" {
		t.Fatalf("range: %d %q %v", r.StatusCode, b, r.Header)
	}
	if r, _ := do("/file", "bytes=20-30"); r.StatusCode != 416 {
		t.Fatalf("unsatisfiable: %d", r.StatusCode)
	}
	if r, _ := do("/missing", ""); r.StatusCode != 404 {
		t.Fatalf("missing: %d", r.StatusCode)
	}
	if r, b := do("/teapot", "bytes=2-4"); r.StatusCode != 418 || b != "0123456789" {
		t.Fatalf("non-200 status: %d %q", r.StatusCode, b)
	}
}

func TestSendBackpressureSignalsWritable(t *testing.T) {
	writable := make(chan struct{}, 16)
	release := make(chan struct{})
	var pauses atomic.Int32 // times the writer stopped at the high-water mark and was woken
	_, c, base := startServer(t, Config{}, func(s *Server) {
		mustRoute(t, s, "GET", "/big", func(req *Request, res *Response) {
			res.DeferEnd()
			res.mu.Lock()
			res.onWritable = func() { writable <- struct{}{} }
			res.mu.Unlock()
			go func() {
				chunk := make([]byte, 64<<10)
				sent := 0
				for sent < 8<<20 {
					pending, err := res.Send(chunk, false, nil)
					if err != nil {
						return
					}
					sent += len(chunk)
					if pending > ResponseHighWater+len(chunk) {
						t.Errorf("pending %d beyond the high-water mark", pending)
					}
					if pending >= ResponseHighWater {
						<-writable
						pauses.Add(1)
					}
				}
				<-release
				res.Send(nil, true, nil)
			}()
		})
	})
	resp, err := c.Get(base + "/big")
	if err != nil {
		t.Fatal(err)
	}
	close(release)
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != 8<<20 {
		t.Fatalf("read %d: %v", n, err)
	}
	// 8 MiB through a 256 KiB high-water mark: the writer must have paused
	// and been woken many times, not just written past the mark.
	if p := pauses.Load(); p < (8<<20)/ResponseHighWater/2 {
		t.Fatalf("the writer paused %d times, want at least %d", p, (8<<20)/ResponseHighWater/2)
	}
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
