package bridge

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zig-h3/h3bun/server"
)

// staticRoute is one route of a queue route spec with a "static" object
// (encoding/json sends the []byte fields in base64, as the spec wants):
// head holds name, value pairs.
func staticRoute(t *testing.T, method, pattern string, status int, body, file string, head ...string) map[string]any {
	t.Helper()
	var block string
	for _, s := range head {
		block += s + "\x00"
	}
	st := map[string]any{"status": status, "head": []byte(block), "body": []byte(body)}
	if file != "" {
		st["file"] = file
	}
	return map[string]any{"method": method, "pattern": pattern, "tag": 1, "static": st}
}

// routeSpec is the JSON of a queue route spec with these routes.
func routeSpec(t *testing.T, routes ...map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"routes": routes})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Static routes of a queue routing table are answered by the server: with
// nothing ever drained from the queue, GET, HEAD, If-None-Match and a POST
// to a route of any method get their answers, and only the dynamic route's
// request is queued.
func TestStaticRoutesAnsweredWithoutTheQueue(t *testing.T) {
	q, c, base := startQueue(t, server.Config{MaxRequestBodySize: 1000}, routeSpec(t,
		staticRoute(t, "GET", "/", 200, "home", "", "content-type", "text/plain", "etag", `"v1"`, "x-a", "1",
			"cache-control", "max-age=60", "content-length", "99"),
		staticRoute(t, "GET", "/weak", 200, "", "", "etag", `W/"w"`),
		staticRoute(t, "GET", "/missing", 404, "", "", "content-length", "5", "etag", `"n"`),
		staticRoute(t, "*", "/gone", 410, "", ""),
		map[string]any{"method": "GET", "pattern": "/dynamic", "tag": 3},
	))

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
		resp, _ := get(t, c, "GET", base+"/", nil, "If-None-Match", inm)
		// A 304 repeats what a cache needs (RFC 9110 section 15.4.5), not the rest.
		if resp.StatusCode != http.StatusNotModified || resp.Header.Get("Etag") != `"v1"` ||
			resp.Header.Get("Cache-Control") != "max-age=60" || resp.Header.Get("X-A") != "" || resp.Header.Get("Content-Type") != "" {
			t.Fatalf("If-None-Match %s: %d %v", inm, resp.StatusCode, resp.Header)
		}
	}
	// Weak comparison both ways; no 304 for a response that is not a 2xx.
	if resp, _ := get(t, c, "GET", base+"/weak", nil, "If-None-Match", `"w"`); resp.StatusCode != http.StatusNotModified {
		t.Errorf("weak ETag against a strong If-None-Match: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c, "GET", base+"/missing", nil, "If-None-Match", `"n"`); resp.StatusCode != http.StatusNotFound {
		t.Errorf("404 with an ETag: %d", resp.StatusCode)
	}
	// A declared Content-Length gives way to the body's own, for GET and HEAD alike.
	for _, method := range []string{"GET", "HEAD"} {
		if resp, _ := get(t, c, method, base+"/missing", nil); resp.Header.Get("Content-Length") != "0" {
			t.Errorf("%s /missing: Content-Length %q", method, resp.Header.Get("Content-Length"))
		}
	}
	if resp, _ := get(t, c, "GET", base+"/", nil, "If-None-Match", `"other"`); resp.StatusCode != 200 {
		t.Fatalf("a different ETag: %d", resp.StatusCode)
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
	res := r.open(t)
	if err := res.Respond(200, nil, []byte("dynamic"), true); err != nil {
		t.Fatal(err)
	}
	select {
	case resp := <-done:
		if resp == nil || resp.StatusCode != 200 {
			t.Fatalf("dynamic: %v", resp)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the dynamic route's answer never arrived")
	}
}

// A static file is read at each request: Range works, a change shows, a
// missing file gives 404.
func TestStaticFileRoute(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.bin")
	if err := os.WriteFile(path, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, c, base := startQueue(t, server.Config{}, routeSpec(t, staticRoute(t, "GET", "/f", 200, "", path, "x-f", "1")))
	if resp, body := get(t, c, "GET", base+"/f", nil); resp.StatusCode != 200 || body != "0123456789" || resp.Header.Get("X-F") != "1" {
		t.Fatalf("GET: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if resp, body := get(t, c, "GET", base+"/f", nil, "Range", "bytes=2-4"); resp.StatusCode != http.StatusPartialContent || body != "234" {
		t.Fatalf("Range: %d %q", resp.StatusCode, body)
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
	s, err := NewServer(server.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	streaming := staticRoute(t, "POST", "/", 200, "", "")
	streaming["streaming"] = true
	for _, spec := range []string{
		routeSpec(t, staticRoute(t, "GET", "/", 99, "", "")),
		routeSpec(t, staticRoute(t, "GET", "/", 200, "", "", "bad name", "x")),
		routeSpec(t, staticRoute(t, "GET", "/", 200, "home", "/etc/hostname")),
		routeSpec(t, streaming),
		`{"routes":[{"method":"GET","pattern":"/","tag":1,"static":{"status":200,"body":"not base64!"}}]}`,
		`{"routes":[{"method":"GET","pattern":"/","tag":1,"static":{"status":200,"head":"` + "eA==" + `"}}]}`, // "x": no NUL after the name
	} {
		if _, err := s.EventRoutes([]byte(spec)); err == nil {
			t.Errorf("accepted %s", spec)
		}
	}
}
