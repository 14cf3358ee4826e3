package main

import (
	"bytes"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zig-h3/h3bun/client/clienttest"
)

// testPacing is the default pacing with a short idle wait.
var testPacing = pacing{interval: time.Millisecond, idle: 500 * time.Millisecond}

func TestQUICDgram(t *testing.T) {
	t.Parallel()
	s := clienttest.NewServer(t)
	for _, tc := range []struct {
		name, alpn string
		burst      bool
		wantStatus int
	}{
		{"other-alpn", clienttest.ALPN, false, 0},
		{"other-alpn-burst", clienttest.ALPN, true, 0},
		{"h3-without-h3-datagrams", "h3", false, 200},
		{"h3-without-h3-datagrams-burst", "h3", true, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := testPacing
			p.burst = tc.burst
			res, err := runQUICDgram(clienttest.Context(t), quicDgramOptions{addr: s.Addr, alpn: tc.alpn, n: 100, size: 64, pacing: p})
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent != 100 || res.Matched != 100 || res.Received != 100 || res.HTTPStatus != tc.wantStatus {
				t.Errorf("got %+v", res)
			}
			if res.MaxDatagramSize < 1000 || res.MaxDatagramSize > 1500 {
				t.Errorf("maxDatagramSize %d", res.MaxDatagramSize)
			}
		})
	}
}

func TestQUICDgramTooLarge(t *testing.T) {
	t.Parallel()
	s := clienttest.NewServer(t)
	res, err := runQUICDgram(clienttest.Context(t), quicDgramOptions{addr: s.Addr, alpn: clienttest.ALPN, n: 5, size: 1500, pacing: testPacing})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 0 || res.Received != 0 || res.MaxDatagramSize >= 1500 {
		t.Errorf("got %+v", res)
	}
}

func TestH3Dgram(t *testing.T) {
	t.Parallel()
	s := clienttest.NewServer(t)
	res, err := runH3Dgram(clienttest.Context(t), h3DgramOptions{url: "https://" + s.Addr + "/h3dg/echo", method: "POST", n: 50, requests: 3, pacing: testPacing})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int64]bool{}
	for i, r := range res.Requests {
		if r.Status != 200 || r.Sent != 50 || r.Received != 50 || r.Matched != 50 || r.Foreign != 0 || r.Error != "" {
			t.Errorf("request %d: %+v", i, r)
		}
		ids[r.StreamID] = true
	}
	if len(res.Requests) != 3 || len(ids) != 3 {
		t.Errorf("want 3 requests on distinct streams, got %d on %v", len(res.Requests), ids)
	}
}

func TestWTEcho(t *testing.T) {
	t.Parallel()
	s := clienttest.NewServer(t)
	o := wtEchoOptions{
		wtTarget:  wtTarget{url: "https://" + s.Addr + "/wt/echo", origin: "http://" + s.Addr},
		datagrams: 100, streams: 3, bidi: 65536, uni: 1000, pacing: testPacing,
	}
	res, err := runWTEcho(clienttest.Context(t), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 200 || res.Datagrams != (wtDatagrams{100, 100, 100}) {
		t.Errorf("status %d, datagrams %+v", res.Status, res.Datagrams)
	}
	if len(res.Bidi) != 3 {
		t.Errorf("%d bidi results", len(res.Bidi))
	}
	for i, b := range res.Bidi {
		if *b != (wtStreamResult{Bytes: 65536, OK: true}) {
			t.Errorf("bidi %d: %+v", i, b)
		}
	}
	if res.Uni == nil || *res.Uni != (wtStreamResult{Bytes: 1000, OK: true}) {
		t.Errorf("uni: %+v", res.Uni)
	}
}

func TestWTReject(t *testing.T) {
	t.Parallel()
	s := clienttest.NewServer(t)
	res, err := runWTReject(clienttest.Context(t), wtTarget{url: "https://" + s.Addr + "/wt/reject"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 403 || !strings.Contains(res.Error, "403") {
		t.Errorf("got %+v", res)
	}
}

func TestWTCloseByServer(t *testing.T) {
	t.Parallel()
	s := clienttest.NewServer(t)
	res, err := runWTCloseServer(clienttest.Context(t), wtTarget{url: "https://" + s.Addr + "/wt/close"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ClosedBy != "server" || res.Code == nil || *res.Code != 42 || res.Reason == nil || *res.Reason != "server bye" {
		t.Errorf("got %+v", res)
	}
}

func TestWTCloseByClient(t *testing.T) {
	t.Parallel()
	s := clienttest.NewServer(t)
	res, err := runWTCloseClient(clienttest.Context(t), wtTarget{url: "https://" + s.Addr + "/wt/close"}, 7, "bye")
	if err != nil {
		t.Fatal(err)
	}
	if res.ClosedBy != "client" {
		t.Errorf("got %+v", res)
	}
	select {
	case se := <-s.ClientCloses:
		if se.ErrorCode != 7 || se.Message != "bye" {
			t.Errorf("server saw close %d %q", se.ErrorCode, se.Message)
		}
	case <-time.After(2 * time.Second):
		t.Error("the server saw no WT_CLOSE_SESSION")
	}
}

func TestWTServerStreams(t *testing.T) {
	t.Parallel()
	s := clienttest.NewServer(t)
	res, err := runWTServerStreams(clienttest.Context(t), wtTarget{url: "https://" + s.Addr + "/wt/server-streams"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Bidi != "ping" || res.Uni != "hello uni" {
		t.Errorf("got %+v", res)
	}
	select {
	case pong := <-s.Pongs:
		if pong != "pong" {
			t.Errorf("server read %q", pong)
		}
	case <-time.After(2 * time.Second):
		t.Error("the server read no reply")
	}
}

// TestCLI runs command lines through run: output, exit statuses, flags.
func TestCLI(t *testing.T) {
	t.Parallel()
	s := clienttest.NewServer(t)
	free, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	silent := free.LocalAddr().String() // nobody answers there
	defer free.Close()

	for _, tc := range []struct {
		name string
		args []string
		code int
		want map[string]any // expected top-level JSON fields
	}{
		{"quic-dgram", []string{"quic-dgram", "-alpn", clienttest.ALPN, "-n", "10", "-size", "32", "-addr", s.Addr, "-timeout=5s"}, 0,
			map[string]any{"sent": 10.0, "received": 10.0, "matched": 10.0, "httpStatus": 0.0}},
		{"h3-dgram", []string{"h3-dgram", "-url", "https://" + s.Addr + "/h3dg/echo", "-n", "5", "-requests", "2", "-burst"}, 0, nil},
		{"wt-reject", []string{"wt-reject", "-url", "https://" + s.Addr + "/wt/reject", "--timeout", "5s"}, 0,
			map[string]any{"status": 403.0}},
		{"wt-close-client", []string{"wt-close", "-url", "https://" + s.Addr + "/wt/close", "-mode", "client", "-code", "3", "-reason", "x"}, 0,
			map[string]any{"closedBy": "client"}},
		{"no-server", []string{"quic-dgram", "-addr", silent, "-timeout", "300ms"}, 1, nil},
		{"bad-mode", []string{"wt-close", "-url", "https://" + s.Addr + "/wt/close", "-mode", "both"}, 2, nil},
		{"bad-flag", []string{"wt", "-nope"}, 2, nil},
		{"no-command", nil, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tc.code, stdout.String(), stderr.String())
			}
			if code != 0 {
				if stdout.Len() != 0 || stderr.Len() == 0 {
					t.Errorf("stdout %q stderr %q", stdout.String(), stderr.String())
				}
				return
			}
			var got map[string]any
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || strings.Count(stdout.String(), "\n") != 1 {
				t.Fatalf("stdout %q: %v", stdout.String(), err)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v (in %s)", k, got[k], v, stdout.String())
				}
			}
		})
	}
}
