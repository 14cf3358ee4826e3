// Package bridge connects the server package to consumers that cannot
// call into Go (C through capi/, Bun through bun:ffi): handles for servers,
// responses, connections, sessions and streams; the bounded event queue
// with its eventfd doorbell; the encoding and decoding of events; event
// routes; and the JSON options and route specs of the C API.
//
// Arrows point one way: capi imports bridge, bridge imports server, and
// server knows nothing of either.
package bridge

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/zig-h3/h3bun/server"
)

// RuntimeGCPercent is the Go collector's target the C library (capi) sets
// for its own runtime when the host process does not set GOGC. The
// library's live heap is about 1 MiB, so the default 100 collects at every
// 4 MiB allocated: ~30 collections a second under 9 k small requests/s,
// about a tenth of the library's CPU. 400 cuts that by four for ~12 MiB
// more RSS.
const RuntimeGCPercent = 400

// Server is a server with the bridge's state: its handle, its event queue
// and the log sink of its consumer. Its log lines go through SetLog (the
// embedded server's SetLogger would bypass the queue).
type Server struct {
	*server.Server
	Handle uint64

	queue            atomic.Pointer[EventQueue]
	byStream         sync.Map // streamKey -> *Response (OpenStreamResponse)
	log              atomic.Pointer[func(level int, line string)]
	datagramsDropped atomic.Uint64

	mu        sync.Mutex
	closed    bool // Close was called: no new event queue
	profiling bool // this server's run is in the CPU profile (profile.go)
}

// NewServer makes a server from cfg and gives it a handle. Its log lines go
// to the function set with SetLog, else to the event queue once there is
// one, else nowhere.
func NewServer(cfg server.Config) (*Server, error) {
	cfg.Logger = nil
	srv, err := server.NewServer(cfg)
	if err != nil {
		return nil, err
	}
	b := &Server{Server: srv, Handle: Servers.New()}
	srv.SetLogger(b.logLine)
	Servers.Store(b.Handle, b)
	return b, nil
}

// SetLog sets the consumer's log function; nil sends log lines to the
// event queue if there is one.
func (b *Server) SetLog(f func(level int, line string)) {
	if f == nil {
		b.log.Store(nil)
		return
	}
	b.log.Store(&f)
}

func (b *Server) logLine(level int, line string) {
	if f := b.log.Load(); f != nil {
		(*f)(level, line)
	} else if q := b.queue.Load(); q != nil {
		_ = q.TryPush(encodeLog(level, line))
	}
}

// EventQueue returns the server's event queue, creating it on first use.
// After Close it returns ErrServerClosed: a queue made then would never be
// closed.
func (b *Server) EventQueue() (*EventQueue, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrServerClosed
	}
	if q := b.queue.Load(); q != nil {
		return q, nil
	}
	q, err := newEventQueue(b.Handle, DefaultQueueEvents, DefaultQueueBytes)
	if err != nil {
		return nil, err
	}
	b.queue.Store(q)
	return q, nil
}

// ExistingEventQueue returns the event queue, or ErrState if none was created.
func (b *Server) ExistingEventQueue() (*EventQueue, error) {
	if q := b.queue.Load(); q != nil {
		return q, nil
	}
	return nil, fmt.Errorf("%w: the server has no event queue", server.ErrState)
}

// Start starts the server (see server.Server.Start).
func (b *Server) Start() error {
	if err := b.Server.Start(); err != nil {
		return err
	}
	b.startProfile()
	return nil
}

// Stop stops the server and waits until it is down (see server.Server.Stop).
func (b *Server) Stop(force bool) error {
	err := b.Server.Stop(force)
	b.stopProfile()
	return err
}

// StopAsync starts Stop(force) and returns at once; when the server is
// down, an EventStopped is pushed to the event queue (created if needed).
func (b *Server) StopAsync(force bool) error {
	q, err := b.EventQueue()
	if err != nil {
		return err
	}
	go func() {
		_ = b.Stop(force)
		_ = q.PushControl(encodeStopped())
	}()
	return nil
}

// Close stops the server at once if it runs, releases the event queue and
// retires the server's handle. The queue's consumer must have stopped
// waiting on its fd. Calls that would create a queue fail with
// ErrServerClosed from then on.
func (b *Server) Close() {
	Servers.Delete(b.Handle)
	if q := b.queue.Load(); q != nil {
		q.Retire() // no drain by the retired handle from now on
	}
	_ = b.Stop(true)
	b.mu.Lock()
	b.closed = true
	q := b.queue.Load()
	b.mu.Unlock()
	if q != nil {
		q.Close()
	}
}

// Stats is a snapshot of the server's counters and the bridge's own.
type Stats struct {
	server.Stats
	// EventsDropped counts events the event queue discarded (log lines).
	EventsDropped uint64
	// DatagramsDropped counts received datagrams dropped because the event
	// queue was full (or there was none).
	DatagramsDropped uint64
}

// Stats returns the current counters.
func (b *Server) Stats() Stats {
	st := Stats{Stats: b.Server.Stats(), DatagramsDropped: b.datagramsDropped.Load()}
	if q := b.queue.Load(); q != nil {
		st.EventsDropped = q.Dropped()
	}
	return st
}

// QueueQUICDatagrams delivers raw QUIC datagrams to the event queue as
// EventQUICDatagram; when the queue is full they are dropped and counted.
func (b *Server) QueueQUICDatagrams() error {
	q, err := b.EventQueue()
	if err != nil {
		return err
	}
	b.OnQUICDatagram(func(c *server.Conn, payload []byte) {
		if q.TryPush(encodeQUICDatagram(ConnHandle(c), c, payload)) != nil {
			b.datagramsDropped.Add(1)
		}
	})
	return nil
}

// ConnHandle is the handle of a connection (valid with its server only).
func ConnHandle(c *server.Conn) uint64 { return KindConn.Handle(c.Number) }

// ConnByHandle returns the open connection of this server with handle h.
func (b *Server) ConnByHandle(h uint64) (*server.Conn, bool) {
	n, ok := KindConn.Number(h)
	if !ok {
		return nil, false
	}
	return b.Server.Conn(n)
}
