package server

import (
	"errors"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// malformedServer serves a buffered route (/buf), a streaming route that
// reads the whole body before answering (/stream) and one that sends its
// head first (/stream-head); the streaming handlers report ReadBody's
// final error on bodyErr.
func malformedServer(t *testing.T, cfg Config) (s *Server, ran *atomic.Int32, bodyErr chan error) {
	ran = new(atomic.Int32)
	bodyErr = make(chan error, 1)
	readAll := func(req *Request) {
		buf := make([]byte, 1024)
		for {
			if _, err := req.ReadBody(buf); err != nil {
				bodyErr <- err
				return
			}
		}
	}
	s, _, _ = startServer(t, cfg, func(s *Server) {
		mustRoute(t, s, "POST", "/buf", func(req *Request, res *Response) {
			ran.Add(1)
			res.End([]byte("ok"))
		})
		_ = s.Route("POST", "/stream", Route{StreamBody: true, Handler: HandlerFunc(func(req *Request, res *Response) {
			_ = res.AddHeader("x-recorded", "1") // the 400 must not carry it
			readAll(req)
			res.End([]byte("ok")) // the response must not complete anyway
		})})
		_ = s.Route("POST", "/stream-head", Route{StreamBody: true, Handler: HandlerFunc(func(req *Request, res *Response) {
			_ = res.Write([]byte("head"))
			res.DeferEnd()
			req.GoBody(func() {
				readAll(req)
				res.End([]byte("ok"))
			})
		})})
	})
	return s, ran, bodyErr
}

// Request bodies that break HTTP/3's framing rules (RFC 9114, section
// 4.1.2) are refused: 400 before the response head, a stream reset with
// H3_MESSAGE_ERROR after it; a buffered route's handler never runs, a
// streaming handler's ReadBody fails with ErrMalformed.
func TestMalformedBodiesAreRefused(t *testing.T) {
	s, ran, bodyErr := malformedServer(t, Config{})
	qc := dialRaw(t, s)
	cl10 := []string{"content-length", "10"}
	tests := []struct {
		name       string
		frames     [][]byte
		wantStatus int
		wantReset  int64 // -1: not reset
		streaming  bool  // a streaming handler runs and sees ErrMalformed
		finLater   bool  // FIN once the response head arrived
	}{
		{"buffered, DATA after trailers", [][]byte{request("POST", "/buf"), data("abc"), headers("x-t", "1"), data("def")}, 400, -1, false, false},
		{"buffered, HEADERS after trailers", [][]byte{request("POST", "/buf"), data("abc"), headers("x-t", "1"), headers("x-t", "2")}, 400, -1, false, false},
		{"buffered, body short of its content-length", [][]byte{request("POST", "/buf", cl10...), data("12345")}, 400, -1, false, false},
		{"buffered, no body but a content-length", [][]byte{request("POST", "/buf", cl10...)}, 400, -1, false, false},
		{"streaming, body short of its content-length", [][]byte{request("POST", "/stream", cl10...), data("12345")}, 400, -1, true, false},
		{"streaming, DATA after trailers", [][]byte{request("POST", "/stream"), data("abc"), headers("x-t", "1"), data("def")}, 400, -1, true, false},
		{"streaming after the head, body short", [][]byte{request("POST", "/stream-head", cl10...), data("12345")}, 200, int64(http3.ErrCodeMessageError), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran.Store(0)
			rejected := s.Stats().RequestsRejected
			got := rawRequest(t, qc, joinFrames(tt.frames), !tt.finLater)
			if got.status != tt.wantStatus || got.reset != tt.wantReset || got.err != nil {
				t.Fatalf("got %v, want status %d, reset %#x", got, tt.wantStatus, tt.wantReset)
			}
			if tt.wantStatus == 400 && slices.Contains(got.fields, "x-recorded") {
				t.Fatalf("the 400 carries a field the handler recorded: %v", got.fields)
			}
			if tt.wantStatus == 200 && got.body == "headok" {
				t.Fatalf("the response completed: %v", got)
			}
			if tt.streaming {
				if err := receive(t, bodyErr); !errors.Is(err, ErrMalformed) {
					t.Fatalf("ReadBody: %v, want ErrMalformed", err)
				}
			} else if n := ran.Load(); n != 0 {
				t.Fatalf("the handler ran %d times", n)
			}
			if tt.wantStatus == 400 && s.Stats().RequestsRejected != rejected+1 {
				t.Fatalf("RequestsRejected %d, want %d", s.Stats().RequestsRejected, rejected+1)
			}
		})
	}
}

// A client that resets its upload gets no response: the stream is reset,
// and no handler runs (buffered) or ReadBody fails (streaming).
func TestResetUploadGetsNoResponse(t *testing.T) {
	s, ran, bodyErr := malformedServer(t, Config{})
	qc := dialRaw(t, s)
	for _, path := range []string{"/buf", "/stream"} {
		t.Run(path, func(t *testing.T) {
			total := s.Stats().RequestsTotal
			str := openRaw(t, qc, joinFrames([][]byte{request("POST", path, "content-length", "10"), data("12345")}))
			// Reset once the server has the head (else http3 refuses the
			// stream itself, H3_REQUEST_INCOMPLETE).
			waitFor(t, func() bool { return s.Stats().RequestsTotal > total })
			str.CancelWrite(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
			got := readResponse(str, nil)
			if got.status != 0 || got.reset != int64(http3.ErrCodeInternalError) {
				t.Fatalf("got %v, want no status and a reset with H3_INTERNAL_ERROR", got)
			}
			if path == "/buf" && ran.Load() != 0 {
				t.Fatal("the handler ran")
			}
			if path == "/stream" {
				if err := receive(t, bodyErr); err == nil || err == io.EOF || errors.Is(err, ErrMalformed) {
					t.Fatalf("ReadBody: %v, want the reset", err)
				}
			}
		})
	}
}

func joinFrames(frames [][]byte) []byte {
	var b []byte
	for _, f := range frames {
		b = append(b, f...)
	}
	return b
}

// receive takes a value from c, waiting for up to rawDeadline.
func receive[T any](t *testing.T, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(rawDeadline):
		t.Fatal("timed out waiting")
	}
	var zero T
	return zero
}

// waitFor polls cond for up to rawDeadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(rawDeadline); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
	}
}

// liveGoroutines waits (bounded) for the count of goroutines other than
// s's idle workers to settle at or under want and returns it.
func liveGoroutines(s *Server, want int, wait time.Duration) int {
	count := func() int { return runtime.NumGoroutine() - idleWorkers(&s.workers) }
	n := count()
	for deadline := time.Now().Add(wait); n > want && time.Now().Before(deadline); n = count() {
		time.Sleep(20 * time.Millisecond)
	}
	return n
}

// Request streams whose HEADERS never complete are freed after
// HeaderTimeout, although the client keeps the connection alive (PINGs).
func TestHalfHeadersStreamsAreFreed(t *testing.T) {
	const streams = 200
	s, _, _ := malformedServer(t, Config{HeaderTimeout: 300 * time.Millisecond, MaxStreamsPerConnection: streams})
	qc := dialRaw(t, s)
	before := runtime.NumGoroutine() - idleWorkers(&s.workers)
	half := request("GET", "/buf")
	half = half[:len(half)-3] // the frame's length says more than comes
	results := make(chan rawResult, streams)
	for range streams {
		str := openRaw(t, qc, half)
		go func() { results <- readResponse(str, nil) }()
	}
	for range streams {
		if got := <-results; got.status != 0 || got.reset != int64(http3.ErrCodeRequestIncomplete) {
			t.Fatalf("got %v, want a reset with H3_REQUEST_INCOMPLETE", got)
		}
	}
	// A little slack for goroutines of the runtime and of quic-go that come
	// and go; the streams' would be 200 more (idle workers, which the pool
	// keeps for the next requests, do not count).
	if n := liveGoroutines(s, before+10, 2*time.Second); n > before+10 {
		t.Fatalf("%d goroutines, %d before the streams", n, before)
	}
	if got := s.Stats().RequestsRejected; got != streams {
		t.Fatalf("RequestsRejected %d, want %d", got, streams)
	}
	// The connection still serves.
	if got := rawRequest(t, qc, request("POST", "/buf"), true); got.status != 200 {
		t.Fatalf("after the timeouts: %v", got)
	}
}

// More header (or buffered trailer) fields than MaxHeaderFields get 431;
// no handler runs.
func TestTooManyHeaderFields(t *testing.T) {
	s, ran, _ := malformedServer(t, Config{MaxHeaderFields: 10})
	qc := dialRaw(t, s)
	fields := func(n int) []string {
		var f []string
		for i := range n {
			f = append(f, "x-f"+strconv.Itoa(i), "v")
		}
		return f
	}
	announced := func(n int) string {
		var names []string
		for i := range n {
			names = append(names, "x-t"+strconv.Itoa(i))
		}
		return strings.Join(names, ", ")
	}
	tests := []struct {
		name   string
		frames [][]byte
		want   int
	}{
		{"10 fields", [][]byte{request("POST", "/buf", fields(10)...)}, 200},
		{"11 fields", [][]byte{request("POST", "/buf", fields(11)...)}, 431},
		{"11 fields, unrouted", [][]byte{request("GET", "/nowhere", fields(11)...)}, 431},
		{"11 values of one name", [][]byte{request("POST", "/buf", slices.Repeat([]string{"x-same", "v"}, 11)...)}, 431},
		{"11 trailer fields", [][]byte{request("POST", "/buf"), data("abc"), headers(fields(11)...)}, 431},
		// http3 lists the names a Trailer field announces, as net/http does;
		// they count, sent or not.
		{"11 announced trailer names", [][]byte{request("POST", "/buf", "trailer", announced(11)), data("abc")}, 431},
		{"10 announced trailer names", [][]byte{request("POST", "/buf", "trailer", announced(10)), data("abc")}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran.Store(0)
			rejected := s.Stats().RequestsRejected
			got := rawRequest(t, qc, joinFrames(tt.frames), true)
			if got.status != tt.want || got.reset != -1 {
				t.Fatalf("got %v, want %d", got, tt.want)
			}
			if tt.want == 431 && (ran.Load() != 0 || s.Stats().RequestsRejected != rejected+1) {
				t.Fatalf("handler ran %d times, RequestsRejected %d (was %d)", ran.Load(), s.Stats().RequestsRejected, rejected)
			}
		})
	}
}

// Extended CONNECT is served only as a WebTransport session on a session
// route of a WebTransport server: 404 without one, 501 for another
// :protocol; no handler runs.
func TestExtendedConnectWithoutWebTransport(t *testing.T) {
	var ran atomic.Int32
	s, _, _ := startServer(t, Config{}, func(s *Server) {
		mustRoute(t, s, "*", "/any", func(_ *Request, res *Response) { ran.Add(1); res.End(nil) })
	})
	qc := dialRaw(t, s)
	connect := func(protocol string) []byte {
		return headers(":method", "CONNECT", ":protocol", protocol, ":scheme", "https", ":authority", "localhost", ":path", "/any")
	}
	for _, tt := range []struct {
		protocol string
		want     int
	}{{"webtransport", 404}, {"websocket", 501}} {
		t.Run(tt.protocol, func(t *testing.T) {
			if got := rawRequest(t, qc, connect(tt.protocol), true); got.status != tt.want {
				t.Fatalf("got %v, want %d", got, tt.want)
			}
			if ran.Load() != 0 {
				t.Fatal("the handler ran")
			}
		})
	}
}
