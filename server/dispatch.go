package server

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/quic-go/quic-go"
)

// serveHTTP is the http3 handler (and the TCP one's); it serves each
// request on a worker goroutine (see workerPool): an HTTP/3 request is on
// one already.
func (s *Server) serveHTTP(w http.ResponseWriter, hr *http.Request) {
	if !s.admitEarly(hr) {
		panic(http.ErrAbortHandler) // the connection closed before its handshake completed
	}
	if hr.ProtoMajor == 3 {
		s.serveRequest(w, hr)
		return
	}
	s.workers.serve(s.serveRequestFunc, w, hr)
}

// serveRequest routes a request and serves it the way its route says:
// answered by the server itself (no route: 404, 405, OPTIONS), as a
// WebTransport session, or by the route's handler.
func (s *Server) serveRequest(w http.ResponseWriter, hr *http.Request) {
	s.counters.countRequest(hr)
	s.counters.requestsActive.Add(1)
	defer s.requestDone()
	conn := connOf(hr.Context())
	streamID := requestStreamID(hr, conn)
	headersRead(conn, streamID)
	completed := false // until served: a refusal may reset the stream (panic)
	defer func() { s.reportStreamClose(conn, streamID, !completed) }()

	// Flattened once, counted as it is: a section over the limit is not.
	header, fit := flattenFields(hr.Header, s.cfg.maxHeaderFields())
	rt, m := s.routes.Load().match(hr.Method, hr.URL.EscapedPath())
	switch {
	case !fit:
		s.reject(w, http.StatusRequestHeaderFieldsTooLarge)
		completed = true
	case isExtendedConnect(hr) && !isWebTransport(hr):
		s.reject(w, http.StatusNotImplemented) // see Config.EnableWebTransport
		completed = true
	case rt == nil:
		s.answerUnrouted(w, hr, m.Allowed)
		completed = true
	case s.stopping.Load():
		// Our own connection loops and webtransport-go send no GOAWAY (see
		// serveH3Conn), and a TCP connection may still carry a request.
		s.reject(w, http.StatusServiceUnavailable)
		completed = true
	case tooEarly(hr):
		s.reject(w, http.StatusTooEarly)
		completed = true
	case isWebTransport(hr):
		completed = s.serveSession(w, hr, rt, newRequest(new(Request), hr, header, m, conn, streamID))
	default:
		x := new(exchange)
		completed = s.serveRoute(w, hr, rt, newRequest(&x.req, hr, header, m, conn, streamID), &x.res)
	}
}

// exchange is a routed request and its response, made in one allocation.
type exchange struct {
	req Request
	res Response
}

// isExtendedConnect reports whether hr is an HTTP/3 Extended CONNECT
// (RFC 9220): http3 puts its :protocol in Proto.
func isExtendedConnect(hr *http.Request) bool {
	return hr.Method == http.MethodConnect && hr.ProtoMajor == 3 && hr.Proto != "HTTP/3.0"
}

// requestStreamID is the QUIC stream a request arrived on. Over TCP, it
// numbers the requests of the connection as a QUIC client numbers its
// request streams: 0, 4, 8, ...
func requestStreamID(hr *http.Request, c *Conn) uint64 {
	if sid, ok := hr.Body.(interface{ StreamID() quic.StreamID }); ok {
		return uint64(sid.StreamID())
	}
	if c != nil {
		return (c.tcpRequests.Add(1) - 1) * 4
	}
	return 0
}

// reportStreamClose calls the OnStreamClose function.
func (s *Server) reportStreamClose(c *Conn, streamID uint64, aborted bool) {
	f := s.streamClosed.Load()
	if f == nil {
		return
	}
	var connID []byte
	if c != nil {
		connID = c.ID
	}
	(*f)(connID, streamID, aborted)
}

// serveRoute reads the body as the route wants it, runs the handler and
// writes its response, made at res. It reports whether the response was
// completed (false: the client went away, or the response was reset).
func (s *Server) serveRoute(w http.ResponseWriter, hr *http.Request, rt *Route, req *Request, res *Response) bool {
	checkLength(hr)
	if rt.streams() {
		req.body = newStreamingBody(w, hr, rt.Datagrams != nil)
	} else {
		body, ok := s.readBody(w, hr)
		if !ok {
			return hr.Context().Err() == nil
		}
		req.Body = body
		// The names a Trailer field announced count, received or not.
		trailer, fit := flattenFields(hr.Trailer, s.cfg.maxHeaderFields())
		if !fit {
			s.reject(w, http.StatusRequestHeaderFieldsTooLarge)
			return true
		}
		if len(hr.Trailer) > 0 {
			req.trailer = trailer
		}
	}
	s.newResponse(res, req, rt, w.Header())
	outcome := Aborted
	if rt.Finished != nil {
		defer func() { rt.Finished(req, res, outcome) }()
	}
	defer req.finishBody() // also when the handler panics
	// A panic after the body started resets the stream (runHandler panics
	// with http.ErrAbortHandler): the deferred calls then see an aborted
	// request.
	handled := s.runHandler(rt.Handler, req, res)
	completed := handled && res.serve(hr.Context(), w, hr)
	req.finishBody()
	outcome = s.outcome(req, res, completed)
	return completed
}

// newResponse makes, at res, the response to req, recorded in header (the
// ResponseWriter's), with the request timeout, the body's progress and
// reset hooks and the route's datagram flow.
func (s *Server) newResponse(res *Response, req *Request, rt *Route, header http.Header) {
	newResponse(res, s, req, header)
	if d := s.cfg.requestTimeout(); d > 0 && req.body == nil {
		res.deferTimeout(d)
	} else if d > 0 {
		_ = res.SetTimeout(d)
	}
	if req.body != nil {
		req.body.onPeerReset = res.abortByPeer
		req.body.onProgress = res.touch
	}
	if rt.Datagrams != nil {
		res.dgram = &h3Datagrams{srv: s}
		res.dgram.deliver = rt.Datagrams(req, res)
	}
}

// outcome logs and counts how a served request ended.
func (s *Server) outcome(req *Request, res *Response, completed bool) Outcome {
	res.mu.Lock()
	timedOut := res.timedOut
	res.mu.Unlock()
	switch {
	case timedOut:
		s.counters.requestsTimedOut.Add(1)
		s.logf(LogInfo, "%s %s: timed out", req.Method, req.Path)
		return TimedOut
	case !completed:
		s.logf(LogDebug, "%s %s: aborted", req.Method, req.Path)
		return Aborted
	}
	return Completed
}

// runHandler calls h, turning a panic into a 500. It reports whether the
// response should be served.
func (s *Server) runHandler(h Handler, req *Request, res *Response) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			s.counters.requestsRejected.Add(1)
			s.logf(LogWarn, "%s %s: handler panicked: %v", req.Method, req.Path, p)
			if !res.resetForError() {
				res.finish()
				ok = false
				panic(http.ErrAbortHandler) // resets the stream
			}
			res.handlerReturned()
			ok = true
		}
	}()
	h.ServeRequest(req, res)
	res.handlerReturned()
	return true
}

func (s *Server) requestDone() {
	if s.counters.requestsActive.Add(-1) == 0 {
		s.mu.Lock()
		if s.state == stateStopping && s.idle != nil {
			select {
			case <-s.idle:
			default:
				close(s.idle)
			}
		}
		s.mu.Unlock()
	}
}

// answerUnrouted answers a request no route or fallback takes: 204 with
// Allow for OPTIONS on a known path, 405 for another method on a known path,
// 404 otherwise.
func (s *Server) answerUnrouted(w http.ResponseWriter, hr *http.Request, allowed []string) {
	if len(allowed) > 0 {
		if !slices.Contains(allowed, "OPTIONS") {
			allowed = append(allowed, "OPTIONS")
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		if hr.Method == http.MethodOptions {
			dropImpliedLength(w.Header(), http.StatusNoContent)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		s.reject(w, http.StatusMethodNotAllowed)
		return
	}
	s.reject(w, http.StatusNotFound)
}

// reject answers with a short text status and counts it.
func (s *Server) reject(w http.ResponseWriter, status int) {
	s.counters.requestsRejected.Add(1)
	text := http.StatusText(status) + "\n"
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(text)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

// readBody reads a buffered body up to the limit; over it the client gets
// 413, the rest of the upload is refused, and ok is false. A body that
// cannot be read is refused (see refuseBody).
func (s *Server) readBody(w http.ResponseWriter, hr *http.Request) (body []byte, ok bool) {
	limit := s.cfg.maxBody()
	if hr.ContentLength > limit {
		s.rejectTooLarge(w, hr)
		return nil, false
	}
	if hr.ContentLength == 0 {
		return nil, true
	}
	var buf bytes.Buffer
	if hr.ContentLength > 0 {
		buf.Grow(int(hr.ContentLength) + bytes.MinRead)
	} else {
		// Unknown length, usually no body at all (GET): look before allocating.
		var first [1]byte
		n, err := io.ReadFull(hr.Body, first[:])
		if n == 0 {
			if err == io.EOF {
				return nil, true
			}
			s.refuseBody(w, hr, err)
			return nil, false
		}
		buf.WriteByte(first[0])
	}
	if _, err := buf.ReadFrom(io.LimitReader(hr.Body, limit+1)); err != nil {
		s.refuseBody(w, hr, err)
		return nil, false
	}
	if int64(buf.Len()) > limit {
		s.rejectTooLarge(w, hr)
		return nil, false
	}
	return buf.Bytes(), true
}

// rejectTooLarge answers 413 and stops the client sending the rest.
func (s *Server) rejectTooLarge(w http.ResponseWriter, hr *http.Request) {
	s.reject(w, http.StatusRequestEntityTooLarge)
	stopBody(w, hr)
}
