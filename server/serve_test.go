package server

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// A whole body gets its own length as Content-Length, whatever the handler
// declared, on GET and HEAD alike; a HEAD answered without a body keeps a
// declared length (the length a GET would get).
func TestContentLengthOfAWholeBodyIsItsLength(t *testing.T) {
	_, c, base := startServer(t, Config{}, func(s *Server) {
		mustRoute(t, s, "GET", "/whole/:declared", func(req *Request, res *Response) {
			res.AddHeader("content-length", req.Params[0].Value)
			res.End([]byte("hello"))
		})
		mustRoute(t, s, "GET", "/head-only", func(req *Request, res *Response) {
			res.AddHeader("content-length", "42")
			res.End(nil)
		})
		mustRoute(t, s, "GET", "/trailers", func(req *Request, res *Response) {
			res.AddHeader("content-length", "3")
			_, _ = res.Send([]byte("hello"), true, []HeaderField{{Name: "x-sum", Value: "1"}})
		})
	})
	for _, declared := range []string{"2", "5", "10"} {
		for _, method := range []string{"GET", "HEAD"} {
			resp, body := get(t, c, method, base+"/whole/"+declared, nil)
			want := map[string]string{"GET": "hello", "HEAD": ""}[method]
			if resp.StatusCode != 200 || body != want || resp.ContentLength != 5 {
				t.Errorf("%s declared %s: %d %q content-length %d", method, declared, resp.StatusCode, body, resp.ContentLength)
			}
		}
	}
	if resp, body := get(t, c, "HEAD", base+"/head-only", nil); resp.StatusCode != 200 || body != "" || resp.ContentLength != 42 {
		t.Errorf("HEAD without body: %d %q content-length %d", resp.StatusCode, body, resp.ContentLength)
	}
	if resp, body := get(t, c, "GET", base+"/head-only", nil); body != "" || resp.ContentLength != 0 {
		t.Errorf("GET without body: %q content-length %d", body, resp.ContentLength)
	}
	resp, body := get(t, c, "GET", base+"/trailers", nil)
	if body != "hello" || resp.ContentLength != 5 || resp.Trailer.Get("X-Sum") != "1" {
		t.Errorf("whole body with trailers: %q content-length %d trailers %v", body, resp.ContentLength, resp.Trailer)
	}
}

// A streamed body that ends short of, or runs past, the Content-Length its
// head declared resets the stream (the client sees an error, not a body
// cut short or cut off), and the server says why at warn level: whether
// the body was all recorded before the head went out or came later.
func TestStreamedBodyBreakingContentLengthResetsTheStream(t *testing.T) {
	var mu sync.Mutex
	var logs []string
	_, c, base := startServer(t, Config{Logger: func(level int, line string) {
		if level == LogWarn {
			mu.Lock()
			logs = append(logs, line)
			mu.Unlock()
		}
	}}, func(s *Server) {
		mustRoute(t, s, "GET", "/at-once/:declared", func(req *Request, res *Response) {
			res.AddHeader("content-length", req.Params[0].Value)
			_ = res.Write([]byte("hello"))
			_ = res.Write([]byte(" world"))
		})
		mustRoute(t, s, "GET", "/later/:declared", func(req *Request, res *Response) {
			res.AddHeader("content-length", req.Params[0].Value)
			_ = res.Write([]byte("hello"))
			res.DeferEnd()
			go func() {
				time.Sleep(50 * time.Millisecond) // the head and "hello" are out by now
				_ = res.Write([]byte(" world"))
				_ = res.End(nil)
			}()
		})
	})
	for _, kind := range []string{"at-once", "later"} {
		resp, body := get(t, c, "GET", base+"/"+kind+"/11", nil)
		if resp.StatusCode != 200 || body != "hello world" {
			t.Fatalf("%s, exact length: %d %q", kind, resp.StatusCode, body)
		}
		for _, declared := range []string{"5", "20"} {
			// The reset comes before the head or in the body, depending on
			// what had gone out: either way the client sees an error.
			resp, err := c.Get(base + "/" + kind + "/" + declared)
			if err == nil {
				var b []byte
				b, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil {
					t.Errorf("%s, declared %s: read %q without error", kind, declared, b)
				}
			} else if kind == "later" {
				t.Errorf("%s, declared %s: %v before the head, which went out first", kind, declared, err)
			}
			if err != nil && !strings.Contains(err.Error(), "H3_INTERNAL_ERROR") {
				t.Errorf("%s, declared %s: %v, want a stream reset with H3_INTERNAL_ERROR", kind, declared, err)
			}
		}
	}
	// Each warning is logged once its serving goroutine is done, which may
	// be after the client saw the reset: wait (bounded), in any order.
	want := []string{
		"GET /at-once/5: response reset: the body is longer than its Content-Length of 5 bytes",
		"GET /at-once/20: response reset: the body ended after 11 of the 20 bytes its Content-Length declares",
		"GET /later/5: response reset: the body is longer than its Content-Length of 5 bytes",
		"GET /later/20: response reset: the body ended after 11 of the 20 bytes its Content-Length declares",
	}
	slices.Sort(want)
	var got []string
	for i := 0; i < 200; i++ {
		mu.Lock()
		got = slices.Clone(logs)
		mu.Unlock()
		if len(got) >= len(want) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A declared length stays on HEAD responses and on 304, the head of a HEAD
// is not reported as aborted when the body a GET would get is longer, a
// HEAD's streamed body gives no length, and a length that is not one
// decimal number, or on a 204, is dropped.
func TestDeclaredLengthWithoutBody(t *testing.T) {
	var mu sync.Mutex
	closed, aborted := 0, 0
	_, c, base := startServer(t, Config{}, func(s *Server) {
		s.OnStreamClose(func(_ []byte, _ uint64, a bool) {
			mu.Lock()
			closed++
			if a {
				aborted++
			}
			mu.Unlock()
		})
		mustRoute(t, s, "GET", "/not-modified", func(req *Request, res *Response) {
			_ = res.SetStatus(http.StatusNotModified)
			res.AddHeader("content-length", "42")
			_ = res.Write(nil)
		})
		mustRoute(t, s, "GET", "/no-content", func(req *Request, res *Response) {
			_ = res.SetStatus(http.StatusNoContent)
			res.AddHeader("content-length", "0")
			_ = res.Write(nil)
		})
		mustRoute(t, s, "GET", "/streamed/:declared", func(req *Request, res *Response) {
			res.AddHeader("content-length", req.Params[0].Value)
			_ = res.Write([]byte("hello world"))
		})
		mustRoute(t, s, "GET", "/undeclared", func(req *Request, res *Response) {
			_ = res.Write([]byte("hello"))
		})
		mustRoute(t, s, "GET", "/invalid/:value", func(req *Request, res *Response) {
			res.AddHeader("content-length", req.Params[0].Value)
			_ = res.Write([]byte("x"))
		})
		mustRoute(t, s, "GET", "/list", func(req *Request, res *Response) {
			res.AddHeader("content-length", "1, 1")
			_ = res.Write([]byte("x"))
		})
		mustRoute(t, s, "GET", "/conflict", func(req *Request, res *Response) {
			res.AddHeader("content-length", "1")
			res.AddHeader("content-length", "2")
			_ = res.Write([]byte("x"))
		})
		mustRoute(t, s, "GET", "/twice", func(req *Request, res *Response) {
			res.AddHeader("content-length", "1")
			res.AddHeader("content-length", "1")
			_ = res.Write([]byte("x"))
		})
	})
	if resp, _ := get(t, c, "GET", base+"/not-modified", nil); resp.StatusCode != http.StatusNotModified || resp.Header.Get("Content-Length") != "42" {
		t.Errorf("304: %d content-length %q", resp.StatusCode, resp.Header.Get("Content-Length"))
	}
	if resp, _ := get(t, c, "GET", base+"/no-content", nil); resp.StatusCode != http.StatusNoContent || resp.Header.Values("Content-Length") != nil {
		t.Errorf("204: %d content-length %q", resp.StatusCode, resp.Header.Values("Content-Length"))
	}
	for _, declared := range []string{"42", "3"} {
		resp, body := get(t, c, "HEAD", base+"/streamed/"+declared, nil)
		if resp.StatusCode != 200 || body != "" || resp.Header.Get("Content-Length") != declared {
			t.Errorf("HEAD, declared %s: %d %q content-length %q", declared, resp.StatusCode, body, resp.Header.Get("Content-Length"))
		}
	}
	// A HEAD's streamed body says nothing about the length of GET's: none is
	// given (http3 would give the length of what the handler wrote).
	if resp, body := get(t, c, "HEAD", base+"/undeclared", nil); resp.StatusCode != 200 || body != "" || resp.Header.Values("Content-Length") != nil {
		t.Errorf("HEAD, streamed, no declared length: %d %q content-length %q", resp.StatusCode, body, resp.Header.Values("Content-Length"))
	}
	for _, path := range []string{"/invalid/abc", "/invalid/-1", "/invalid/+1", "/list", "/conflict", "/twice"} {
		resp, body := get(t, c, "GET", base+path, nil)
		// Dropped: http3 may then give the real length of this small body.
		if cl := resp.Header.Values("Content-Length"); resp.StatusCode != 200 || body != "x" || !(cl == nil || slices.Equal(cl, []string{"1"})) {
			t.Errorf("%s: %d %q content-length %q", path, resp.StatusCode, body, cl)
		}
	}
	// The close callback runs once the serving goroutine is done, which may
	// be after the client has the response: wait (bounded) for all 11.
	const requests = 11
	for i := 0; i < 200; i++ {
		mu.Lock()
		n := closed
		mu.Unlock()
		if n >= requests {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if closed != requests || aborted != 0 {
		t.Errorf("%d stream close callbacks, %d of them aborted; want %d, none aborted", closed, aborted, requests)
	}
}

// A body without a declared Content-Type goes without one: http3 would
// otherwise sniff a type from its first bytes (text/html here); a file of
// unknown extension is application/octet-stream, not sniffed either.
func TestNoContentTypeSniffing(t *testing.T) {
	markup := "<html><script>alert(1)</script></html>"
	files := map[string]string{}
	for _, name := range []string{"upload123", "page.html"} {
		files[name] = tempFile(t, name, markup)
	}
	_, c, base := startServer(t, Config{}, func(s *Server) {
		mustRoute(t, s, "GET", "/whole", func(req *Request, res *Response) {
			_ = res.End([]byte(markup))
		})
		mustRoute(t, s, "GET", "/streamed", func(req *Request, res *Response) {
			_ = res.Write([]byte(markup))
		})
		mustRoute(t, s, "GET", "/typed", func(req *Request, res *Response) {
			res.AddHeader("content-type", "text/html")
			_ = res.End([]byte("<p>ok</p>"))
		})
		mustRoute(t, s, "GET", "/file/:name", func(req *Request, res *Response) {
			_ = res.SendFile(200, nil, files[req.Params[0].Value])
		})
	})
	for _, path := range []string{"/whole", "/streamed"} {
		resp, body := get(t, c, "GET", base+path, nil)
		if got, ok := resp.Header["Content-Type"]; ok || body != markup {
			t.Errorf("%s: content-type %q, body %q", path, got, body)
		}
	}
	for path, want := range map[string]string{"/typed": "text/html", "/file/upload123": "application/octet-stream", "/file/page.html": "text/html; charset=utf-8"} {
		if resp, _ := get(t, c, "GET", base+path, nil); resp.Header.Get("Content-Type") != want {
			t.Errorf("%s: content-type %q, want %q", path, resp.Header.Get("Content-Type"), want)
		}
	}
}

// Abort resets the stream of a response whose body has begun, over HTTP/3,
// HTTP/2 and HTTP/1.1 alike: the client sees an error, never a cut body
// that looks complete; before the head is out the request is reset too.
// Either way the request is no longer active and Abort then says ErrClosed.
func TestAbortResetsTheResponse(t *testing.T) {
	aborted := make(chan error, 16)
	s, c, base := startServer(t, Config{TCP: true}, func(s *Server) {
		mustRoute(t, s, "GET", "/:when", func(req *Request, res *Response) {
			res.DeferEnd()
			go func() {
				if req.Params[0].Value == "after-body" {
					_ = res.Write([]byte("partial"))
					time.Sleep(50 * time.Millisecond) // the head and "partial" are out by now
				}
				if err := res.Abort(); err != nil {
					aborted <- err
					return
				}
				<-res.Done()
				aborted <- res.Abort()
			}()
		})
	})
	clients := map[string]*http.Client{"h3": c, "h2": tcpClient(t, true), "http/1.1": tcpClient(t, false)}
	for name, client := range clients {
		for _, when := range []string{"before-head", "after-body"} {
			resp, err := client.Get(base + "/" + when)
			if err == nil {
				var b []byte
				b, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil {
					t.Errorf("%s, %s: %d %q without error", name, when, resp.StatusCode, b)
				}
			}
			if name == "h3" && err != nil && when == "after-body" && !strings.Contains(err.Error(), "H3_INTERNAL_ERROR") {
				t.Errorf("%s, %s: %v, want a stream reset with H3_INTERNAL_ERROR", name, when, err)
			}
			select {
			case err := <-aborted:
				if !errors.Is(err, ErrClosed) {
					t.Errorf("%s, %s: Abort after the response finished: %v, want ErrClosed", name, when, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s, %s: the aborted response never finished", name, when)
			}
		}
	}
	for i := 0; i < 200 && s.Stats().RequestsActive > 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.Stats().RequestsActive; n != 0 {
		t.Errorf("RequestsActive = %d after the aborted responses, want 0", n)
	}
}

// Abort after End, while the ended body is still being written (the client
// reads slowly), resets the stream: the client never gets the whole body.
func TestAbortAfterEndWhileWriting(t *testing.T) {
	abort := make(chan *Response, 1)
	_, c, base := startServer(t, Config{}, func(s *Server) {
		mustRoute(t, s, "GET", "/big", func(_ *Request, res *Response) {
			chunk := make([]byte, 64<<10)
			for i := 0; i < 127; i++ {
				_, _ = res.Send(chunk, false, nil)
			}
			_, _ = res.Send(chunk, true, nil) // 8 MiB, ended
			abort <- res
		})
	})
	resp, err := c.Get(base + "/big")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 1)
	if _, err := io.ReadFull(resp.Body, first); err != nil { // the body is being written
		t.Fatal(err)
	}
	if err := (<-abort).Abort(); err != nil {
		t.Fatalf("Abort while the ended body is written: %v", err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil || n+1 >= 8<<20 {
		t.Fatalf("read %d more bytes, err %v: want a reset before the end", n, err)
	}
}
