package core

import (
	"net/http"
	"testing"
	"time"
)

// Static routes of a queue routing table are answered by the server: with
// nothing ever drained from the queue, GET, HEAD, If-None-Match and a POST
// to a route of any method get their answers, and only the dynamic route's
// request is queued.
func TestStaticRoutesAnsweredWithoutTheQueue(t *testing.T) {
	s, c, base := startServer(t, Config{}, nil)
	q, err := s.EventQueue()
	if err != nil {
		t.Fatal(err)
	}
	// "aG9tZQ==" is "home" in base64.
	routes, err := s.QueueRoutes([]byte(`{"routes":[
		{"method":"GET","pattern":"/","tag":1,"static":{"status":200,"headers":[["content-type","text/plain"],["etag","\"v1\""],["x-a","1"]],"body":"aG9tZQ==","etag":"\"v1\""}},
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
		if resp.StatusCode != http.StatusNotModified || resp.Header.Get("Etag") != `"v1"` {
			t.Fatalf("If-None-Match %s: %d %v", inm, resp.StatusCode, resp.Header)
		}
	}
	req, _ := http.NewRequest("GET", base+"/", nil)
	req.Header.Set("If-None-Match", `"other"`)
	if resp, err := c.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("a different ETag: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	resp, body = get(t, c, "POST", base+"/gone", []byte("ignored"))
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

func TestStaticRouteSpecRefusesABadHead(t *testing.T) {
	s, _, _ := startServer(t, Config{}, nil)
	for _, spec := range []string{
		`{"routes":[{"method":"GET","pattern":"/","tag":1,"static":{"status":99,"headers":[],"body":""}}]}`,
		`{"routes":[{"method":"GET","pattern":"/","tag":1,"static":{"status":200,"headers":[["bad name","x"]],"body":""}}]}`,
		`{"routes":[{"method":"GET","pattern":"/","tag":1,"static":{"status":200,"headers":[],"body":"not base64!"}}]}`,
	} {
		if _, err := s.QueueRoutes([]byte(spec)); err == nil {
			t.Errorf("accepted %s", spec)
		}
	}
}
