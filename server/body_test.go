package server

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// streamingFunc is a streaming-route handler for tests.
type streamingFunc func(req *Request, res *Response)

func (f streamingFunc) ServeRequest(req *Request, res *Response) { f(req, res) }

func (streamingFunc) StreamsBody() bool { return true }

func TestStreamingBodyFullDuplexEcho(t *testing.T) {
	s, c, base := startServer(t, Config{MaxRequestBodySize: 1000}, nil)
	_ = s
	var b RouterBuilder[*Route]
	b.Add("POST", "/echo", &Route{StreamBody: true, Handler: HandlerFunc(func(req *Request, res *Response) {
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
	})})
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
			res.OnWritable(func() { writable <- struct{}{} })
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
