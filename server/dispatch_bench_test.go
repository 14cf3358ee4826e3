package server

import (
	"io"
	"net/http"
	"net/url"
	"testing"
)

// BenchmarkDispatch measures the core's part of one small GET without the
// network: from the http3 handler call to the recorded response written to
// a ResponseWriter that keeps nothing, against a net/http handler doing the
// same on the same writer (what server (e) runs). The difference is what
// the core adds per request to quic-go's own work.
func BenchmarkDispatch(b *testing.B) {
	s, err := NewServer(Config{BindAddr: "127.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	hello := []byte("hello")
	if err := s.HandleFunc("GET", "/small", func(_ *Request, res *Response) { _ = res.Respond(200, benchText, hello, true) }); err != nil {
		b.Fatal(err)
	}
	s.routes.Store(NewRoutes(&s.builder, s.fallback)) // as Start does
	mux := http.NewServeMux()
	mux.HandleFunc("GET /small", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain;charset=utf-8")
		_, _ = io.WriteString(w, "hello")
	})
	u := &url.URL{Path: "/small"}
	for _, tc := range []struct {
		name  string
		serve func(http.ResponseWriter, *http.Request)
	}{
		{"core", s.serveHTTP},
		{"net-http", mux.ServeHTTP},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				hr := &http.Request{Method: "GET", URL: u, Proto: "HTTP/3.0", ProtoMajor: 3, Host: "127.0.0.1",
					Header: http.Header{"User-Agent": {"loadgen"}}, Body: http.NoBody, ContentLength: -1, RemoteAddr: "127.0.0.1:1"}
				tc.serve(&discardWriter{header: http.Header{}}, hr)
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing but its header map.
type discardWriter struct{ header http.Header }

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) Flush()                      {}
