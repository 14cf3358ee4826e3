package client

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/zig-h3/h3bun/client/clienttest"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	s := clienttest.NewServer(t)
	conn, err := DialH3(clienttest.Context(t), s.Addr, insecure)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	tr := &Transport{Config: &Config{InsecureSkipVerify: true, DisableCompression: true}}
	t.Cleanup(func() { tr.Close() })

	for _, rt := range []struct {
		name string
		rt   http.RoundTripper
	}{{"conn", conn}, {"transport", tr}} {
		for _, tc := range []struct {
			method, path, body, want string
		}{
			{"GET", "/", "", "ok"},
			{"POST", "/echo", "hello", "hello"},
			{"PUT", "/echo", strings.Repeat("x", 100_000), strings.Repeat("x", 100_000)},
		} {
			t.Run(rt.name+"/"+tc.method+tc.path, func(t *testing.T) {
				var body io.Reader
				if tc.body != "" {
					body = strings.NewReader(tc.body)
				}
				req, err := http.NewRequestWithContext(clienttest.Context(t), tc.method, "https://"+s.Addr+tc.path, body)
				if err != nil {
					t.Fatal(err)
				}
				rsp, err := rt.rt.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				defer rsp.Body.Close()
				got, err := io.ReadAll(rsp.Body)
				if err != nil || rsp.StatusCode != 200 || string(got) != tc.want {
					t.Errorf("status %d, %d bytes, err %v", rsp.StatusCode, len(got), err)
				}
			})
		}
	}
}

func TestConnClose(t *testing.T) {
	t.Parallel()
	s := clienttest.NewServer(t)
	conn, err := DialH3(clienttest.Context(t), s.Addr, insecure)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Settings(clienttest.Context(t)); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	<-conn.Context().Done()
	req, _ := http.NewRequest("GET", "https://"+s.Addr+"/", nil)
	if _, err := conn.RoundTrip(req); err == nil {
		t.Error("a request on a closed Conn succeeded")
	}
	if _, err := conn.Settings(clienttest.Context(t)); err != nil {
		t.Errorf("Settings after they arrived: %v", err)
	}
}
