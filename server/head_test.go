package server

import (
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Connection-specific fields are left out of heads and trailers: clients
// refuse an HTTP/3 response that carries one (RFC 9114, section 4.2).
func TestConnectionFieldsAreDropped(t *testing.T) {
	_, c, base := startServer(t, Config{}, func(s *Server) {
		mustRoute(t, s, "GET", "/c", func(req *Request, res *Response) {
			for _, name := range []string{"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"} {
				res.AddHeader(name, "x")
			}
			res.AddHeader("x-kept", "1")
			_, _ = res.Send([]byte("c"), true, []HeaderField{{Name: "connection", Value: "close"}, {Name: "x-sum", Value: "2"}})
		})
	})
	resp, body := get(t, c, "GET", base+"/c", nil)
	if resp.StatusCode != 200 || body != "c" || resp.Header.Get("X-Kept") != "1" || resp.Trailer.Get("X-Sum") != "2" {
		t.Fatalf("%d %q %v trailers %v", resp.StatusCode, body, resp.Header, resp.Trailer)
	}
	for _, name := range []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade"} {
		if resp.Header.Values(name) != nil || resp.Trailer.Values(name) != nil {
			t.Errorf("%s went out", name)
		}
	}
}

// 205 never has content; 304 carries no Content-Length unless the handler
// declares one (it must be the 200's length), also when http.ServeContent
// answers a conditional request for a file.
func TestBodylessStatuses(t *testing.T) {
	path := tempFile(t, "f.txt", "0123456789")
	_, c, base := startServer(t, Config{}, func(s *Server) {
		mustRoute(t, s, "GET", "/205", func(req *Request, res *Response) {
			_ = res.SetStatus(http.StatusResetContent)
			_ = res.End([]byte("reset"))
		})
		mustRoute(t, s, "GET", "/205-streamed", func(req *Request, res *Response) {
			_ = res.SetStatus(http.StatusResetContent)
			_ = res.Write([]byte("reset"))
		})
		mustRoute(t, s, "GET", "/304", func(req *Request, res *Response) {
			_ = res.SetStatus(http.StatusNotModified)
			_ = res.End([]byte("not modified"))
		})
		mustRoute(t, s, "GET", "/file", func(req *Request, res *Response) {
			_ = res.SendFile(200, nil, path)
		})
	})
	for _, p := range []string{"/205", "/205-streamed"} {
		resp, body := get(t, c, "GET", base+p, nil)
		if resp.StatusCode != 205 || body != "" || resp.Header.Get("Content-Length") != "0" {
			t.Errorf("%s: %d %q content-length %q", p, resp.StatusCode, body, resp.Header.Values("Content-Length"))
		}
	}
	if resp, body := get(t, c, "GET", base+"/304", nil); resp.StatusCode != 304 || body != "" || resp.Header.Values("Content-Length") != nil {
		t.Errorf("304: %d %q content-length %q", resp.StatusCode, body, resp.Header.Values("Content-Length"))
	}
	resp, _ := get(t, c, "GET", base+"/file", nil, "If-Modified-Since", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
	if resp.StatusCode != 304 || resp.Header.Values("Content-Length") != nil {
		t.Errorf("conditional file: %d content-length %q", resp.StatusCode, resp.Header.Values("Content-Length"))
	}
}

// Range applies to GET with a bytes range only; a server must ignore it
// for other methods and unknown units (RFC 9110, section 14.2).
func TestFileRangeOnlyForGetBytes(t *testing.T) {
	path := tempFile(t, "f.txt", "0123456789")
	_, c, base := startServer(t, Config{}, func(s *Server) {
		for _, m := range []string{"GET", "POST"} {
			mustRoute(t, s, m, "/file", func(req *Request, res *Response) {
				_ = res.SendFile(200, nil, path)
			})
		}
	})
	for _, tc := range []struct {
		method, rng string
		status      int
		body        string
	}{
		{"GET", "bytes=2-4", 206, "234"},
		{"GET", "items=0-3", 200, "0123456789"},
		{"POST", "bytes=2-4", 200, "0123456789"},
		{"HEAD", "bytes=2-4", 200, ""},
	} {
		resp, body := get(t, c, tc.method, base+"/file", []byte{}, "Range", tc.rng)
		if resp.StatusCode != tc.status || body != tc.body {
			t.Errorf("%s with Range %s: %d %q, want %d %q", tc.method, tc.rng, resp.StatusCode, body, tc.status, tc.body)
		}
	}
}

// tempFile writes content to a file named name in a test directory and
// returns its path.
func tempFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A head is recorded in the ResponseWriter's own header map. An answer that
// replaces the recorded one (a handler's panic, a file that cannot be
// opened, the request timeout) carries none of the fields, nor the file,
// recorded before (the malformed body's 400: TestMalformedBodiesAreRefused).
func TestReplacedAnswersCarryNoRecordedFields(t *testing.T) {
	recorded := []HeaderField{{Name: "x-recorded", Value: "1"}}
	file := tempFile(t, "f.txt", "file content")
	_, c, base := startServer(t, Config{RequestTimeout: 100 * time.Millisecond}, func(s *Server) {
		mustRoute(t, s, "GET", "/panic", func(req *Request, res *Response) {
			_ = res.AddHeader("x-recorded", "1")
			panic("boom")
		})
		mustRoute(t, s, "GET", "/missing-file", func(req *Request, res *Response) {
			_ = res.SendFile(200, recorded, filepath.Join(t.TempDir(), "missing"))
		})
		mustRoute(t, s, "GET", "/missing-file-404", func(req *Request, res *Response) {
			_ = res.SendFile(404, recorded, filepath.Join(t.TempDir(), "missing"))
		})
		mustRoute(t, s, "GET", "/file-then-panic", func(req *Request, res *Response) {
			_ = res.SendFile(200, recorded, file)
			panic("boom")
		})
		mustRoute(t, s, "GET", "/timeout", func(req *Request, res *Response) {
			_ = res.AddHeader("x-recorded", "1")
			res.DeferEnd() // and never ends
		})
	})
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/panic", 500},
		{"/file-then-panic", 500},
		{"/missing-file", 404},
		{"/missing-file-404", 404},
		{"/timeout", 503},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := get(t, c, "GET", base+tc.path, nil)
			if resp.StatusCode != tc.status || resp.Header.Get("X-Recorded") != "" || body == "file content" {
				t.Fatalf("%d, want %d; header %v, body %q", resp.StatusCode, tc.status, resp.Header, body)
			}
		})
	}
}

// A static route's head is shared by its answers (its values are not
// copied): requests in parallel each get all of it, and nothing one answer
// adds reaches another.
func TestStaticHeadIsShared(t *testing.T) {
	fields := []HeaderField{{Name: "x-static", Value: "1"}, {Name: "x-static", Value: "2"}, {Name: "etag", Value: `"v1"`}, {Name: "content-type", Value: "text/plain"}}
	_, c, base := startServer(t, Config{}, func(s *Server) {
		h, err := NewStaticHandler(200, fields, []byte("static"))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Route("GET", "/s", h.Route()); err != nil {
			t.Fatal(err)
		}
	})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			var extra []string
			want := 200
			if i%2 == 1 {
				extra, want = []string{"If-None-Match", `"v1"`}, 304
			}
			resp, body := get(t, c, "GET", base+"/s", nil, extra...)
			if resp.StatusCode != want || resp.Header.Get("Etag") != `"v1"` {
				t.Errorf("%d (want %d) header %v", resp.StatusCode, want, resp.Header)
			}
			vals := resp.Header.Values("X-Static") // a 304 carries only the fields that describe the body
			if want == 200 && (body != "static" || resp.Header.Get("Content-Length") != "6" || len(vals) != 2 || vals[0] != "1" || vals[1] != "2") {
				t.Errorf("200: %q header %v", body, resp.Header)
			}
		})
	}
	wg.Wait()
}
