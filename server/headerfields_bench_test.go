package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// manyFields is a GET with n small header fields.
func manyFields(n int) []byte {
	fields := make([]string, 0, 2*n)
	for i := range n {
		fields = append(fields, fmt.Sprintf("x-f%05d", i), "v")
	}
	return request("GET", "/buf", fields...)
}

// startPlainH3 starts a plain quic-go http3.Server on 127.0.0.1 answering
// 200 "ok", and returns its port.
func startPlainH3(b *testing.B) int {
	cert, err := DevCertificate()
	if err != nil {
		b.Fatal(err)
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	srv := &http3.Server{
		TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}}),
		Handler:   http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }),
	}
	go func() { _ = srv.Serve(udp) }()
	b.Cleanup(func() { srv.Close(); udp.Close() })
	return udp.LocalAddr().(*net.UDPAddr).Port
}

// BenchmarkHeaderFields measures a request with many small header fields
// against this server (MaxHeaderFields raised to let them in) and against
// a plain quic-go http3.Server in the same process: the difference is this
// server's per-field cost. "refused" is the same request at the default
// MaxHeaderFields (431).
func BenchmarkHeaderFields(b *testing.B) {
	for _, n := range []int{100, 10000} {
		req := manyFields(n)
		b.Run(fmt.Sprintf("plain/%d", n), func(b *testing.B) {
			benchRequests(b, dialRawPort(b, startPlainH3(b)), req, 200)
		})
		b.Run(fmt.Sprintf("server/%d", n), func(b *testing.B) {
			benchRequests(b, dialRaw(b, benchServer(b, 2*n)), req, 200)
		})
	}
	b.Run("refused/10000", func(b *testing.B) {
		benchRequests(b, dialRaw(b, benchServer(b, 0)), manyFields(10000), 431)
	})
}

// benchServer starts a server with a GET /buf route.
func benchServer(b *testing.B, maxFields int) *Server {
	s, err := NewServer(Config{BindAddr: "127.0.0.1", MaxHeaderFields: maxFields})
	if err != nil {
		b.Fatal(err)
	}
	_ = s.HandleFunc("GET", "/buf", func(_ *Request, res *Response) { res.End([]byte("ok")) })
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Stop(true) })
	return s
}

func benchRequests(b *testing.B, qc *quic.Conn, req []byte, status int) {
	for b.Loop() {
		if got := rawRequest(b, qc, req, true); got.status != status {
			b.Fatal(got)
		}
	}
}
