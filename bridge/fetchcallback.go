package bridge

import (
	"fmt"
	"sync"
	"time"

	"github.com/zig-h3/h3bun/internal/abi"
	"github.com/zig-h3/h3bun/server"
)

// Fetch event types of callback mode (zig_h3_fetch_event_type).
const (
	FetchEventHeaders  = 0 // the response head
	FetchEventData     = 1 // response body bytes (FetchOptions.StreamResponse)
	FetchEventTrailers = 2 // the response trailers, when there are some
	FetchEventFinished = 3 // the end: Status, or 0 and the message in Data; the last event
	FetchEventDatagram = 4 // an HTTP/3 datagram of the request's flow
	FetchEventStarted  = 5 // the request stream is open: StreamID; the first event
	FetchEventWritable = 6 // a streamed request body may go on
)

// FetchEvent is one event of a callback-mode fetch (zig_h3_fetch_event);
// Header and Data are valid during the call only.
type FetchEvent struct {
	Type             int
	Status           int
	Header           []server.HeaderField
	Data             []byte
	FlowID, StreamID uint64
}

// FetchResult is the whole response of a callback-mode fetch, at its end:
// Status 0 and Err when it failed.
type FetchResult struct {
	Status          int
	Header, Trailer []server.HeaderField
	Body            []byte // the collected body (FetchOptions.Collect)
	Err             *EndError
}

// FetchOptions are the options of a callback-mode fetch (zig_h3_fetch_options).
type FetchOptions struct {
	Body           []byte // the request body (copied), or its start with StreamBody
	StreamBody     bool   // the request body goes on with Fetch.Write, the last with fin
	StreamResponse bool   // deliver the response body as FetchEventData
	DatagramFlow   bool   // without a body, keep the request side open for datagrams
	Collect        bool   // collect the body (up to abi.FetchCollectMax) for Done
	Timeout        time.Duration
	// Event receives every event (may be nil); Done the result, once, at
	// the end (may be nil). They are called one at a time per fetch.
	Event func(*FetchEvent)
	Done  func(*FetchResult)
}

// callbackEvents reports a fetch to the functions of its FetchOptions.
type callbackEvents struct {
	c    *Client
	opts FetchOptions

	mu     sync.Mutex // one call at a time
	over   bool       // the last event was given
	res    FetchResult
	stream uint64
}

// emit calls the event function with ev unless the fetch is over.
func (e *callbackEvents) emit(ev *FetchEvent) {
	if e.opts.Event != nil {
		ev.StreamID = e.stream
		e.opts.Event(ev)
	}
}

func (e *callbackEvents) started(f *Fetch) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stream, _ = f.StreamID()
	e.emit(&FetchEvent{Type: FetchEventStarted})
}

func (e *callbackEvents) head(_ *Fetch, status int, header []server.HeaderField) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.res.Status, e.res.Header = status, header
	e.emit(&FetchEvent{Type: FetchEventHeaders, Status: status, Header: header})
}

func (e *callbackEvents) data(_ *Fetch, p []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.opts.Collect {
		if len(e.res.Body)+len(p) > abi.FetchCollectMax {
			return endErr(ErrIO, "the response body is over %d bytes, the most a fetch collects: stream it", abi.FetchCollectMax)
		}
		e.res.Body = append(e.res.Body, p...)
	}
	if e.opts.StreamResponse {
		e.emit(&FetchEvent{Type: FetchEventData, Status: e.res.Status, Data: p})
	}
	return nil
}

func (e *callbackEvents) end(_ *Fetch, trailers []server.HeaderField) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(trailers) > 0 {
		e.emit(&FetchEvent{Type: FetchEventTrailers, Status: e.res.Status, Header: trailers})
	}
	e.res.Trailer = trailers
	e.finishLocked()
}

func (e *callbackEvents) fail(_ *Fetch, err *EndError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.res = FetchResult{Err: err}
	e.finishLocked()
}

// finishLocked gives the last event and the result.
func (e *callbackEvents) finishLocked() {
	e.over = true
	ev := &FetchEvent{Type: FetchEventFinished, Status: e.res.Status}
	if e.res.Err != nil {
		ev.Data = []byte(e.res.Err.Msg)
	}
	e.emit(ev)
	if e.opts.Done != nil {
		e.opts.Done(&e.res)
	}
}

func (e *callbackEvents) datagram(_ *Fetch, p []byte) {
	e.mu.Lock()
	if !e.over {
		e.emit(&FetchEvent{Type: FetchEventDatagram, Data: p, FlowID: e.stream / 4})
	}
	e.mu.Unlock()
	e.c.callDatagramHandler(e.stream/4, p)
}

func (e *callbackEvents) writable(*Fetch) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.over {
		e.emit(&FetchEvent{Type: FetchEventWritable})
	}
}

func (e *callbackEvents) cancelled(*Fetch) {}

func (e *callbackEvents) ack(int) error { return nil }

// Fetch starts a request in callback mode: it waits while the server's
// stream limit is reached (up to the timeout), sends the head, hands the
// in-memory body to the writer and returns; the response arrives through
// the functions of o.
func (c *Client) Fetch(r *FetchRequest, o FetchOptions) (*Fetch, error) {
	c.mu.Lock()
	err := c.fetchAllowedLocked(false)
	switch {
	case err != nil:
	case c.queue != nil:
		err = fmt.Errorf("%w: the client is in event-queue mode (use StartFetch)", server.ErrState)
	case c.state != clientConnected:
		err = fmt.Errorf("%w: the client is not connected", server.ErrState)
	}
	conn := c.conn
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		o.Timeout = c.cfg.RequestTimeout
	}
	body := len(o.Body) > 0 || o.StreamBody
	f, err := c.newFetch(r, body, c.cfg.EnableDatagrams, o.Timeout, &callbackEvents{c: c, opts: o})
	if err != nil {
		return nil, err
	}
	f.flowOpen = o.DatagramFlow && c.cfg.EnableDatagrams && !body
	if body {
		_, err = f.Write(o.Body, !o.StreamBody)
	}
	if err == nil {
		err = f.open(conn)
	}
	if err != nil {
		f.discard()
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.freed || c.state != clientConnected { // it ended while the head was sent
		f.discard()
		return nil, fmt.Errorf("%w: the connection is gone", server.ErrClosed)
	}
	c.startLocked(f)
	return f, nil
}

// discard drops a fetch that never started.
func (f *Fetch) discard() {
	if f.timer != nil {
		f.timer.Stop()
	}
	f.mu.Lock()
	f.finished = true
	str := f.str
	f.str, f.conn = nil, nil
	f.mu.Unlock()
	f.cancel(nil)
	if str != nil {
		cancelStream(str, h3RequestCancelled)
	}
}

// FetchByStream returns the callback-mode fetch running on stream sid.
func (c *Client) FetchByStream(sid uint64) (*Fetch, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.byStream[sid]
	return f, ok
}
