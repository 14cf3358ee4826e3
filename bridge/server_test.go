package bridge

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"
	"github.com/zig-h3/h3bun/server"
)

// startQueue starts a server on 127.0.0.1 routed by the event route spec
// (JSON) and returns its event queue, an HTTP/3 client and the base URL.
func startQueue(t *testing.T, cfg server.Config, spec string) (*EventQueue, *http.Client, string) {
	t.Helper()
	cfg.BindAddr = "127.0.0.1"
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetEventRoutes([]byte(spec)); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	tr := &http3.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	t.Cleanup(func() {
		tr.Close()
		s.Close()
	})
	q, _ := s.ExistingEventQueue()
	return q, &http.Client{Transport: tr, Timeout: 10 * time.Second}, fmt.Sprintf("https://127.0.0.1:%d", s.Port())
}

// get sends one request with body (nil: none) and header name, value
// pairs, and returns the response with its whole body read.
func get(t *testing.T, c *http.Client, method, url string, body []byte, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if body == nil {
		req.Body = nil
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, string(b)
}

// A call that creates the event queue after Close (a C caller racing a
// free) gets ErrServerClosed instead of a queue, and its eventfd, that
// nothing would close.
func TestServerClosedMakesNoEventQueue(t *testing.T) {
	for _, queued := range []bool{false, true} {
		s, err := NewServer(server.Config{BindAddr: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		if queued {
			if _, err := s.EventQueue(); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		if q, err := s.EventQueue(); q != nil || !errors.Is(err, ErrServerClosed) {
			t.Errorf("queued %v: EventQueue after Close: %v, %v", queued, q, err)
		}
		if err := s.StopAsync(false); !errors.Is(err, ErrServerClosed) {
			t.Errorf("queued %v: StopAsync after Close: %v", queued, err)
		}
		if err := s.QueueQUICDatagrams(); !errors.Is(err, ErrServerClosed) {
			t.Errorf("queued %v: QueueQUICDatagrams after Close: %v", queued, err)
		}
	}
}
