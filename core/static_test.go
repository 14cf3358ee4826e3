package core

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
	"time"
)

// Static routes of a queue routing table are answered by the server: with
// nothing ever drained from the queue, GET, HEAD, If-None-Match and a POST
// to a route of any method get their answers, and only the dynamic route's
// request is queued.
func TestStaticRoutesAnsweredWithoutTheQueue(t *testing.T) {
	s, c, base := startServer(t, Config{MaxRequestBodySize: 1000}, nil)
	q, err := s.EventQueue()
	if err != nil {
		t.Fatal(err)
	}
	// "aG9tZQ==" is "home" in base64.
	routes, err := s.QueueRoutes([]byte(`{"routes":[
		{"method":"GET","pattern":"/","tag":1,"static":{"status":200,"headers":[["content-type","text/plain"],["etag","\"v1\""],["x-a","1"],["cache-control","max-age=60"],["content-length","99"]],"body":"aG9tZQ==","etag":"\"v1\""}},
		{"method":"GET","pattern":"/weak","tag":4,"static":{"status":200,"headers":[["etag","W/\"w\""]],"body":"","etag":"W/\"w\""}},
		{"method":"GET","pattern":"/missing","tag":5,"static":{"status":404,"headers":[["content-length","5"]],"body":"","etag":"\"n\""}},
		{"method":"*","pattern":"/gone","tag":2,"static":{"status":410,"headers":[],"body":""}},
		{"method":"GET","pattern":"/dynamic","tag":3}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s.SetRoutes(routes)

	resp, body := get(t, c, "GET", base+"/", nil)
	if resp.StatusCode != 200 || body != "home" || resp.Header.Get("Content-Type") != "text/plain" ||
		resp.Header.Get("Etag") != `"v1"` || resp.Header.Get("X-A") != "1" || resp.ContentLength != 4 {
		t.Fatalf("GET: %d %q %v (length %d)", resp.StatusCode, body, resp.Header, resp.ContentLength)
	}
	resp, body = get(t, c, "HEAD", base+"/", nil)
	if resp.StatusCode != 200 || body != "" || resp.Header.Get("Content-Length") != "4" {
		t.Fatalf("HEAD: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	for _, inm := range []string{`"v1"`, `W/"v1"`, `"x", "v1"`, `*`} {
		req, _ := http.NewRequest("GET", base+"/", nil)
		req.Header.Set("If-None-Match", inm)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// A 304 repeats what a cache needs (RFC 9110 section 15.4.5), not the rest.
		if resp.StatusCode != http.StatusNotModified || resp.Header.Get("Etag") != `"v1"` ||
			resp.Header.Get("Cache-Control") != "max-age=60" || resp.Header.Get("X-A") != "" || resp.Header.Get("Content-Type") != "" {
			t.Fatalf("If-None-Match %s: %d %v", inm, resp.StatusCode, resp.Header)
		}
	}
	// Weak comparison both ways; no 304 for a response that is not a 2xx.
	if code := statusWith(t, c, base+"/weak", `"w"`); code != http.StatusNotModified {
		t.Errorf("weak ETag against a strong If-None-Match: %d", code)
	}
	if code := statusWith(t, c, base+"/missing", `"n"`); code != http.StatusNotFound {
		t.Errorf("404 with an ETag: %d", code)
	}
	// A declared Content-Length gives way to the body's own, for GET and HEAD alike.
	for _, method := range []string{"GET", "HEAD"} {
		if resp, _ := get(t, c, method, base+"/missing", nil); resp.Header.Get("Content-Length") != "0" {
			t.Errorf("%s /missing: Content-Length %q", method, resp.Header.Get("Content-Length"))
		}
	}
	req, _ := http.NewRequest("GET", base+"/", nil)
	req.Header.Set("If-None-Match", `"other"`)
	if resp, err := c.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("a different ETag: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// The body is not read: past the size limit the answer is still the static one, not 413.
	resp, body = get(t, c, "POST", base+"/gone", make([]byte, 100_000))
	if resp.StatusCode != 410 || body != "" {
		t.Fatalf("POST /gone: %d %q", resp.StatusCode, body)
	}
	if n := q.Len(); n != 0 {
		t.Fatalf("%d events queued for static routes", n)
	}

	// The dynamic route still goes to the queue (answered here by id).
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := c.Get(base + "/dynamic")
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	r := newBodyReader(q)
	for i := 0; r.id == 0 && i < 500; i++ {
		r.drain(func([]byte) {})
		if r.id == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	res, ok := LookupResponse(r.id)
	if !ok {
		t.Fatal("no request event for the dynamic route")
	}
	if err := res.Respond(200, nil, []byte("dynamic"), true); err != nil {
		t.Fatal(err)
	}
	if resp := <-done; resp == nil || resp.StatusCode != 200 {
		t.Fatalf("dynamic: %v", resp)
	}
}

// statusWith is the status of a GET of url with If-None-Match inm.
func statusWith(t *testing.T, c *http.Client, url, inm string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("If-None-Match", inm)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A static file is read at each request: Range works, a change shows, a
// missing file gives 404.
func TestStaticFileRoute(t *testing.T) {
	path := tempFile(t, "f.bin", "0123456789")
	s, c, base := startServer(t, Config{}, nil)
	spec, _ := json.Marshal(map[string]any{"routes": []any{
		map[string]any{"method": "GET", "pattern": "/f", "tag": 1, "static": map[string]any{"status": 200, "headers": [][2]string{{"x-f", "1"}}, "file": path}},
	}})
	routes, err := s.QueueRoutes(spec)
	if err != nil {
		t.Fatal(err)
	}
	s.SetRoutes(routes)
	if resp, body := get(t, c, "GET", base+"/f", nil); resp.StatusCode != 200 || body != "0123456789" || resp.Header.Get("X-F") != "1" {
		t.Fatalf("GET: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	req, _ := http.NewRequest("GET", base+"/f", nil)
	req.Header.Set("Range", "bytes=2-4")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || string(b) != "234" {
		t.Fatalf("Range: %d %q", resp.StatusCode, b)
	}
	if err := os.WriteFile(path, []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, c, "GET", base+"/f", nil); body != "changed" {
		t.Fatalf("after a change: %q", body)
	}
	os.Remove(path)
	if resp, _ := get(t, c, "GET", base+"/f", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("missing file: %d", resp.StatusCode)
	}
}

func TestStaticRouteSpecRefusesABadHead(t *testing.T) {
	s, _, _ := startServer(t, Config{}, nil)
	for _, spec := range []string{
		`{"routes":[{"method":"GET","pattern":"/","tag":1,"static":{"status":99,"headers":[],"body":""}}]}`,
		`{"routes":[{"method":"GET","pattern":"/","tag":1,"static":{"status":200,"headers":[["bad name","x"]],"body":""}}]}`,
		`{"routes":[{"method":"GET","pattern":"/","tag":1,"static":{"status":200,"headers":[],"body":"not base64!"}}]}`,
		`{"routes":[{"method":"POST","pattern":"/","tag":1,"streaming":true,"static":{"status":200,"headers":[],"body":""}}]}`,
		`{"routes":[{"method":"GET","pattern":"/","tag":1,"static":{"status":200,"headers":[],"body":"aG9tZQ==","file":"/etc/hostname"}}]}`,
	} {
		if _, err := s.QueueRoutes([]byte(spec)); err == nil {
			t.Errorf("accepted %s", spec)
		}
	}
}
