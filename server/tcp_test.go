package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zig-h3/h3bun/client/clienttest"
)

// tcpClient returns a net/http client over TLS on TCP: HTTP/2 when h2,
// else HTTP/1.1 only.
func tcpClient(t *testing.T, h2 bool) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: h2}
	var p http.Protocols
	p.SetHTTP1(!h2)
	p.SetHTTP2(h2)
	tr.Protocols = &p
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// startTCPServer starts a server with TCP on and the routes of setup.
func startTCPServer(t *testing.T, cfg Config, setup func(s *Server)) (*Server, string) {
	t.Helper()
	cfg.TCP = true
	s, _, base := startServer(t, cfg, setup)
	return s, base
}

// The same routes answer over HTTP/1.1, HTTP/2 and HTTP/3 on one port
// number, every TCP response says where HTTP/3 is, and the requests are
// counted by protocol.
func TestTCPServesTheSameRoutes(t *testing.T) {
	s, base := startTCPServer(t, Config{MaxRequestBodySize: 100}, func(s *Server) {
		mustRoute(t, s, "GET", "/hello/:name", func(req *Request, res *Response) {
			_ = res.Respond(200, []HeaderField{{Name: "content-type", Value: "text/plain"}}, []byte("hello "+req.Params[0].Value), true)
		})
		mustRoute(t, s, "POST", "/small", func(req *Request, res *Response) { _ = res.End(req.Body) })
		if err := s.Route("POST", "/echo", Route{StreamBody: true, Handler: HandlerFunc(echoWithTrailer)}); err != nil {
			t.Fatal(err)
		}
	})
	altSvc := fmt.Sprintf(`h3=":%d"; ma=86400`, s.Port())
	big := bytes.Repeat([]byte("0123456789abcdef"), 5<<16) // 5 MiB
	for _, c := range []struct {
		name  string
		c     *http.Client
		proto string
	}{
		{"HTTP/1.1", tcpClient(t, false), "HTTP/1.1"},
		{"HTTP/2", tcpClient(t, true), "HTTP/2.0"},
		{"HTTP/3", clienttest.HTTPClient(t), "HTTP/3.0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := get(t, c.c, "GET", base+"/hello/tcp", nil)
			wantAlt := altSvc
			if c.proto == "HTTP/3.0" {
				wantAlt = ""
			}
			if resp.Proto != c.proto || resp.StatusCode != 200 || body != "hello tcp" || resp.Header.Get("Alt-Svc") != wantAlt {
				t.Fatalf("GET: %s %d %q alt-svc %q", resp.Proto, resp.StatusCode, body, resp.Header.Get("Alt-Svc"))
			}
			if resp, _ := get(t, c.c, "POST", base+"/small", make([]byte, 101)); resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("over the body limit: %d", resp.StatusCode)
			}
			req, _ := http.NewRequest("POST", base+"/echo", bytes.NewReader(big))
			req.Trailer = http.Header{"X-Sum": {"42"}}
			req.ContentLength = -1 // chunked on HTTP/1.1, so that trailers can follow
			resp, err := c.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Equal(got, big) || resp.Trailer.Get("X-Got-Sum") != "42" {
				t.Fatalf("5 MiB echo: %d of %d bytes, %v, trailers %v", len(got), len(big), err, resp.Trailer)
			}
		})
	}
	if resp, _ := get(t, tcpClient(t, true), "CONNECT", base+"/hello/x", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("CONNECT over TCP: %d", resp.StatusCode)
	}
	if st := s.Stats(); st.RequestsHTTP1 != 3 || st.RequestsHTTP2 != 4 || st.RequestsHTTP3 != 3 {
		t.Fatalf("requests by protocol: %d %d %d", st.RequestsHTTP1, st.RequestsHTTP2, st.RequestsHTTP3)
	}
}

// echoWithTrailer streams the body back and answers its trailer X-Sum as
// X-Got-Sum.
func echoWithTrailer(req *Request, res *Response) {
	res.DeferEnd()
	req.GoBody(func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := req.ReadBody(buf)
			if n > 0 {
				_ = res.Write(buf[:n])
			}
			if err == io.EOF {
				_ = res.SendTrailers([]HeaderField{{Name: "x-got-sum", Value: headerValue(req.Trailers(), "x-sum")}})
			}
			if err != nil {
				return // another error aborts the response
			}
		}
	})
}

func TestTCPAltSvcOptions(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"custom", Config{AltSvc: `h3=":443"`}, `h3=":443"`},
		{"off", Config{NoAltSvc: true}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, base := startTCPServer(t, c.cfg, func(s *Server) {
				mustRoute(t, s, "GET", "/", func(_ *Request, _ *Response) {})
				mustRoute(t, s, "GET", "/panic", func(_ *Request, res *Response) {
					_ = res.AddHeader("x-recorded", "1")
					panic("boom")
				})
				h, err := NewStaticHandler(200, []HeaderField{{Name: "x-static", Value: "1"}}, []byte("static"))
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Route("GET", "/static", h.Route()); err != nil {
					t.Fatal(err)
				}
			})
			// The server's field goes with every answer: the handler's, a
			// static route's, and the 500 that replaces a handler's.
			for _, p := range []string{"/", "/static", "/panic"} {
				resp, _ := get(t, tcpClient(t, true), "GET", base+p, nil)
				if resp.Header.Get("Alt-Svc") != c.want || resp.Header.Get("X-Recorded") != "" {
					t.Fatalf("%s: %d alt-svc %q, want %q; header %v", p, resp.StatusCode, resp.Header.Get("Alt-Svc"), c.want, resp.Header)
				}
			}
		})
	}
	// A handler's own Alt-Svc replaces the server's.
	_, base := startTCPServer(t, Config{AltSvc: `h3=":443"`}, func(s *Server) {
		mustRoute(t, s, "GET", "/", func(_ *Request, res *Response) { _ = res.AddHeader("alt-svc", "clear") })
	})
	if resp, _ := get(t, tcpClient(t, true), "GET", base+"/", nil); len(resp.Header.Values("Alt-Svc")) != 1 || resp.Header.Get("Alt-Svc") != "clear" {
		t.Fatalf("alt-svc %q, want the handler's", resp.Header.Values("Alt-Svc"))
	}
	if _, err := NewServer(Config{TCP: true, AltSvc: "a\r\nb"}); err == nil {
		t.Fatal("an Alt-Svc value with CR LF was accepted")
	}
}

// A graceful stop lets a TCP request in flight finish; a forced one cuts
// it, also a streaming one whose body is still coming (HTTP/1.1 does not
// end such a request's context when its connection closes).
func TestTCPStop(t *testing.T) {
	for _, c := range []struct {
		name      string
		h2, force bool
	}{{"HTTP/1.1 graceful", false, false}, {"HTTP/1.1 forced", false, true}, {"HTTP/2 graceful", true, false}, {"HTTP/2 forced", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			entered, release := make(chan struct{}), make(chan struct{})
			s, base := startTCPServer(t, Config{}, func(s *Server) {
				err := s.Route("POST", "/slow", Route{StreamBody: true, Handler: HandlerFunc(func(_ *Request, res *Response) {
					res.DeferEnd()
					_ = res.Write([]byte("head ")) // the head goes out; the body is not read
					close(entered)
					go func() {
						<-release
						_ = res.End([]byte("done"))
					}()
				})})
				if err != nil {
					t.Fatal(err)
				}
			})
			upload, uploadW := io.Pipe() // a body that never ends
			defer uploadW.Close()
			result := make(chan string, 1)
			go func() {
				resp, err := tcpClient(t, c.h2).Post(base+"/slow", "application/octet-stream", upload)
				if err != nil {
					result <- "error"
					return
				}
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					result <- "error"
					return
				}
				result <- string(b)
			}()
			_, _ = uploadW.Write([]byte("some"))
			<-entered
			stopped := make(chan struct{})
			go func() { _ = s.Stop(c.force); close(stopped) }()
			if c.force {
				select { // a forced stop cuts the request: the handler never ends it
				case <-stopped:
				case <-time.After(10 * time.Second):
					t.Fatal("a forced Stop waited for the request")
				}
				// When the connection closes before the response head reached
				// the client, Go's HTTP/1.1 client waits for its body writer
				// to finish before it reports the error, and this body never
				// ends by itself.
				uploadW.CloseWithError(errors.New("the server stopped"))
			} else {
				time.Sleep(50 * time.Millisecond)
			}
			close(release)
			want := map[bool]string{false: "head done", true: "error"}[c.force]
			select {
			case got := <-result:
				if got != want {
					t.Fatalf("in flight: %q, want %q", got, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the request in flight never ended")
			}
			select {
			case <-stopped:
			case <-time.After(10 * time.Second):
				t.Fatal("Stop never returned")
			}
			if _, err := tcpClient(t, c.h2).Get(base + "/slow"); err == nil || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("after stop: %v", err)
			}
		})
	}
}

// rawTLS opens a TLS connection to the server of base speaking HTTP/1.1,
// for requests written by hand (a client that stalls mid-body).
func rawTLS(t *testing.T, base string) *tls.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", strings.TrimPrefix(base, "https://"), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A streaming route that answers without reading the upload answers at
// once over HTTP/1.1 too, while the client stalls mid-body: the rest of
// the body is refused, not waited for (net/http's HTTP/1 body close would
// read on for as long as the client takes).
func TestTCPAnswerWithoutReadingTheBody(t *testing.T) {
	s, base := startTCPServer(t, Config{}, func(s *Server) {
		err := s.Route("POST", "/deny", Route{StreamBody: true, Handler: HandlerFunc(func(_ *Request, res *Response) {
			_ = res.Reject(http.StatusUnauthorized)
		})})
		if err != nil {
			t.Fatal(err)
		}
	})
	c := rawTLS(t, base)
	_, _ = io.WriteString(c, "POST /deny HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 401") {
		t.Fatalf("status line %q, %v: the answer waited for the upload", line, err)
	}
	for deadline := time.Now().Add(5 * time.Second); s.Stats().RequestsActive != 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the request stayed active")
		}
	}
}

// A forced stop ends an HTTP/1.1 request whose body the handler never
// reads (closing the connection alone does not end its context).
func TestTCPForcedStopEndsAStalledUpload(t *testing.T) {
	entered := make(chan struct{})
	s, base := startTCPServer(t, Config{}, func(s *Server) {
		err := s.Route("POST", "/held", Route{StreamBody: true, Handler: HandlerFunc(func(_ *Request, res *Response) {
			res.DeferEnd()
			_ = res.Write([]byte("head"))
			close(entered)
		})})
		if err != nil {
			t.Fatal(err)
		}
	})
	c := rawTLS(t, base)
	_, _ = io.WriteString(c, "POST /held HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
	<-entered
	stopped := make(chan struct{})
	go func() { _ = s.Stop(true); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop(true) waited for the stalled request")
	}
}

// Trailers known before the head (a whole body ended with trailers) reach
// HTTP/1.1 clients (chunked) and HTTP/2 clients alike.
func TestTCPTrailersOfAWholeBody(t *testing.T) {
	_, base := startTCPServer(t, Config{}, func(s *Server) {
		mustRoute(t, s, "GET", "/t", func(_ *Request, res *Response) {
			_, _ = res.Send([]byte("abc"), true, []HeaderField{{Name: "x-sum", Value: "42"}})
		})
	})
	for _, h2 := range []bool{false, true} {
		resp, body := get(t, tcpClient(t, h2), "GET", base+"/t", nil)
		if body != "abc" || resp.Trailer.Get("X-Sum") != "42" || resp.ContentLength != -1 {
			t.Errorf("%s: %q, trailers %v, length %d", resp.Proto, body, resp.Trailer, resp.ContentLength)
		}
	}
}

// TCP connections have ids and numbered requests as QUIC ones do, and their
// end reaches OnConnectionClose.
func TestTCPConnectionIDsAndClose(t *testing.T) {
	closed := make(chan string, 4)
	seen := make(chan string, 4)
	_, base := startTCPServer(t, Config{}, func(s *Server) {
		s.OnConnectionClose(func(id []byte) { closed <- fmt.Sprintf("%x", id) })
		mustRoute(t, s, "GET", "/id", func(req *Request, res *Response) {
			seen <- fmt.Sprintf("%x/%d", req.ConnID, req.StreamID)
		})
	})
	c := tcpClient(t, false)
	get(t, c, "GET", base+"/id", nil)
	get(t, c, "GET", base+"/id", nil) // the same keep-alive connection
	first, second := <-seen, <-seen
	id, _, _ := strings.Cut(first, "/")
	if len(id) != 16 || first != id+"/0" || second != id+"/4" {
		t.Fatalf("requests %q and %q", first, second)
	}
	c.Transport.(*http.Transport).CloseIdleConnections()
	select {
	case got := <-closed:
		if got != id {
			t.Fatalf("closed %s, want %s", got, id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnConnectionClose not called for a TCP connection")
	}
}
