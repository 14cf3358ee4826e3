package bridge

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/zig-h3/h3bun/server"
)

// fetchLinger is how long a fetch handle stays valid after its last event.
const fetchLinger = streamLinger

// bodyBufs are the read buffers of response bodies (one per fetch while it
// reads: allocating and zeroing 64 KiB per fetch was a quarter of a small
// fetch's CPU).
var bodyBufs = sync.Pool{New: func() any { b := make([]byte, server.BodyChunk); return &b }}

// max1xx bounds the informational heads a fetch skips.
const max1xx = 8

// Fetch is one request of a client, handed to its consumer by handle: the
// head is sent, the request body (if any) written from an outbox that never
// blocks the caller, and the response reported through its events.
type Fetch struct {
	Handle uint64
	c      *Client
	r      *FetchRequest
	body   bool // a request body follows the head
	ev     fetchEvents
	out    *outbox // the request body; nil without one
	dgrams bool    // the fetch exchanges HTTP/3 datagrams
	// flowOpen: a datagram flow without a body keeps its request side open
	// until the fetch ends (see writeBody).
	flowOpen bool

	ctx      context.Context
	cancel   context.CancelCauseFunc
	timer    *time.Timer
	bodySent atomic.Bool // the outbox wrote the whole body and its FIN

	mu       sync.Mutex
	conn     *clientConn          // nil once finished (a lingering fetch holds no stream)
	str      *http3.RequestStream // nil once finished
	streamID uint64
	opened   bool  // the stream was opened: streamID is known
	declared int64 // the request's content-length, -1 if none
	written  int64
	finSent  bool
	abortErr *EndError
	finished bool
}

// newFetch makes a fetch of c, its handle stored, not started yet.
func (c *Client) newFetch(r *FetchRequest, body, dgrams bool, timeout time.Duration, ev fetchEvents) (*Fetch, error) {
	if _, err := r.httpRequest("localhost", body); err != nil { // the authority is known once connected
		return nil, err
	}
	f := &Fetch{Handle: Fetches.New(), c: c, r: r, body: body, ev: ev, dgrams: dgrams, declared: r.ContentLength}
	f.ctx, f.cancel = context.WithCancelCause(context.Background())
	if body {
		f.out = newOutbox(func() { f.ev.writable(f) })
	}
	if timeout > 0 {
		f.timer = time.AfterFunc(timeout, func() {
			f.abort(endErr(ErrTimeout, "the fetch took longer than %v", timeout), h3RequestCancelled)
		})
	}
	return f, nil
}

// StreamID returns the request's stream id, and whether the stream is open.
func (f *Fetch) StreamID() (uint64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.streamID, f.opened
}

// open opens the request stream on conn and sends the head.
func (f *Fetch) open(conn *clientConn) error {
	f.c.mu.Lock()
	authority := f.c.authority
	f.c.mu.Unlock()
	req, err := f.r.httpRequest(authority, f.body)
	if err != nil {
		return endErr(server.ErrInvalidArgument, "%v", err)
	}
	str, err := conn.h3.OpenRequestStream(f.ctx)
	if err != nil {
		if cause, ok := context.Cause(f.ctx).(*EndError); ok {
			return cause // abandoned meanwhile (timeout)
		}
		return classify("opening the request stream", err)
	}
	f.mu.Lock()
	if f.abortErr != nil {
		f.mu.Unlock()
		cancelStream(str, h3RequestCancelled)
		return f.abortErr
	}
	f.conn, f.str = conn, str
	f.streamID, f.opened = uint64(str.StreamID()), true
	f.mu.Unlock()
	if err := str.SendRequestHeader(req); err != nil {
		return classify("sending the request head", err)
	}
	return nil
}

// cancelStream abandons both directions of a request stream.
func cancelStream(str *http3.RequestStream, code uint32) {
	str.CancelRead(quic.StreamErrorCode(code))
	str.CancelWrite(quic.StreamErrorCode(code))
}

// run drives the fetch to its end and reports it; the stream is opened
// first unless it is already.
func (f *Fetch) run() {
	defer f.c.work.Done()
	trailers, err := f.exchange()
	f.finish(trailers, err)
}

// exchange sends the request and reads the response; it returns the
// trailers of a complete response.
func (f *Fetch) exchange() ([]server.HeaderField, error) {
	f.mu.Lock()
	str := f.str
	f.mu.Unlock()
	if str == nil {
		conn, err := f.c.waitConn(f.ctx)
		if err != nil {
			return nil, err
		}
		if err := f.open(conn); err != nil {
			return nil, err
		}
		str = f.str
	}
	f.ev.started(f)
	go f.writeBody(str)
	if f.dgrams {
		go f.receiveDatagrams(str)
	}
	rsp, err := readResponseHead(str)
	if err != nil {
		return nil, err
	}
	if f.dgrams {
		f.awaitSettings()
	}
	f.ev.head(f, rsp.StatusCode, server.HeaderFields(rsp.Header))
	if err := f.readBody(rsp); err != nil {
		return nil, err
	}
	return server.HeaderFields(rsp.Trailer), nil
}

// awaitSettings waits (until the fetch ends) for the server's SETTINGS,
// which may come after the response head on another stream: once the head
// is reported, sending a datagram must not fail with "not negotiated yet".
func (f *Fetch) awaitSettings() {
	f.mu.Lock()
	conn := f.conn
	f.mu.Unlock()
	if conn == nil {
		return
	}
	select {
	case <-conn.h3.ReceivedSettings():
	case <-f.ctx.Done():
	}
}

// readResponseHead reads the final response head, skipping informational
// (1xx) ones.
func readResponseHead(str *http3.RequestStream) (*http.Response, error) {
	for range max1xx {
		rsp, err := str.ReadResponse()
		if err != nil {
			return nil, classify("reading the response head", err)
		}
		if rsp.StatusCode >= 200 || rsp.StatusCode == http.StatusSwitchingProtocols {
			return rsp, nil
		}
	}
	cancelStream(str, uint32(http3.ErrCodeExcessiveLoad))
	return nil, endErr(ErrIO, "more than %d informational responses", max1xx)
}

// readBody reads the response body to its end and checks it is whole: as
// long as its content-length says, and none for HEAD, 204 and 304.
func (f *Fetch) readBody(rsp *http.Response) error {
	noBody := f.r.Method == http.MethodHead || rsp.StatusCode == http.StatusNoContent ||
		rsp.StatusCode == http.StatusNotModified
	bp := bodyBufs.Get().(*[]byte)
	defer bodyBufs.Put(bp)
	buf := *bp
	var got int64
	for {
		n, err := rsp.Body.Read(buf)
		if n > 0 {
			if noBody {
				return endErr(ErrIO, "a %d response to %s carries a body", rsp.StatusCode, f.r.Method)
			}
			got += int64(n)
			if err := f.ev.data(f, buf[:n]); err != nil {
				return err
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return classify("reading the response body", err)
		}
	}
	if !noBody && rsp.ContentLength >= 0 && got != rsp.ContentLength {
		return endErr(ErrIO, "the response body ended after %d bytes, its content-length is %d", got, rsp.ContentLength)
	}
	return nil
}

// writeBody writes the request body from the outbox, then the FIN; a
// fetch without a body ends its request at once, unless it carries
// datagrams: quic-go refuses to send HTTP/3 datagrams on a stream whose
// send side is closed, so the request side (whose head says
// content-length: 0) stays open until the fetch ends.
func (f *Fetch) writeBody(str *http3.RequestStream) {
	if f.out == nil {
		if f.flowOpen {
			<-f.ctx.Done()
		}
		_ = str.Close()
		return
	}
	if f.out.run(f.ctx, str, str.Close) {
		f.bodySent.Store(true)
	}
}

// receiveDatagrams delivers the HTTP/3 datagrams of the request's flow.
func (f *Fetch) receiveDatagrams(str *http3.RequestStream) {
	for {
		b, err := str.ReceiveDatagram(f.ctx)
		if err != nil {
			return
		}
		f.ev.datagram(f, b)
	}
}

// finish reports the end of the fetch (trailers of a complete response, or
// why it failed) and retires it; the handle lingers for late calls.
func (f *Fetch) finish(trailers []server.HeaderField, err error) {
	if f.timer != nil {
		f.timer.Stop()
	}
	f.mu.Lock()
	if err != nil && f.abortErr != nil {
		err = f.abortErr // why it was abandoned, rather than what that did to the stream
	}
	f.finished = true
	str := f.str
	f.str, f.conn = nil, nil // the handle lingers; the stream need not
	f.mu.Unlock()
	f.cancel(nil)
	f.c.fetchOver(f) // before the end is reported: a finished fetch is not found by its stream any more
	if err != nil {
		if str != nil {
			cancelStream(str, h3RequestCancelled)
		}
		f.ev.fail(f, classify("fetch", err))
	} else {
		if f.out != nil && !f.bodySent.Load() {
			str.CancelWrite(quic.StreamErrorCode(h3NoError)) // the response is complete without the rest
		}
		f.ev.end(f, trailers)
	}
	time.AfterFunc(fetchLinger, func() { Fetches.Delete(f.Handle) })
}

// abort abandons the fetch with e (its reported end), resetting the
// stream both ways with code. Nothing happens once it finished.
func (f *Fetch) abort(e *EndError, code uint32) {
	f.mu.Lock()
	if f.finished || f.abortErr != nil {
		f.mu.Unlock()
		return
	}
	f.abortErr = e
	str := f.str
	f.mu.Unlock()
	f.cancel(e)
	if str != nil {
		cancelStream(str, code)
	}
}

// Cancel abandons the fetch both ways with an HTTP/3 error code (0:
// H3_REQUEST_CANCELLED). In event-queue mode no more events come for it;
// a callback-mode consumer gets its end (failed).
func (f *Fetch) Cancel(code uint32) {
	if code == 0 {
		code = h3RequestCancelled
	}
	f.ev.cancelled(f)
	f.abort(endErr(server.ErrClosed, "cancelled"), code)
}

// Write appends request body bytes (copied) and, with fin, ends the
// request. It returns the bytes pending: at server.ResponseHighWater or
// more, wait for the writable event.
func (f *Fetch) Write(p []byte, fin bool) (int, error) {
	if f.out == nil {
		return 0, fmt.Errorf("%w: the fetch has no request body (start it with a body)", server.ErrState)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch total := f.written + int64(len(p)); {
	case f.finished:
		return 0, fmt.Errorf("%w: the fetch is over", server.ErrClosed)
	case f.finSent:
		return 0, fmt.Errorf("%w: the request body ended already", server.ErrState)
	case f.declared >= 0 && (total > f.declared || fin && total < f.declared):
		return 0, fmt.Errorf("%w: the request body would be %d bytes, its content-length is %d",
			server.ErrInvalidArgument, total, f.declared)
	}
	n, err := f.out.send(p, fin)
	if err != nil {
		return 0, err
	}
	f.written += int64(len(p))
	f.finSent = fin
	return n, nil
}
