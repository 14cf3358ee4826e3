// Command go-core is benchmark server (b): the library's core with Go
// handlers (core.NewServer, Route, core.HandlerFunc), no C ABI and no JS. It
// is the ceiling the Bun path is measured against.
//
// Routes: GET /small, GET /static (core.NewStaticHandler), POST /echo-small, GET /download?bytes=N (streamed with
// Response.Send, paced on Response.Pending), GET /file (Response.SendFile of
// $BENCH_FILE), POST /upload (streaming body, answers the byte count),
// POST /dgram (HTTP/3 datagram echo: a handler implementing
// core.DatagramRoute), GET /stats (the server's counters as JSON) and
// CONNECT /wt (WebTransport echo: the handler
// implements core.SessionHandler and accepts in Go; the session's datagrams
// and streams reach Go through the server's event queue, which this program
// drains itself, as the Bun wrapper does, minus JS).
//
// Env: BENCH_CERT, BENCH_KEY (PEM paths), BENCH_FILE, BENCH_PORT (default 0).
// It prints the UDP port on stdout when ready and stops on SIGTERM/SIGINT.
package main

import (
	"encoding/binary"
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

	"github.com/zig-h3/h3bun/core"
)

var plain = []core.HeaderField{{Name: "content-type", Value: "text/plain;charset=utf-8"}}

func main() {
	port, _ := strconv.Atoi(os.Getenv("BENCH_PORT"))
	file := os.Getenv("BENCH_FILE")
	srv, err := core.NewServer(core.Config{
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
	must(srv.Route("GET", "/small", core.HandlerFunc(func(_ *core.Request, res *core.Response) {
		_ = res.Respond(200, plain, small, true)
	})))
	static, err := core.NewStaticHandler(200, []core.HeaderField{{Name: "content-type", Value: "text/plain;charset=utf-8"}}, []byte("hello"))
	must(err)
	must(srv.Route("GET", "/static", static))
	must(srv.Route("POST", "/echo-small", core.HandlerFunc(func(req *core.Request, res *core.Response) {
		_ = res.Respond(200, nil, req.Body, true)
	})))
	must(srv.Route("GET", "/download", core.HandlerFunc(download)))
	must(srv.Route("GET", "/file", core.HandlerFunc(func(_ *core.Request, res *core.Response) {
		_ = res.SendFile(200, nil, file)
	})))
	must(srv.Route("POST", "/upload", uploadHandler{}))
	must(srv.Route("POST", "/dgram", dgramHandler{}))
	must(srv.Route("CONNECT", "/wt", wtHandler{}))
	must(srv.Route("GET", "/stats", core.HandlerFunc(func(_ *core.Request, res *core.Response) {
		st := srv.Stats()
		b, _ := json.Marshal(map[string]any{
			"connectionsTotal": st.ConnectionsTotal, "connectionsActive": st.ConnectionsActive,
			"requests": st.RequestsTotal, "requestsActive": st.RequestsActive, "requestsRejected": st.RequestsRejected,
			"eventsDropped": st.EventsDropped, "datagramsReceived": st.DatagramsReceived, "datagramsSent": st.DatagramsSent,
			"datagramsDropped": st.DatagramsDropped, "sessionsActive": st.SessionsActive, "uptimeMs": st.UptimeMs,
			"wtStreamDataEvents": streamEvents.Load(), "wtStreamDataBytes": streamBytes.Load(),
		})
		_ = res.Respond(200, []core.HeaderField{{Name: "content-type", Value: "application/json"}}, b, true)
	})))
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
func download(req *core.Request, res *core.Response) {
	n := queryInt(req.Path, "bytes")
	res.DeferEnd()
	_ = res.Respond(200, []core.HeaderField{{Name: "content-type", Value: "application/octet-stream"}}, nil, false)
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

func (uploadHandler) StreamsBody() bool { return true }

func (uploadHandler) ServeRequest(req *core.Request, res *core.Response) {
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

func (dgramHandler) HandlesDatagrams() bool { return true }

func (dgramHandler) DatagramSink(_ *core.Request, res *core.Response) func([]byte) {
	return func(p []byte) { _ = res.SendDatagram(p) }
}

func (dgramHandler) ServeRequest(_ *core.Request, res *core.Response) {
	res.DeferEnd()
	_ = res.Write(nil) // sends the head: the flow exists from then on
}

// wtHandler accepts WebTransport sessions; drainEvents echoes them.
type wtHandler struct{}

func (wtHandler) AcceptsSessions() bool { return true }

func (wtHandler) ServeSession(_ *core.Request, sess *core.Session) { _ = sess.Accept() }

func (wtHandler) ServeRequest(_ *core.Request, res *core.Response) {
	_ = res.Respond(404, plain, []byte("WebTransport only\n"), true)
}

// drainEvents waits on the event queue's eventfd and echoes WebTransport
// session datagrams and bidirectional stream data (see core/events.go for
// the layouts).
func drainEvents(q *core.EventQueue) {
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
			for b := buf[:n]; len(b) >= 8; {
				size := int(binary.LittleEndian.Uint32(b))
				if size < 8 || size > len(b) {
					// A broken batch: stop here rather than loop or overrun.
					log.Printf("event of %d bytes with %d left in the batch; dropping the rest", size, len(b))
					break
				}
				handleEvent(b[4], b[:size])
				b = b[size:]
			}
		}
	}
}

// WebTransport stream data events received and their bytes (GET /stats).
var streamEvents, streamBytes atomic.Uint64

func handleEvent(typ byte, ev []byte) {
	u64 := func(off int) uint64 { return binary.LittleEndian.Uint64(ev[off:]) }
	u32 := func(off int) uint32 { return binary.LittleEndian.Uint32(ev[off:]) }
	switch typ {
	case core.EventSessionDgram:
		if s, ok := core.LookupSession(u64(8)); ok {
			_ = s.SendDatagram(ev[20 : 20+u32(16)])
		}
	case core.EventStreamData:
		streamEvents.Add(1)
		streamBytes.Add(uint64(u32(16)))
		if st, ok := core.LookupStream(u64(8)); ok {
			n := int(u32(16))
			_, _ = st.Write(ev[20:20+n], false)
			_ = st.AckData(n)
		}
	case core.EventStreamEnd:
		if st, ok := core.LookupStream(u64(8)); ok {
			if u32(16) == 0 {
				_, _ = st.Write(nil, true)
			} else {
				st.Reset(0)
			}
		}
	}
}
