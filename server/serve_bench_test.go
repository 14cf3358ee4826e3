package server

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"

	"github.com/zig-h3/h3bun/client/clienttest"
)

// BenchmarkSmallGET measures one small GET through the core (a Go handler,
// as in bench/servers/go-core) and through plain quic-go (http3.Server and
// webtransport-go with a net/http handler, as in bench/servers/pure-h3),
// client and server in one process over 127.0.0.1. The client's share is
// the same in both, so the difference in allocs/op and ns/op is the
// core's. make bench has the side-by-side numbers with separate processes.
func BenchmarkSmallGET(b *testing.B) {
	for _, tc := range []struct {
		name  string
		start func(b *testing.B) string
	}{
		{"core", startBenchCore},
		{"http3", startBenchHTTP3},
	} {
		b.Run(tc.name, func(b *testing.B) {
			url := tc.start(b) + "/small"
			c := clienttest.HTTPClient(b)
			get := func() {
				resp, err := c.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			get() // the handshake, outside the measurement
			b.ReportAllocs()
			b.SetParallelism(16) // 16 × GOMAXPROCS requests in flight on one connection
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					get()
				}
			})
		})
	}
}

var benchText = []HeaderField{{Name: "content-type", Value: "text/plain;charset=utf-8"}}

// startBenchCore starts the core as bench/servers/go-core does (datagrams
// and WebTransport on) with GET /small.
func startBenchCore(b *testing.B) string {
	s, err := NewServer(Config{BindAddr: "127.0.0.1", EnableDatagrams: true, EnableWebTransport: true, WebTransportOrigins: []string{"*"}})
	if err != nil {
		b.Fatal(err)
	}
	hello := []byte("hello")
	if err := s.HandleFunc("GET", "/small", func(_ *Request, res *Response) { _ = res.Respond(200, benchText, hello, true) }); err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Stop(true) })
	return fmt.Sprintf("https://127.0.0.1:%d", s.Port())
}

// startBenchHTTP3 starts quic-go's http3.Server through webtransport-go, as
// bench/servers/pure-h3 does, with GET /small.
func startBenchHTTP3(b *testing.B) string {
	cert, err := DevCertificate()
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /small", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain;charset=utf-8")
		_, _ = io.WriteString(w, "hello")
	})
	h3 := &http3.Server{
		Handler:         mux,
		EnableDatagrams: true,
		TLSConfig:       http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}),
		QUICConfig:      &quic.Config{EnableDatagrams: true, EnableStreamResetPartialDelivery: true},
	}
	webtransport.ConfigureHTTP3Server(h3)
	wt := &webtransport.Server{H3: h3, CheckOrigin: func(*http.Request) bool { return true }}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = wt.Serve(udp) }()
	b.Cleanup(func() {
		_ = wt.Close()
		_ = udp.Close()
	})
	return fmt.Sprintf("https://127.0.0.1:%d", udp.LocalAddr().(*net.UDPAddr).Port)
}
