package server

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zig-h3/h3bun/internal/sendbuf"
)

// Response is the answer to one request. Its methods may be called from any
// goroutine; they only record what to send. The goroutine serving the
// request (see Response.serve) does the writing, so no caller ever blocks on
// the network. A Response ends automatically when the handler returns unless
// the handler called DeferEnd or SetAutoEnd(false); it then stays open until
// End or the peer goes away.
type Response struct {
	// ID identifies the response in the process (never 0, never reused):
	// a key for consumers that keep state per response.
	ID uint64

	req   *Request
	srv   *Server
	out   responseOutput // what serve has written (see Response.serve)
	done  chan struct{}  // closed when the response is finished; made by the first Done (r.mu)
	dgram *h3Datagrams   // HTTP/3 datagram routes only

	mu     sync.Mutex
	wake   chan struct{} // serve waits on it for more; made by serve when it first waits
	status int
	// header is the head recorded so far. When inPlace, it is the
	// ResponseWriter's own header map, so that the head goes out without a
	// copy: nothing else touches that map before the head is written, and
	// the head is fixed (checkHead) from then on.
	header      http.Header
	inPlace     bool
	trailer     http.Header
	body        sendbuf.Buffer // bytes recorded but not yet handed to the stream
	bodyStarted bool           // Write or End with data was called: the head is fixed
	ended       bool
	autoEnd     bool
	finished    bool   // serve returned: nothing more will be sent
	onWritable  func() // runs when body's writable signal is due
	filePath    string // SendFile: serve this file as the body

	timer   *time.Timer // request timeout until the head is sent
	timeout time.Duration
	// deferredSince is when the request timeout started, while it is not
	// armed yet (see deferTimeout); zero otherwise.
	deferredSince time.Time
	timedOut      bool

	peerAborted bool // reading the streaming request body failed (see abortByPeer)
	// bodyMalformed: the streaming request body was malformed (ErrMalformed).
	bodyMalformed bool
	handlerDone   bool // the handler returned
	// abortCalled: Abort was called, serve resets the stream. Set under mu;
	// serve reads it without, between writes (abortPending).
	abortCalled  atomic.Bool
	autoEndHolds int // holdAutoEnd calls not yet released
}

// Response body buffering limits: Send reports the bytes pending, and a
// writer that sees ResponseHighWater or more should wait for the writable
// signal (see Send), which comes when pending is back to ResponseLowWater.
const (
	ResponseHighWater = sendbuf.HighWater
	ResponseLowWater  = sendbuf.LowWater
)

// lastResponseID numbers the responses of the process.
var lastResponseID atomic.Uint64

// newResponse makes, at r, the response to req; w is the ResponseWriter's
// header map. The head is recorded in it when it is empty (always over
// HTTP/3); one that already holds fields of the server's (Alt-Svc over
// TCP) gets the head when it is written, the recorded fields replacing
// those of the same name.
func newResponse(r *Response, srv *Server, req *Request, w http.Header) {
	*r = Response{ID: lastResponseID.Add(1), req: req, srv: srv, status: http.StatusOK, header: w, inPlace: true, autoEnd: true}
	if len(w) > 0 {
		r.header, r.inPlace = http.Header{}, false
	}
}

// OnWritable sets the function called when the writable signal is due:
// after Send reported ResponseHighWater or more pending, pending is back to
// ResponseLowWater, or the response finished. It runs on the serving
// goroutine and must not block.
func (r *Response) OnWritable(f func()) {
	r.mu.Lock()
	r.onWritable = f
	r.mu.Unlock()
}

// check returns the error for a call that wants to change the response head.
func (r *Response) checkHead() error {
	switch {
	case r.finished || r.ended:
		return ErrClosed
	case r.bodyStarted:
		return fmt.Errorf("%w: the body has started", ErrState)
	}
	return nil
}

// checkStatus accepts final statuses. 1xx statuses are informational: a
// response cannot end with one (and 101 is forbidden in HTTP/3).
func checkStatus(code int) error {
	switch {
	case code < 100 || code > 599:
		return fmt.Errorf("%w: status %d is outside 100-599", ErrInvalidArgument, code)
	case code < 200:
		return fmt.Errorf("%w: status %d is informational, not a final status", ErrInvalidArgument, code)
	}
	return nil
}

// SetStatus sets the status code (200-599; default 200).
func (r *Response) SetStatus(code int) error {
	if err := checkStatus(code); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkHead(); err != nil {
		return err
	}
	r.status = code
	return nil
}

// AddHeader adds a header line; repeated names keep every value.
func (r *Response) AddHeader(name, value string) error {
	if err := ValidateField(name, value); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkHead(); err != nil {
		return err
	}
	addField(r.header, name, value)
	return nil
}

// Write records body bytes (copied) to send.
func (r *Response) Write(p []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished || r.ended {
		return ErrClosed
	}
	r.writeLocked(p)
	return nil
}

// End records the last body bytes (copied; may be empty) and ends the
// response.
func (r *Response) End(p []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.endLocked(p)
}

func (r *Response) endLocked(p []byte) error { return r.endWith(p, false) }

// endWith ends the response with p as the last body bytes; shared p is
// kept as it is instead of copied (it must never change).
func (r *Response) endWith(p []byte, shared bool) error {
	if r.finished || r.ended {
		return ErrClosed
	}
	if !r.bodyStarted && bodyAllowed(r.status) && !(r.isHead() && len(p) == 0 && r.header.Get("Content-Length") != "") {
		// The whole body is known: its length is the Content-Length, whatever
		// the handler declared (as Bun.serve does). A HEAD response without a
		// body keeps a declared length: it describes the body a GET would get.
		r.header["Content-Length"] = contentLength(len(p))
	}
	if shared {
		r.body.AddShared(p)
	} else {
		r.body.Add(p)
	}
	r.ended = true
	r.signal()
	return nil
}

// Respond sets status and headers, records body and, if end is true, ends
// the response: the whole of a small response in one call. Headers are
// validated first; on error nothing is recorded.
func (r *Response) Respond(status int, fields []HeaderField, body []byte, end bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.setHeadLocked(status, fields); err != nil {
		return err
	}
	if end {
		return r.endLocked(body)
	}
	r.writeLocked(body)
	return nil
}

// respondPrepared ends a fresh response with a head checked and built in
// advance (a static route's): header's fields are copied (their values are
// shared, cut to length), body is sent without being
// copied (it must never change), or, when file is set, the file is sent as
// by SendFile.
func (r *Response) respondPrepared(status int, header http.Header, body []byte, file string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkHead(); err != nil {
		return err
	}
	r.status = status
	clear(r.header)
	for k, v := range header {
		r.header[k] = v[:len(v):len(v)] // shared: an append must not reach header's arrays
	}
	if file != "" {
		r.filePath, r.ended = file, true
		r.signal()
		return nil
	}
	return r.endWith(body, true)
}

// setHeadLocked validates and records status and header fields.
func (r *Response) setHeadLocked(status int, fields []HeaderField) error {
	if err := checkStatus(status); err != nil {
		return err
	}
	if err := validateFields(fields); err != nil {
		return err
	}
	if err := r.checkHead(); err != nil {
		return err
	}
	r.status = status
	addFields(r.header, fields)
	return nil
}

// addFields adds fields (validated) to h (see addField).
func addFields(h http.Header, fields []HeaderField) {
	for _, f := range fields {
		addField(h, f.Name, f.Value)
	}
}

// addField adds a field (validated) to a head under its canonical name,
// unless it is a connection-specific one, which a head never carries (see
// isConnectionField): they are left out as they are recorded.
func addField(h http.Header, name, value string) {
	k := canonicalName(name)
	if !isConnectionField(k) {
		h[k] = append(h[k], value)
	}
}

// SendTrailers records trailer fields and ends the response.
func (r *Response) SendTrailers(fields []HeaderField) error {
	_, err := r.Send(nil, true, fields)
	return err
}

// setTrailersLocked records the trailers of a response that has just ended
// (serve sends them once the body is out).
func (r *Response) setTrailersLocked(fields []HeaderField) {
	r.trailer = http.Header{}
	for _, f := range fields {
		r.trailer.Add(f.Name, f.Value)
	}
}

// Send records body bytes (copied) and, if end is true, ends the response,
// with trailers if there are any. It returns the bytes now pending; at
// ResponseHighWater or more the caller should pause until the writable
// signal (onWritable) fires.
func (r *Response) Send(p []byte, end bool, trailers []HeaderField) (int, error) {
	if err := validateFields(trailers); err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !end {
		if r.finished || r.ended {
			return 0, ErrClosed
		}
		r.writeLocked(p)
		return r.body.Pending(), nil
	}
	if err := r.endLocked(p); err != nil {
		return 0, err
	}
	if len(trailers) > 0 {
		r.setTrailersLocked(trailers)
	}
	return r.body.Pending(), nil
}

// SendFile sets status and headers and ends the response with the file at
// path as its body, read by the serving goroutine. With status 200 it
// honours Range and conditional requests (206, 416, 304) and sets
// Content-Type from the extension when absent; a file that cannot be
// opened gives 404 (500 for other errors).
func (r *Response) SendFile(status int, fields []HeaderField, path string) error {
	if path == "" {
		return fmt.Errorf("%w: empty path", ErrInvalidArgument)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.setHeadLocked(status, fields); err != nil {
		return err
	}
	r.filePath = path
	r.ended = true
	r.signal()
	return nil
}

// FlushHead fixes status and headers and sends them now, before any body
// (HTTP/3 datagram flows start with the head).
func (r *Response) FlushHead() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished || r.ended || r.bodyStarted {
		return
	}
	r.bodyStarted = true
	r.signal()
}

// Done is closed when the response is finished (sent or aborted).
func (r *Response) Done() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done == nil {
		if r.finished {
			return closedDone
		}
		r.done = make(chan struct{}) // most responses never need one
	}
	return r.done
}

// closedDone is Done's channel for a response finished before anyone asked.
var closedDone = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// DeferEnd keeps the response open after the handler returns.
func (r *Response) DeferEnd() { r.SetAutoEnd(false) }

// SetAutoEnd chooses whether the response ends when the handler returns.
func (r *Response) SetAutoEnd(on bool) {
	r.mu.Lock()
	r.autoEnd = on
	r.mu.Unlock()
}

// AutoEnd reports whether the response ends when the handler returns.
func (r *Response) AutoEnd() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.autoEnd
}

// Pending returns the number of body bytes recorded but not yet handed to
// the QUIC stream, or ErrClosed once the response is finished.
func (r *Response) Pending() (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return 0, ErrClosed
	}
	return r.body.Pending(), nil
}

// writeLocked records body bytes; the head is fixed from now on.
func (r *Response) writeLocked(p []byte) {
	r.body.Add(p)
	r.bodyStarted = true
	r.signal()
}

// bodyAllowed reports whether a response with status carries a body
// (204, 205 and 304 never do; 1xx are not final statuses here).
func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusResetContent && status != http.StatusNotModified && status >= 200
}

// isHead reports whether the response answers a HEAD request.
func (r *Response) isHead() bool { return r.req != nil && r.req.Method == http.MethodHead }

// validateFields checks every field (see ValidateField).
func validateFields(fields []HeaderField) error {
	for _, f := range fields {
		if err := ValidateField(f.Name, f.Value); err != nil {
			return err
		}
	}
	return nil
}

// signal wakes serve; r.mu is held.
func (r *Response) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// handlerReturned applies auto-end once the handler is back (and every
// holdAutoEnd is released), and arms a deferred timeout for a response
// that did not end (see deferTimeout).
func (r *Response) handlerReturned() {
	if r.endOrArm() {
		r.expire()
	}
}

// endOrArm is handlerReturned under r.mu; it reports whether the timeout
// is already over.
func (r *Response) endOrArm() (timeoutOver bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handlerDone = true
	r.maybeAutoEndLocked()
	return r.armTimeoutLocked()
}

func (r *Response) maybeAutoEndLocked() {
	if r.autoEnd && r.handlerDone && r.autoEndHolds == 0 && !r.ended && !r.finished && !r.peerAborted && !r.abortCalled.Load() {
		_ = r.endLocked(nil)
	}
}

// holdAutoEnd delays auto-end until releaseAutoEnd: for work that goes on
// after the handler returns, such as delivering a streaming request body.
func (r *Response) holdAutoEnd() {
	r.mu.Lock()
	r.autoEndHolds++
	r.mu.Unlock()
}

// releaseAutoEnd undoes one holdAutoEnd and applies auto-end if it is due.
func (r *Response) releaseAutoEnd() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.autoEndHolds--
	r.maybeAutoEndLocked()
}

// ValidateField checks a header name (an HTTP token, not a pseudo-header)
// and value (no CR, LF or NUL).
func ValidateField(name, value string) error {
	if name == "" {
		return fmt.Errorf("%w: empty header name", ErrInvalidArgument)
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Errorf("%w: header name %q has an invalid character", ErrInvalidArgument, name)
		}
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c == '\r' || c == '\n' || c == 0 {
			return fmt.Errorf("%w: header %q has CR, LF or NUL in its value", ErrInvalidArgument, name)
		}
	}
	return nil
}

// Reject ends the response with status (400-599) and its text as the
// body, and counts it in Stats.RequestsRejected, as the server's own
// refusals (404, 405, 413, ...).
func (r *Response) Reject(status int) error {
	if status < 400 || status > 599 {
		return fmt.Errorf("%w: reject status %d is outside 400-599", ErrInvalidArgument, status)
	}
	r.srv.counters.requestsRejected.Add(1)
	return r.Respond(status, []HeaderField{{Name: "content-type", Value: "text/plain; charset=utf-8"}}, []byte(http.StatusText(status)+"\n"), true)
}

// discardHead drops the head fields recorded so far, before the server
// writes an answer of its own to w: with an in-place head they are in
// w.Header(), and the answer must carry none of them.
func (r *Response) discardHead() {
	r.mu.Lock()
	clear(r.header)
	r.mu.Unlock()
}

// resetForError discards what the handler recorded and makes the response a
// 500, if the head is not fixed yet; it reports whether it could.
func (r *Response) resetForError() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bodyStarted {
		return false
	}
	clear(r.header)
	r.trailer, r.filePath = nil, ""
	r.body.Reset() // the head is not sent and no Send is paused (Send without end starts the body)
	r.ended, r.autoEnd = false, true
	r.status = http.StatusInternalServerError
	return true
}

// Abort abandons the response: instead of ending it, the serving goroutine
// resets its stream (HTTP/3: H3_INTERNAL_ERROR in both directions; HTTP/2:
// the stream is reset; HTTP/1.1: the connection is closed), so that the
// client sees an error, never a body cut short that looks complete. It is
// for a response whose body cannot be produced after all (its source
// failed). What was recorded and not yet sent is dropped. It returns
// ErrClosed once the response is finished (sent, aborted or timed out);
// an ended response whose body is still being written can be aborted.
func (r *Response) Abort() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return ErrClosed
	}
	r.abortCalled.Store(true)
	r.signal()
	return nil
}

// abortByPeer marks the response aborted: reading the request body failed
// with err (the peer reset it, or it is malformed).
func (r *Response) abortByPeer(err error) {
	r.mu.Lock()
	r.peerAborted = true
	r.bodyMalformed = errors.Is(err, ErrMalformed)
	r.signal()
	r.mu.Unlock()
}
