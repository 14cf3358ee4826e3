package bridge

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/zig-h3/h3bun/client/clienttest"

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
	t.Cleanup(s.Close)
	q, _ := s.ExistingEventQueue()
	return q, clienttest.HTTPClient(t), fmt.Sprintf("https://127.0.0.1:%d", s.Port())
}

// get is clienttest.Get.
var get = clienttest.Get

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
