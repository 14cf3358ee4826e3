package core

import (
	"context"
	"io"
	"net/http"
	"sync"
)

// Streaming request bodies.
const (
	// BodyWindow is the most request body bytes delivered to a consumer
	// (as events) and not yet acknowledged. Past it the server stops
	// reading, and QUIC flow control stops the client.
	BodyWindow = 256 << 10
	// bodyChunk is the largest chunk read and delivered at once.
	bodyChunk = 64 << 10
)

// BodyStreamer is implemented by handlers that take the request body as it
// arrives (streaming routes) instead of buffered in Request.Body.
type BodyStreamer interface {
	StreamsBody() bool
}

// streamingBody is the state of a streaming request body.
type streamingBody struct {
	rc      io.ReadCloser
	hr      *http.Request
	pumps   sync.WaitGroup
	mu      sync.Mutex
	eof     bool
	discard bool
	read    int64
	// endAtLength ends the body at Content-Length without waiting for the
	// stream's end (HTTP/3 datagram routes).
	endAtLength bool

	onPeerReset func() // a read failed before the end, not by DiscardBody
	onProgress  func() // body bytes arrived

	// ctx ends the body's pumps: stop is called by DiscardBody (so also
	// when the request finishes), and ctx ends with the request too.
	ctx  context.Context
	stop context.CancelFunc
}

func newStreamingBody(hr *http.Request, endAtLength bool) *streamingBody {
	ctx, stop := context.WithCancel(hr.Context())
	return &streamingBody{rc: hr.Body, hr: hr, endAtLength: endAtLength, ctx: ctx, stop: stop}
}

// bodyContext is the context of work that feeds on the streaming body: it
// ends when the request goes away or the body is discarded.
func (r *Request) bodyContext() context.Context {
	if r.body == nil {
		return r.Context
	}
	return r.body.ctx
}

// ReadBody reads the next part of a streaming body, io.Reader style; it
// returns io.EOF at the end. Only for streaming routes.
func (r *Request) ReadBody(p []byte) (int, error) {
	if r.body == nil {
		return 0, io.EOF
	}
	if cl := r.body.hr.ContentLength; r.body.endAtLength && cl >= 0 && r.body.read >= cl {
		// Content-Length reached: the body is over although the stream stays
		// open (an HTTP/3 datagram flow keeps it open; no trailers then).
		r.body.mu.Lock()
		r.body.eof = true
		r.body.mu.Unlock()
		return 0, io.EOF
	}
	n, err := r.body.rc.Read(p)
	r.body.mu.Lock()
	r.body.read += int64(n)
	reset := err != nil && err != io.EOF && !r.body.discard
	if err == io.EOF {
		r.body.eof = true
	}
	f := r.body.onPeerReset
	progress := r.body.onProgress
	r.body.mu.Unlock()
	if reset && f != nil {
		f()
	}
	if n > 0 && progress != nil {
		progress()
	}
	return n, err
}

// Trailers returns the request's trailer fields; complete once ReadBody
// returned io.EOF.
// For buffered routes they come with the request.
func (r *Request) Trailers() []HeaderField {
	if r.body == nil {
		return r.trailer
	}
	if r.body.hr.Trailer == nil {
		return nil
	}
	return headerFields(r.body.hr.Trailer)
}

// DiscardBody asks the client to stop sending the body (STOP_SENDING);
// pending and later ReadBody calls fail. Safe to call more than once.
func (r *Request) DiscardBody() {
	if r.body == nil {
		return
	}
	r.body.mu.Lock()
	done := r.body.eof || r.body.discard
	r.body.discard = true
	r.body.mu.Unlock()
	if !done {
		_ = r.body.rc.Close() // cancels reading; a no-op after EOF
	}
	r.body.stop() // a pump waiting for credit or queue room stops
}

// GoBody runs f on its own goroutine; the request is not finished before f
// returns. For body pumps that go on after the handler returned.
func (r *Request) GoBody(f func()) {
	if r.body == nil {
		go f()
		return
	}
	r.body.pumps.Go(f)
}

// DeliverBody reads the streaming body on a goroutine of its own, so the
// response can be written meanwhile (full duplex), and calls chunk with
// each piece (up to 64 KiB, valid only during the call), then end once the
// whole body has arrived (not when it fails or is discarded). The response's
// auto-end waits until the delivery is over.
func (r *Request) DeliverBody(res *Response, chunk func([]byte), end func()) {
	res.holdAutoEnd()
	r.GoBody(func() {
		defer res.releaseAutoEnd()
		buf := make([]byte, bodyChunk)
		for {
			n, err := r.ReadBody(buf)
			if n > 0 {
				chunk(buf[:n])
			}
			if err == io.EOF {
				end()
				return
			}
			if err != nil {
				return
			}
		}
	})
}

// finishBody discards what is left of a streaming body and waits for the
// body pumps, so that nothing touches the stream after the handler ends.
func (r *Request) finishBody() {
	if r.body == nil {
		return
	}
	r.DiscardBody()
	r.body.pumps.Wait()
}

// credit counts body bytes delivered but not yet acknowledged.
type credit struct {
	mu       sync.Mutex
	inflight int
	more     chan struct{} // closed and replaced when credit returns to a full window
}

func newCredit() *credit { return &credit{more: make(chan struct{})} }

// wait returns how many bytes may be delivered now (at least 1), waiting
// for acknowledgements while the window is full.
func (c *credit) wait(ctx context.Context) (int, error) {
	for {
		c.mu.Lock()
		if free := BodyWindow - c.inflight; free > 0 {
			c.mu.Unlock()
			return min(free, bodyChunk), nil
		}
		more := c.more
		c.mu.Unlock()
		select {
		case <-more:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (c *credit) take(n int) {
	c.mu.Lock()
	c.inflight += n
	c.mu.Unlock()
}

// ack returns n bytes of credit.
func (c *credit) ack(n int) {
	c.mu.Lock()
	wasFull := c.inflight >= BodyWindow // only then may the pump wait on more
	c.inflight = max(0, c.inflight-n)
	if wasFull {
		close(c.more)
		c.more = make(chan struct{})
	}
	c.mu.Unlock()
}

// AckBody acknowledges n bytes of the streaming request body delivered as
// EventBodyChunk events, letting the server read more.
func (r *Response) AckBody(n int) error {
	if n < 0 {
		return ErrInvalidArgument
	}
	r.mu.Lock()
	c := r.bodyCredit
	r.mu.Unlock()
	if c == nil {
		return ErrState
	}
	c.ack(n)
	return nil
}

// DiscardBody is Request.DiscardBody for consumers that hold only the
// response (the event-queue API).
func (r *Response) DiscardBody() error {
	r.mu.Lock()
	req := r.req
	r.mu.Unlock()
	if req == nil || req.body == nil {
		return ErrState
	}
	req.DiscardBody()
	return nil
}

// pumpBodyToQueue delivers a streaming body as EventBodyChunk events and a
// final EventBodyEnd, never more than BodyWindow unacknowledged.
func pumpBodyToQueue(q *EventQueue, req *Request, res *Response, c *credit) {
	pumpToQueue(req.bodyContext(), q, c, req.ReadBody,
		func(b []byte) []byte { return encodeBodyChunk(res.ID, b) },
		func(err error) []byte {
			if err == io.EOF {
				return encodeBodyEnd(res.ID, req.Trailers())
			}
			return nil // the abort reaches the consumer from the response side
		})
}

// pumpToQueue reads with read and pushes each chunk as chunkEvent(data),
// keeping at most BodyWindow bytes unacknowledged in c; when read fails it
// pushes endEvent(err) unless that is nil.
func pumpToQueue(ctx context.Context, q *EventQueue, c *credit, read func([]byte) (int, error),
	chunkEvent func([]byte) []byte, endEvent func(error) []byte) {
	buf := make([]byte, bodyChunk)
	for {
		n, err := c.wait(ctx)
		if err != nil {
			return
		}
		m, err := read(buf[:n])
		if m > 0 {
			c.take(m)
			if q.PushWait(ctx, chunkEvent(buf[:m])) != nil {
				return
			}
		}
		if err != nil {
			if ev := endEvent(err); ev != nil {
				_ = q.PushWait(ctx, ev)
			}
			return
		}
	}
}
