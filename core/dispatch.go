package core

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/quic-go/quic-go"
)

// serveHTTP is the http3 handler: it routes the request, answers what the
// server answers itself (404, 405, OPTIONS, 413), reads buffered bodies and
// runs the route's handler with a Response that it then writes out.
func (s *Server) serveHTTP(w http.ResponseWriter, hr *http.Request) {
	s.workers.run(func() { s.serveRequest(w, hr) })
}

// serveRequest is serveHTTP on a worker goroutine.
func (s *Server) serveRequest(w http.ResponseWriter, hr *http.Request) {
	s.requestsTotal.Add(1)
	s.requestsActive.Add(1)
	defer s.requestDone()
	var streamID uint64
	if sid, ok := hr.Body.(interface{ StreamID() quic.StreamID }); ok {
		streamID = uint64(sid.StreamID())
	}
	connID, _ := hr.Context().Value(connIDKey{}).([]byte)
	completed := true
	defer func() {
		if f := s.streamClosed.Load(); f != nil {
			(*f)(connID, streamID, !completed)
		}
	}()

	path := hr.URL.EscapedPath()
	routes := s.routes.Load()
	m := routes.router.Match(hr.Method, path)
	h := m.Value
	if !m.Found {
		h = routes.fallback
	}
	if h == nil {
		s.answerUnrouted(w, hr, m.Allowed)
		return
	}
	if s.stoppingWithoutGoaway() {
		s.reject(w, http.StatusServiceUnavailable)
		return
	}
	sessions, _ := h.(SessionHandler)
	webTransport := isWebTransport(hr)
	if webTransport && (s.wt == nil || sessions == nil || !sessions.AcceptsSessions()) {
		s.reject(w, http.StatusNotFound) // no WebTransport endpoint here
		return
	}

	streaming := webTransport
	if bs, ok := h.(BodyStreamer); ok && bs.StreamsBody() {
		streaming = true
	}
	dgrams, _ := h.(DatagramRoute)
	datagramFlow := dgrams != nil && dgrams.HandlesDatagrams()
	if datagramFlow {
		streaming = true // the client keeps the request open while the flow lasts
	}
	var body []byte
	if !streaming {
		var ok bool
		if body, ok = s.readBody(w, hr); !ok {
			completed = hr.Context().Err() == nil
			return
		}
	}
	req := &Request{
		Method:     hr.Method,
		Path:       hr.URL.RequestURI(),
		Authority:  hr.Host,
		Header:     headerFields(hr.Header),
		Body:       body,
		RemoteAddr: hr.RemoteAddr,
		Context:    hr.Context(),
	}
	if m.Found {
		req.Pattern, req.Params = m.Pattern, m.Params
	}
	req.StreamID, req.ConnID = streamID, connID
	if webTransport {
		completed = s.serveSession(w, hr, sessions, req)
		return
	}
	if streaming {
		req.body = newStreamingBody(hr, datagramFlow)
	} else if len(hr.Trailer) > 0 {
		req.trailer = headerFields(hr.Trailer)
	}

	res := registerResponse()
	res.req = req
	if d := s.cfg.requestTimeout(); d > 0 {
		_ = res.SetTimeout(d)
	}
	if req.body != nil {
		req.body.onPeerReset = res.abortByPeer
		req.body.onProgress = res.touch
	}
	if datagramFlow {
		s.enableDatagrams(res, dgrams.DatagramSink(req, res))
	}
	defer openResponses.Delete(res.ID)
	defer req.finishBody() // also when the handler panics
	// A panic after the body started resets the stream (runHandler panics
	// with http.ErrAbortHandler): the deferred close callback then sees an
	// aborted request.
	completed = false
	completed = s.runHandler(h, req, res) && res.serve(hr.Context(), w, hr)
	req.finishBody()
	if res.badLength != "" {
		s.logf(LogWarn, "%s %s: response reset: %s", req.Method, req.Path, res.badLength)
	}
	if res.timedOut {
		s.requestsTimedOut.Add(1)
		s.logf(LogInfo, "%s %s: timed out", req.Method, req.Path)
	}
	if !completed || res.timedOut {
		reason := uint32(AbortPeer)
		if res.timedOut {
			reason = AbortTimeout
		}
		if q := s.events.Load(); q != nil && res.queued {
			_ = q.PushControl(encodeAbort(res.ID, reason))
		}
		s.logf(LogDebug, "%s %s: aborted", req.Method, req.Path)
	}
}

// runHandler calls h, turning a panic into a 500. It reports whether the
// response should be served.
func (s *Server) runHandler(h Handler, req *Request, res *Response) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			s.requestsRejected.Add(1)
			s.logf(LogWarn, "%s %s: handler panicked: %v", req.Method, req.Path, p)
			// Discard whatever the handler recorded and answer 500 if we still can.
			res.mu.Lock()
			started := res.bodyStarted
			res.mu.Unlock()
			if started {
				res.finish()
				ok = false
				panic(http.ErrAbortHandler) // resets the stream
			}
			res.mu.Lock()
			res.header, res.trailer = http.Header{}, nil
			res.body.reset() // the head is not sent and no Send is paused (Send without end starts the body)
			res.ended, res.autoEnd = false, true
			res.status = http.StatusInternalServerError
			res.mu.Unlock()
			res.handlerReturned()
			ok = true
		}
	}()
	h.ServeRequest(req, res)
	res.handlerReturned()
	return true
}

func (s *Server) requestDone() {
	if s.requestsActive.Add(-1) == 0 {
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
	s.requestsRejected.Add(1)
	text := http.StatusText(status) + "\n"
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(text)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

// readBody reads a buffered body up to the limit; over it the client gets
// 413, the rest of the upload is refused, and ok is false.
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
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil, true
			}
			s.logf(LogDebug, "%s %s: reading body: %v", hr.Method, hr.URL.Path, err)
			return nil, false
		}
		buf.WriteByte(first[0])
	}
	if _, err := buf.ReadFrom(io.LimitReader(hr.Body, limit+1)); err != nil {
		s.logf(LogDebug, "%s %s: reading body: %v", hr.Method, hr.URL.Path, err)
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
	_ = hr.Body.Close()
}
