package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/quic-go/quic-go/quicvarint"

	"github.com/zig-h3/h3bun/server"
)

// fetchEvents is where a fetch reports. The fetch's goroutine calls
// started, head, data (any number), then end or fail, its last; datagram
// and writable come from other goroutines.
type fetchEvents interface {
	started(f *Fetch)
	head(f *Fetch, status int, header []server.HeaderField)
	// data delivers response body bytes (p is reused afterwards); it may
	// wait (event-queue mode: for acknowledgements), and an error fails
	// the fetch.
	data(f *Fetch, p []byte) error
	end(f *Fetch, trailers []server.HeaderField)
	fail(f *Fetch, e *EndError)
	datagram(f *Fetch, p []byte)
	writable(f *Fetch)
	// cancelled: the consumer abandoned the fetch (Fetch.Cancel).
	cancelled(f *Fetch)
	// ack acknowledges delivered body bytes.
	ack(n int) error
}

// queueEvents reports a fetch to the client's event queue: EventFetchHead,
// EventFetchData (at most BodyWindow bytes unacknowledged), EventFetchEnd
// or EventFetchError (the last), EventWritable and EventH3Datagram.
type queueEvents struct {
	c      *Client
	q      *EventQueue
	credit *credit
	muted  atomic.Bool // cancelled, or the last event was pushed
}

func (e *queueEvents) started(*Fetch) {}

func (e *queueEvents) head(f *Fetch, status int, header []server.HeaderField) {
	sid, _ := f.StreamID()
	_ = e.q.pushControl(encodeFetchHead(f.Handle, sid, status, header), &e.muted, false)
}

func (e *queueEvents) data(f *Fetch, p []byte) error {
	for len(p) > 0 {
		n, err := e.credit.wait(f.ctx)
		if err != nil {
			return context.Cause(f.ctx)
		}
		n = min(n, len(p))
		e.credit.take(n)
		if err := e.q.pushWait(f.ctx, encodeFetchData(f.Handle, p[:n]), &e.muted); err != nil {
			if errors.Is(err, errMuted) || errors.Is(err, server.ErrClosed) {
				return endErr(server.ErrClosed, "the events of the fetch are over")
			}
			return context.Cause(f.ctx)
		}
		p = p[n:]
	}
	return nil
}

func (e *queueEvents) end(f *Fetch, trailers []server.HeaderField) {
	_ = e.q.pushControl(encodeFetchEnd(f.Handle, trailers), &e.muted, true)
}

func (e *queueEvents) fail(f *Fetch, err *EndError) {
	_ = e.q.pushControl(encodeError(EventFetchError, f.Handle, err.Code(), err.AppCode, err.Msg), &e.muted, true)
}

func (e *queueEvents) datagram(f *Fetch, p []byte) {
	if errors.Is(e.q.tryPush(encodeIDBytes(EventH3Datagram, f.Handle, p), &e.muted), ErrQueueFull) {
		e.c.datagramsDropped.Add(1)
	}
}

func (e *queueEvents) writable(f *Fetch) {
	_ = e.q.pushControl(encodeWritable(f.Handle), &e.muted, false)
}

func (e *queueEvents) cancelled(*Fetch) { e.q.Mute(&e.muted) }

func (e *queueEvents) ack(n int) error {
	e.credit.ack(n)
	return nil
}

// StartFetch starts a request in event-queue mode (before the connection
// is up too: it waits for it) and returns at once; everything else is
// events. body: a request body follows (Fetch.Write); dgrams: the request
// exchanges HTTP/3 datagrams.
func (c *Client) StartFetch(r *FetchRequest, body, dgrams bool) (*Fetch, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fetchAllowedLocked(dgrams); err != nil {
		return nil, err
	}
	if c.queue == nil {
		return nil, fmt.Errorf("%w: the client is in callback mode (event fd not taken)", server.ErrState)
	}
	ev := &queueEvents{c: c, q: c.queue, credit: newCredit()}
	f, err := c.newFetch(r, body, dgrams, c.cfg.RequestTimeout, ev)
	if err != nil {
		return nil, err
	}
	c.startLocked(f)
	return f, nil
}

// fetchAllowedLocked says why a fetch cannot start now, if it cannot.
func (c *Client) fetchAllowedLocked(dgrams bool) error {
	switch {
	case c.freed || c.state == clientClosed:
		return fmt.Errorf("%w: the connection is gone", server.ErrClosed)
	case len(c.opts.alpn) > 0:
		return fmt.Errorf("%w: a raw QUIC (alpn) connection carries no requests", server.ErrState)
	case dgrams && !c.cfg.EnableDatagrams:
		return fmt.Errorf("%w: datagrams are not enabled in the client's config", server.ErrState)
	}
	return nil
}

// startLocked registers f and starts its goroutine.
func (c *Client) startLocked(f *Fetch) {
	c.fetches[f] = struct{}{}
	if sid, ok := f.StreamID(); ok {
		c.byStream[sid] = f
	}
	Fetches.Store(f.Handle, f)
	c.work.Add(1)
	go f.run()
}

// fetchOver forgets a finished fetch.
func (c *Client) fetchOver(f *Fetch) {
	c.mu.Lock()
	delete(c.fetches, f)
	if sid, ok := f.StreamID(); ok && c.byStream[sid] == f {
		delete(c.byStream, sid)
	}
	c.mu.Unlock()
}

// Ack acknowledges n bytes delivered as EventFetchData.
func (f *Fetch) Ack(n int) error {
	if n < 0 {
		return fmt.Errorf("%w: negative acknowledgement", server.ErrInvalidArgument)
	}
	return f.ev.ack(n)
}

// flow returns the fetch's stream and connection for a datagram.
func (f *Fetch) flow() (*clientConn, uint64, error) {
	if !f.dgrams {
		return nil, 0, fmt.Errorf("%w: the fetch carries no datagrams", server.ErrState)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.finished:
		return nil, 0, fmt.Errorf("%w: the fetch is over", server.ErrClosed)
	case f.str == nil:
		return nil, 0, fmt.Errorf("%w: the request stream is not open yet", server.ErrState)
	}
	select {
	case <-f.conn.h3.ReceivedSettings():
		if f.conn.h3.Settings().EnableDatagrams {
			return f.conn, uint64(f.str.StreamID()), nil
		}
	default:
	}
	return nil, 0, fmt.Errorf("%w: HTTP/3 datagrams are not negotiated (yet)", server.ErrState)
}

// SendDatagram sends an HTTP/3 datagram on the fetch's flow.
func (f *Fetch) SendDatagram(p []byte) error {
	if _, _, err := f.flow(); err != nil {
		return err
	}
	f.mu.Lock()
	str := f.str
	f.mu.Unlock()
	return datagramError(str.SendDatagram(p))
}

// MaxDatagramSize is the largest HTTP/3 datagram payload the fetch's flow
// can send now (0 if none).
func (f *Fetch) MaxDatagramSize() int {
	conn, sid, err := f.flow()
	if err != nil {
		return 0
	}
	return max(0, maxDatagram(conn.qconn)-quicvarint.Len(sid/4))
}
