// Command go-core is benchmark server (b): the library's server package
// with Go handlers (server.Route, server.HandlerFunc), no C ABI and no JS.
// It is the ceiling the Bun path is measured against.
//
// Routes: GET /small, GET /static (server.NewStaticHandler), POST /echo-small, GET /download?bytes=N (streamed with
// Response.Send, paced on Response.Pending), GET /file (Response.SendFile of
// $BENCH_FILE), POST /upload (streaming body, answers the byte count),
// POST /dgram (HTTP/3 datagram echo: a route with Route.Datagrams),
// GET /stats (the server's counters as JSON) and CONNECT /wt (WebTransport
// echo: the route's session handler accepts in Go; the session's datagrams
// and streams reach Go through the bridge's event queue, which this program
// drains itself, as the Bun wrapper does, minus JS).
//
// Env: BENCH_CERT, BENCH_KEY (PEM paths), BENCH_FILE, BENCH_PORT (default 0).
// It prints the UDP port on stdout when ready and stops on SIGTERM/SIGINT.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/zig-h3/h3bun/bridge"
	"github.com/zig-h3/h3bun/server"
)

var plain = []server.HeaderField{{Name: "content-type", Value: "text/plain;charset=utf-8"}}

func main() {
	port, _ := strconv.Atoi(os.Getenv("BENCH_PORT"))
	file := os.Getenv("BENCH_FILE")
	srv, err := bridge.NewServer(server.Config{
		BindAddr:            "127.0.0.1",
		Port:                port,
		CertPath:            os.Getenv("BENCH_CERT"),
		KeyPath:             os.Getenv("BENCH_KEY"),
		EnableDatagrams:     true,
		EnableWebTransport:  true, // as in bun-lib.ts, whose /wt route turns it on
		WebTransportOrigins: []string{"*"},
	})
	if err != nil {
		log.Fatal(err)
	}
	q, err := srv.EventQueue() // before Start: sessions pick it up
	if err != nil {
		log.Fatal(err)
	}
	small := []byte("hello")
	must(srv.HandleFunc("GET", "/small", func(_ *server.Request, res *server.Response) {
		_ = res.Respond(200, plain, small, true)
	}))
	static, err := server.NewStaticHandler(200, []server.HeaderField{{Name: "content-type", Value: "text/plain;charset=utf-8"}}, []byte("hello"))
	must(err)
	must(srv.Route("GET", "/static", static.Route()))
	must(srv.HandleFunc("POST", "/echo-small", func(req *server.Request, res *server.Response) {
		_ = res.Respond(200, nil, req.Body, true)
	}))
	must(srv.HandleFunc("GET", "/download", download))
	must(srv.HandleFunc("GET", "/file", func(_ *server.Request, res *server.Response) {
		_ = res.SendFile(200, nil, file)
	}))
	must(srv.Route("POST", "/upload", server.Route{Handler: uploadHandler{}, StreamBody: true}))
	must(srv.Route("POST", "/dgram", server.Route{Handler: dgramHandler{}, Datagrams: dgramHandler{}.sink}))
	wt := wtHandler{srv}
	must(srv.Route("CONNECT", "/wt", server.Route{Handler: wt, Sessions: wt.serveSession}))
	must(srv.HandleFunc("GET", "/stats", func(_ *server.Request, res *server.Response) {
		st := srv.Stats()
		b, _ := json.Marshal(map[string]any{
			"connectionsTotal": st.ConnectionsTotal, "connectionsActive": st.ConnectionsActive,
			"requests": st.RequestsTotal, "requestsActive": st.RequestsActive, "requestsRejected": st.RequestsRejected,
			"eventsDropped": st.EventsDropped, "datagramsReceived": st.DatagramsReceived, "datagramsSent": st.DatagramsSent,
			"datagramsDropped": st.DatagramsDropped, "sessionsActive": st.SessionsActive, "uptimeMs": st.UptimeMs,
			"wtStreamDataEvents": streamEvents.Load(), "wtStreamDataBytes": streamBytes.Load(),
		})
		_ = res.Respond(200, []server.HeaderField{{Name: "content-type", Value: "application/json"}}, b, true)
	}))
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	go drainEvents(q)
	fmt.Println(srv.Port())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	_ = srv.Stop(true)
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// download streams ?bytes=N bytes in 64 KiB chunks from a goroutine of its
// own (the response is written once the handler returns), keeping at most
// about 1 MiB recorded and not yet sent.
func download(req *server.Request, res *server.Response) {
	n := queryInt(req.Path, "bytes")
	res.DeferEnd()
	_ = res.Respond(200, []server.HeaderField{{Name: "content-type", Value: "application/octet-stream"}}, nil, false)
	if n <= 0 {
		_ = res.End(nil)
		return
	}
	go func() {
		chunk := make([]byte, 64<<10)
		for i := range chunk {
			chunk[i] = 'x'
		}
		for n > 0 {
			k := min(n, int64(len(chunk)))
			n -= k
			pending, err := res.Send(chunk[:k], n == 0, nil)
			if err != nil {
				return
			}
			for pending >= 1<<20 {
				time.Sleep(50 * time.Microsecond)
				if pending, err = res.Pending(); err != nil {
					return
				}
			}
		}
	}()
}

func queryInt(path, key string) int64 {
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(u.Query().Get(key), 10, 64)
	return n
}

// uploadHandler consumes a streaming body and answers its length.
type uploadHandler struct{}

func (uploadHandler) ServeRequest(req *server.Request, res *server.Response) {
	buf := make([]byte, 64<<10)
	var total int64
	for {
		n, err := req.ReadBody(buf)
		total += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return
		}
	}
	_ = res.Respond(200, plain, []byte(strconv.FormatInt(total, 10)), true)
}

// dgramHandler echoes HTTP/3 datagrams; the response (and with it the flow)
// stays open until the client goes away.
type dgramHandler struct{}

func (dgramHandler) sink(_ *server.Request, res *server.Response) func([]byte) {
	return func(p []byte) { _ = res.SendDatagram(p) }
}

func (dgramHandler) ServeRequest(_ *server.Request, res *server.Response) {
	res.DeferEnd()
	_ = res.Write(nil) // sends the head: the flow exists from then on
}

// wtHandler accepts WebTransport sessions; drainEvents echoes them.
type wtHandler struct{ b *bridge.Server }

func (h wtHandler) serveSession(_ *server.Request, sess *server.Session) {
	h.b.OpenSession(sess) // its events go to the queue
	_ = sess.Accept()
}

func (wtHandler) ServeRequest(_ *server.Request, res *server.Response) {
	_ = res.Respond(404, plain, []byte("WebTransport only\n"), true)
}

// drainEvents waits on the event queue's eventfd and echoes WebTransport
// session datagrams and bidirectional stream data.
func drainEvents(q *bridge.EventQueue) {
	f := os.NewFile(uintptr(q.FD()), "events") // non-blocking eventfd: read through the netpoller
	bell := make([]byte, 8)
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Read(bell); err != nil {
			log.Printf("event fd: %v", err)
			return
		}
		for {
			n, need := q.Drain(buf)
			if n == 0 {
				if need == 0 {
					break
				}
				buf = make([]byte, need)
				continue
			}
			evs, err := bridge.Decode(buf[:n])
			if err != nil {
				log.Printf("events: %v", err) // a broken batch: handle what decoded
			}
			for _, ev := range evs {
				handleEvent(ev)
			}
		}
	}
}

// WebTransport stream data events received and their bytes (GET /stats).
var streamEvents, streamBytes atomic.Uint64

func handleEvent(ev bridge.Event) {
	switch ev.Type {
	case bridge.EventSessionDgram:
		if s, ok := bridge.Sessions.Get(ev.Handle); ok {
			_ = s.SendDatagram(ev.Data)
		}
	case bridge.EventStreamData:
		streamEvents.Add(1)
		streamBytes.Add(uint64(len(ev.Data)))
		if st, ok := bridge.Streams.Get(ev.Handle); ok {
			_, _ = st.Send(ev.Data, false)
			_ = st.AckData(len(ev.Data))
		}
	case bridge.EventStreamEnd:
		if st, ok := bridge.Streams.Get(ev.Handle); ok {
			if !ev.Flag {
				_, _ = st.Send(nil, true)
			} else {
				st.Reset(0)
			}
		}
	}
}
