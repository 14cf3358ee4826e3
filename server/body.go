package server

import (
	"context"
	"io"
	"net/http"
	"sync"

	"github.com/zig-h3/h3bun/internal/bufpool"
)

// BodyChunk is the largest request body chunk DeliverBody reads and
// delivers at once.
const BodyChunk = 64 << 10

// streamingBody is the state of a streaming request body.
type streamingBody struct {
	rc      io.ReadCloser
	hr      *http.Request
	w       http.ResponseWriter // for stopBody
	pumps   sync.WaitGroup
	mu      sync.Mutex
	eof     bool
	discard bool
	read    int64
	// endAtLength ends the body at Content-Length without waiting for the
	// stream's end (HTTP/3 datagram routes).
	endAtLength bool

	onPeerReset func(error) // a read failed before the end, not by DiscardBody
	onProgress  func()      // body bytes arrived

	// ctx ends the body's pumps: stop is called by DiscardBody (so also
	// when the request finishes), and ctx ends with the request too.
	ctx  context.Context
	stop context.CancelFunc
}

func newStreamingBody(w http.ResponseWriter, hr *http.Request, endAtLength bool) *streamingBody {
	ctx, stop := context.WithCancel(hr.Context())
	return &streamingBody{rc: hr.Body, hr: hr, w: w, endAtLength: endAtLength, ctx: ctx, stop: stop}
}

// StreamsBody reports whether the body is read as it arrives (ReadBody)
// rather than buffered in Body.
func (r *Request) StreamsBody() bool { return r.body != nil }

// BodyContext is the context of work that feeds on the streaming body: it
// ends when the request goes away or the body is discarded.
func (r *Request) BodyContext() context.Context {
	if r.body == nil {
		return r.Context
	}
	return r.body.ctx
}

// ReadBody reads the next part of a streaming body, io.Reader style; it
// returns io.EOF at the end. Only for streaming routes. A malformed body
// (see ErrMalformed), such as one shorter than its Content-Length, fails
// with an error wrapping ErrMalformed instead of io.EOF.
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
	err = malformedError(r.body.hr, err)
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
		f(err)
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
	return HeaderFields(r.body.hr.Trailer)
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
		stopBody(r.body.w, r.body.hr) // cancels reading; a no-op after EOF
	}
	r.body.stop() // a pump waiting for credit or queue room stops
}

// GoBody runs f on its own goroutine. With a streaming body the request is
// not finished before f returns (for body pumps that go on after the
// handler returned); with a buffered one, f just runs.
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
		buf := bufpool.Get(BodyChunk)[:BodyChunk]
		defer bufpool.Put(buf)
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

// DiscardBody is Request.DiscardBody for consumers that hold only the
// response; ErrState when the request body is not streamed.
func (r *Response) DiscardBody() error {
	if !r.req.StreamsBody() {
		return ErrState
	}
	r.req.DiscardBody()
	return nil
}
