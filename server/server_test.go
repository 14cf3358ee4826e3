package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zig-h3/h3bun/client/clienttest"
)

// startServer starts a server on 127.0.0.1 with the given routes and returns
// it with an HTTP/3 client and the base URL.
func startServer(t *testing.T, cfg Config, setup func(s *Server)) (*Server, *http.Client, string) {
	t.Helper()
	cfg.BindAddr = "127.0.0.1"
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(s)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(true) })
	return s, clienttest.HTTPClient(t), fmt.Sprintf("https://127.0.0.1:%d", s.Port())
}

func mustRoute(t *testing.T, s *Server, method, pattern string, h HandlerFunc) {
	t.Helper()
	if err := s.HandleFunc(method, pattern, h); err != nil {
		t.Fatal(err)
	}
}

// get is clienttest.Get.
var get = clienttest.Get

func TestServerRoutesAndAnswers(t *testing.T) {
	_, c, base := startServer(t, Config{MaxRequestBodySize: 1000}, func(s *Server) {
		mustRoute(t, s, "GET", "/hello/:name", func(req *Request, res *Response) {
			res.AddHeader("x-name", req.Params[0].Value)
			res.AddHeader("set-cookie", "a=1")
			res.AddHeader("set-cookie", "b=2")
			res.End([]byte("hi " + req.Params[0].Value + " " + req.Path))
		})
		mustRoute(t, s, "POST", "/echo", func(req *Request, res *Response) {
			res.SetStatus(201)
			res.End(req.Body)
		})
	})

	resp, body := get(t, c, "GET", base+"/hello/bob?x=1", nil)
	if resp.StatusCode != 200 || body != "hi bob /hello/bob?x=1" || resp.Header.Get("X-Name") != "bob" {
		t.Fatalf("GET: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if got := resp.Header.Values("Set-Cookie"); len(got) != 2 {
		t.Fatalf("set-cookie values = %v", got)
	}
	resp, body = get(t, c, "HEAD", base+"/hello/bob", nil)
	if resp.StatusCode != 200 || body != "" || resp.ContentLength != int64(len("hi bob /hello/bob")) {
		t.Fatalf("HEAD: %d %q cl=%d", resp.StatusCode, body, resp.ContentLength)
	}
	resp, body = get(t, c, "POST", base+"/echo", []byte("payload"))
	if resp.StatusCode != 201 || body != "payload" {
		t.Fatalf("POST: %d %q", resp.StatusCode, body)
	}
	resp, _ = get(t, c, "POST", base+"/echo", bytes.Repeat([]byte("x"), 1000))
	if resp.StatusCode != 201 {
		t.Fatalf("POST at the limit: %d", resp.StatusCode)
	}
	resp, _ = get(t, c, "POST", base+"/echo", bytes.Repeat([]byte("x"), 1001))
	if resp.StatusCode != 413 {
		t.Fatalf("POST over the limit: %d", resp.StatusCode)
	}
	resp, _ = get(t, c, "DELETE", base+"/echo", nil)
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST, OPTIONS" {
		t.Fatalf("DELETE: %d allow=%q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	resp, _ = get(t, c, "OPTIONS", base+"/hello/x", nil)
	if resp.StatusCode != 204 || resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" || resp.Header.Values("Content-Length") != nil {
		t.Fatalf("OPTIONS: %d allow=%q content-length=%q", resp.StatusCode, resp.Header.Get("Allow"), resp.Header.Values("Content-Length"))
	}
	resp, _ = get(t, c, "GET", base+"/missing", nil)
	if resp.StatusCode != 404 {
		t.Fatalf("GET /missing: %d", resp.StatusCode)
	}
}

func TestServerResponseRules(t *testing.T) {
	errs := make(chan []error, 1)
	_, c, base := startServer(t, Config{}, func(s *Server) {
		mustRoute(t, s, "GET", "/rules", func(req *Request, res *Response) {
			var got []error
			got = append(got, res.SetStatus(99), res.SetStatus(600), res.SetStatus(101), res.SetStatus(199), res.AddHeader("bad name", "v"), res.AddHeader("x", "a\r\nb"))
			res.Write([]byte("body"))
			got = append(got, res.AddHeader("late", "1"), res.SetStatus(201))
			res.End(nil)
			got = append(got, res.Write([]byte("more")), res.End(nil))
			errs <- got
		})
	})
	resp, body := get(t, c, "GET", base+"/rules", nil)
	if resp.StatusCode != 200 || body != "body" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	for i, err := range <-errs {
		if err == nil {
			t.Errorf("call %d did not fail", i)
		}
	}
}

func TestServerDeferredEndFromAnotherGoroutine(t *testing.T) {
	_, c, base := startServer(t, Config{}, func(s *Server) {
		mustRoute(t, s, "GET", "/later", func(req *Request, res *Response) {
			res.DeferEnd()
			go func() {
				time.Sleep(20 * time.Millisecond)
				res.Write([]byte("one "))
				res.SendTrailers([]HeaderField{{"x-checksum", "42"}})
			}()
		})
	})
	resp, body := get(t, c, "GET", base+"/later", nil)
	if body != "one " || resp.Trailer.Get("X-Checksum") != "42" {
		t.Fatalf("body %q trailer %v", body, resp.Trailer)
	}
}

func TestServerPanicGives500(t *testing.T) {
	s, c, base := startServer(t, Config{}, func(s *Server) {
		mustRoute(t, s, "GET", "/panic", func(req *Request, res *Response) { panic("boom") })
		mustRoute(t, s, "GET", "/ok", func(req *Request, res *Response) {})
		// Ended with trailers but not yet sent: the 500 replaces all of it.
		mustRoute(t, s, "GET", "/panic-after-trailers", func(req *Request, res *Response) {
			_, _ = res.Send([]byte("body"), true, []HeaderField{{Name: "x-sum", Value: "1"}})
			panic("boom")
		})
	})
	if resp, _ := get(t, c, "GET", base+"/panic", nil); resp.StatusCode != 500 {
		t.Fatalf("panic: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c, "GET", base+"/ok", nil); resp.StatusCode != 200 {
		t.Fatalf("ok: %d", resp.StatusCode)
	}
	if resp, body := get(t, c, "GET", base+"/panic-after-trailers", nil); resp.StatusCode != 500 || body != "" || len(resp.Trailer) != 0 {
		t.Fatalf("panic after trailers: %d %q trailers %v", resp.StatusCode, body, resp.Trailer)
	}
	if st := s.Stats(); st.RequestsTotal != 3 || st.RequestsRejected != 2 || st.ConnectionsTotal != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestServerGracefulStopWaitsForInFlight(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	s, c, base := startServer(t, Config{}, func(s *Server) {
		mustRoute(t, s, "GET", "/slow", func(req *Request, res *Response) {
			close(entered)
			<-release
			res.End([]byte("done"))
		})
	})
	var wg sync.WaitGroup
	wg.Add(1)
	var body string
	var status int
	go func() {
		defer wg.Done()
		resp, b := get(t, c, "GET", base+"/slow", nil)
		status, body = resp.StatusCode, b
	}()
	<-entered
	stopped := make(chan struct{})
	go func() { s.Stop(false); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("graceful stop returned with a request in flight")
	case <-time.After(100 * time.Millisecond):
	}
	if s.Running() {
		t.Fatal("server still running while stopping")
	}
	close(release)
	wg.Wait()
	<-stopped
	if status != 200 || body != "done" {
		t.Fatalf("in-flight request: %d %q", status, body)
	}
}

func TestServerForceStopAbortsInFlight(t *testing.T) {
	entered := make(chan struct{})
	s, c, base := startServer(t, Config{}, func(s *Server) {
		mustRoute(t, s, "GET", "/hang", func(req *Request, res *Response) {
			res.DeferEnd()
			close(entered)
		})
	})
	errc := make(chan error, 1)
	go func() {
		resp, err := c.Get(base + "/hang")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
		}
		errc <- err
	}()
	<-entered
	done := make(chan struct{})
	go func() { s.Stop(true); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("force stop did not return")
	}
	if err := <-errc; err == nil {
		t.Fatal("client saw a complete response after force stop")
	}
	if st := s.Stats(); st.ConnectionsActive != 0 || st.RequestsActive != 0 {
		t.Fatalf("after stop: %+v", st)
	}
}

func TestServerLifecycleErrors(t *testing.T) {
	s, err := NewServer(Config{BindAddr: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.HandleFunc("GET", "nope", func(*Request, *Response) {}); err == nil {
		t.Fatal("bad pattern accepted")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.HandleFunc("GET", "/late", func(*Request, *Response) {}); err == nil {
		t.Fatal("route after start accepted")
	}
	if err := s.Start(); err == nil {
		t.Fatal("second start accepted")
	}
	s.Stop(false)
	s.Stop(true)
	for _, cfg := range []Config{{Port: 70000}, {BindAddr: "nowhere"}, {CertPEM: []byte("x")}, {CertPath: "/nonexistent", KeyPath: "/nonexistent"}} {
		if _, err := NewServer(cfg); err == nil {
			t.Errorf("NewServer(%+v) accepted", cfg)
		}
	}
}

func TestDevCertificate(t *testing.T) {
	cert, err := DevCertificate()
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		t.Fatal("no parsed leaf")
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d > 14*24*time.Hour {
		t.Fatalf("validity %v is over 14 days", d)
	}
	if !strings.Contains(strings.Join(leaf.DNSNames, ","), "localhost") {
		t.Fatalf("DNS names %v", leaf.DNSNames)
	}
}

func TestHeaderFieldsSortedLowercase(t *testing.T) {
	got := HeaderFields(http.Header{"X-B": {"2", "3"}, "Accept": {"*/*"}})
	want := []HeaderField{{"accept", "*/*"}, {"x-b", "2"}, {"x-b", "3"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%v", got)
	}
}

var _ = context.Background
