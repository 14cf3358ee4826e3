package server

import (
	"fmt"
	"net/http"
	"time"
)

// DefaultRequestTimeout is how long a request may go without its response
// starting (the head sent) and, meanwhile, without request body bytes
// arriving, when Config.RequestTimeout is zero. After it the client gets
// 503 and the request's state is freed. Once the head is sent, responses
// take as long as they take.
const DefaultRequestTimeout = 60 * time.Second

// DefaultHeaderTimeout is how long a request stream may take to deliver
// its HEADERS when Config.HeaderTimeout is zero.
const DefaultHeaderTimeout = 5 * time.Second

// IdleTimeout is the QUIC idle timeout the server offers
// (quic.Config.MaxIdleTimeout, also quic-go's default): a connection with
// no packet either way for that long is closed. Any packet, a PING too,
// keeps a connection alive, so it does not free stalled requests: the
// header and request timeouts do.
const IdleTimeout = 30 * time.Second

// headerTimeout returns the configured header timeout; 0 means none.
func (c *Config) headerTimeout() time.Duration {
	return timeoutOr(c.HeaderTimeout, DefaultHeaderTimeout)
}

// requestTimeout returns the configured timeout; 0 means none.
func (c *Config) requestTimeout() time.Duration {
	return timeoutOr(c.RequestTimeout, DefaultRequestTimeout)
}

// timeoutOr is a configured timeout: negative means none (0), zero the
// default.
func timeoutOr(d, def time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return def
	}
	return d
}

// SetTimeout sets how long from now the response may take to start (0:
// no limit). When it expires before the head is sent, the client gets 503
// "Request timed out" and the consumer is told (EventAbort, reason timeout).
func (r *Response) SetTimeout(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%w: negative timeout", ErrInvalidArgument)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkHead(); err != nil {
		return err
	}
	r.stopTimerLocked()
	r.timeout = d
	if d > 0 {
		r.timer = time.AfterFunc(d, r.expire)
	}
	return nil
}

// deferTimeout starts the request timeout d without arming a timer yet:
// armTimeoutLocked arms it for what is left once the handler returns (see
// handlerReturned), and most responses are over by then (a synchronous
// handler, a static route), so they never pay for a timer. Only for a
// buffered body: a streaming one restarts the timeout as it arrives
// (touch), also while the handler runs. It is called on a new response,
// which nothing else holds yet: no lock.
func (r *Response) deferTimeout(d time.Duration) {
	r.timeout, r.deferredSince = d, time.Now()
}

// armTimeoutLocked arms a timeout deferred by deferTimeout, for what is
// left of it, if the response has not started. It reports whether the
// timeout is already over: the caller then calls expire (without r.mu),
// which answers at once.
func (r *Response) armTimeoutLocked() (over bool) {
	since := r.deferredSince
	r.deferredSince = time.Time{}
	if since.IsZero() || r.finished || r.ended || r.bodyStarted {
		return false
	}
	left := r.timeout - time.Since(since)
	if left > 0 {
		r.timer = time.AfterFunc(left, r.expire)
		return false
	}
	return true
}

// touch restarts the timeout: the request is making progress.
func (r *Response) touch() {
	r.mu.Lock()
	if r.timer != nil {
		r.timer.Reset(r.timeout)
	}
	r.mu.Unlock()
}

// expire answers 503 if the head is still not sent.
func (r *Response) expire() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished || r.ended || r.bodyStarted {
		return
	}
	r.timedOut = true
	r.status = http.StatusServiceUnavailable
	clear(r.header)
	r.header["Content-Type"] = []string{"text/plain; charset=utf-8"}
	r.body.Reset()
	r.trailer = nil
	_ = r.endLocked([]byte("Request timed out\n"))
}

// stopTimerLocked ends the timeout: the head went out, the timeout was
// replaced, or the response finished.
func (r *Response) stopTimerLocked() {
	r.deferredSince = time.Time{}
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
}
