// Command pure-h3 is reference server (e): quic-go's own http3.Server and
// webtransport-go with plain net/http handlers, without this library's core.
// It shows what the core costs on top of quic-go. Routes as the other
// servers: GET /small, POST /echo-small, GET /download?bytes=N, GET /file,
// POST /upload, POST /dgram (HTTP/3 datagram echo) and CONNECT /wt
// (WebTransport datagram and bidirectional stream echo). Like the core in
// bench/servers/go-core, it serves every connection through webtransport-go.
//
// Env: BENCH_CERT, BENCH_KEY, BENCH_FILE, BENCH_PORT (default 0), and
// ZIG_H3_CPUPROFILE (a path: a CPU profile of the run, as server (b) writes
// through the bridge). It prints the UDP port on stdout when ready and stops
// on SIGTERM/SIGINT.
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"syscall"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"
)

func main() {
	cert, err := tls.LoadX509KeyPair(os.Getenv("BENCH_CERT"), os.Getenv("BENCH_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	port, _ := strconv.Atoi(os.Getenv("BENCH_PORT"))
	file := os.Getenv("BENCH_FILE")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /small", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain;charset=utf-8")
		_, _ = io.WriteString(w, "hello")
	})
	mux.HandleFunc("POST /echo-small", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return
		}
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET /download", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.ParseInt(r.URL.Query().Get("bytes"), 10, 64)
		chunk := make([]byte, 64<<10)
		for i := range chunk {
			chunk[i] = 'x'
		}
		for n > 0 {
			k := min(n, int64(len(chunk)))
			if _, err := w.Write(chunk[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	mux.HandleFunc("GET /file", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, file) })
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			return
		}
		_, _ = io.WriteString(w, strconv.FormatInt(n, 10))
	})
	mux.HandleFunc("POST /dgram", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		str := w.(http3.HTTPStreamer).HTTPStream()
		for {
			b, err := str.ReceiveDatagram(r.Context())
			if err != nil {
				return
			}
			_ = str.SendDatagram(b)
		}
	})
	h3 := &http3.Server{
		Handler:         mux,
		EnableDatagrams: true,
		TLSConfig:       http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}),
		QUICConfig:      &quic.Config{EnableDatagrams: true, EnableStreamResetPartialDelivery: true},
	}
	webtransport.ConfigureHTTP3Server(h3)
	wt := &webtransport.Server{H3: h3, CheckOrigin: func(*http.Request) bool { return true }}
	mux.HandleFunc("CONNECT /wt", func(w http.ResponseWriter, r *http.Request) {
		sess, err := wt.Upgrade(w, r)
		if err != nil {
			return
		}
		go func() {
			for {
				b, err := sess.ReceiveDatagram(context.Background())
				if err != nil {
					return
				}
				_ = sess.SendDatagram(b)
			}
		}()
		for {
			str, err := sess.AcceptStream(context.Background())
			if err != nil {
				return
			}
			go func() {
				_, _ = io.Copy(str, str)
				_ = str.Close()
			}()
		}
	})
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		log.Fatal(err)
	}
	stopProfile := startProfile(os.Getenv("ZIG_H3_CPUPROFILE"))
	fmt.Println(udp.LocalAddr().(*net.UDPAddr).Port)
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		stopProfile()
		_ = wt.Close()
		os.Exit(0)
	}()
	if err := wt.Serve(udp); err != nil {
		log.Fatal(err)
	}
}

// startProfile starts a CPU profile into path (none when empty) and returns
// what stops it.
func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
