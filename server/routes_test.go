package server

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// Route.Finished learns how each request the handler ran for ended, once,
// after the response: completed, timed out (the client got 503) or aborted
// (the client went away first).
func TestRouteFinishedReportsTheOutcome(t *testing.T) {
	finished := make(chan Outcome, 8)
	record := func(_ *Request, res *Response, o Outcome) {
		if _, err := res.Pending(); err != ErrClosed {
			t.Errorf("Finished before the response finished: %v", err)
		}
		finished <- o
	}
	entered := make(chan struct{}, 1)
	_, c, base := startServer(t, Config{RequestTimeout: 200 * time.Millisecond}, func(s *Server) {
		route := func(pattern string, h HandlerFunc) {
			if err := s.Route("GET", pattern, Route{Handler: h, Finished: record}); err != nil {
				t.Fatal(err)
			}
		}
		route("/ok", func(_ *Request, res *Response) { _ = res.End([]byte("ok")) })
		route("/never", func(_ *Request, res *Response) { res.DeferEnd() }) // the timeout answers
		route("/late", func(_ *Request, res *Response) {
			time.Sleep(300 * time.Millisecond) // past the timeout before the handler returns
			res.DeferEnd()
		})
		route("/hang", func(_ *Request, res *Response) {
			_ = res.SetTimeout(0)
			res.DeferEnd()
			entered <- struct{}{}
		})
	})
	wait := func(what string) Outcome {
		t.Helper()
		select {
		case o := <-finished:
			return o
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Finished was not called", what)
		}
		return 0
	}
	if resp, _ := get(t, c, "GET", base+"/ok", nil); resp.StatusCode != 200 {
		t.Fatalf("ok: %d", resp.StatusCode)
	}
	if o := wait("ok"); o != Completed {
		t.Errorf("ok: outcome %v, want Completed", o)
	}
	if resp, _ := get(t, c, "GET", base+"/never", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("never: %d", resp.StatusCode)
	}
	if o := wait("timeout"); o != TimedOut {
		t.Errorf("timeout: outcome %v, want TimedOut", o)
	}
	if resp, _ := get(t, c, "GET", base+"/late", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("late: %d", resp.StatusCode)
	}
	if o := wait("timeout over when the handler returned"); o != TimedOut {
		t.Errorf("late: outcome %v, want TimedOut", o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/hang", nil)
	go func() {
		<-entered
		cancel() // the client resets the stream
	}()
	if _, err := c.Do(req); err == nil {
		t.Fatal("hang: the request was answered")
	}
	if o := wait("client gone"); o != Aborted {
		t.Errorf("client gone: outcome %v, want Aborted", o)
	}
	select {
	case o := <-finished:
		t.Fatalf("Finished called once more (%v)", o)
	case <-time.After(50 * time.Millisecond):
	}
}
