package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/quicvarint"
	"github.com/quic-go/webtransport-go"
)

// WebTransport sessions are Extended CONNECT requests (:protocol
// webtransport) on a route with Route.Sessions. The handler accepts or
// rejects the session, now or later; once accepted, the session's
// datagrams and incoming streams reach the functions set with SetEvents.

// sessionDecisionTimeout bounds how long a session waits to be accepted or
// rejected; then the client gets 504.
const sessionDecisionTimeout = 10 * time.Second

// SessionEvents are how a session's consumer learns what happens on it.
// Set them with Session.SetEvents before accepting; each may be nil. They
// run on the session's goroutines.
type SessionEvents struct {
	// Ready: the session is accepted and established; streams can be opened.
	Ready func()
	// Datagram: a session datagram arrived (payload valid only during the call).
	Datagram func(payload []byte)
	// Stream: the peer opened a stream (bidirectional or receive-only).
	Stream func(st *Stream)
	// Closed: the session ended, with the close code and reason of either
	// side (0 and "" when there were none). Also called for a session that
	// was rejected or never established, so every session ends with it.
	Closed func(code uint32, reason string)
}

// Session is one WebTransport session.
type Session struct {
	Request *Request
	srv     *Server

	decideOnce sync.Once
	decided    chan struct{}
	accepted   bool
	status     int

	mu          sync.Mutex
	events      SessionEvents
	ws          *webtransport.Session
	connect     *http3.Stream // the CONNECT stream, for the close capsule
	closed      bool
	closing     bool
	closeCode   uint32 // what we closed the session with, reported as its end
	closeReason string
}

// SetEvents sets the session's event functions (before Accept).
func (s *Session) SetEvents(ev SessionEvents) {
	s.mu.Lock()
	s.events = ev
	s.mu.Unlock()
}

// Accept accepts the session (once; later calls and Reject fail).
func (s *Session) Accept() error { return s.decide(true, http.StatusOK) }

// Reject refuses the session with an HTTP status (400-599).
func (s *Session) Reject(status int) error {
	if status < 400 || status > 599 {
		return fmt.Errorf("%w: reject status %d is outside 400-599", ErrInvalidArgument, status)
	}
	return s.decide(false, status)
}

func (s *Session) decide(accept bool, status int) error {
	err := fmt.Errorf("%w: the session was already accepted or rejected", ErrState)
	s.decideOnce.Do(func() {
		s.accepted, s.status, err = accept, status, nil
		close(s.decided)
	})
	return err
}

// isWebTransport reports whether hr is an Extended CONNECT for WebTransport.
func isWebTransport(hr *http.Request) bool {
	return hr.Method == http.MethodConnect && (hr.Proto == "webtransport" || hr.Proto == "webtransport-h3")
}

// serveSession runs a WebTransport CONNECT: the route's session handler
// decides, then the session lives on this goroutine until it closes. It
// reports whether the request was completed.
func (s *Server) serveSession(w http.ResponseWriter, hr *http.Request, rt *Route, req *Request) (completed bool) {
	if s.wt == nil || rt.Sessions == nil {
		s.reject(w, http.StatusNotFound) // no WebTransport endpoint here
		return true
	}
	sess := &Session{Request: req, srv: s, decided: make(chan struct{})}
	s.mu.Lock()
	s.sessions[sess] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.sessions, sess)
		s.mu.Unlock()
	}()
	rt.Sessions(req, sess)
	select {
	case <-sess.decided:
	case <-hr.Context().Done():
		sess.finish(nil)
		return false
	case <-time.After(sessionDecisionTimeout):
		sess.decide(false, http.StatusGatewayTimeout)
	}
	if !sess.accepted {
		s.reject(w, sess.status)
		sess.finish(nil)
		return true
	}
	s.runSession(w, hr, sess)
	return true
}

// runSession upgrades an accepted session and serves it until it closes.
func (s *Server) runSession(w http.ResponseWriter, hr *http.Request, sess *Session) {
	ws, err := s.wt.Upgrade(w, hr)
	if err != nil {
		s.logf(LogInfo, "WebTransport %s: %v", sess.Request.Path, err)
		s.reject(w, http.StatusForbidden)
		sess.finish(nil)
		return
	}
	sess.mu.Lock()
	sess.ws = ws
	if streamer, ok := w.(http3.HTTPStreamer); ok {
		sess.connect = streamer.HTTPStream() // already taken over by Upgrade: the same stream
	}
	ev := sess.events
	sess.mu.Unlock()
	if ev.Ready != nil {
		ev.Ready()
	}
	s.counters.sessionsActive.Add(1)
	defer s.counters.sessionsActive.Add(-1)
	go sess.receiveDatagrams(ev.Datagram)
	go sess.acceptStreams(ev.Stream)
	go sess.acceptUniStreams(ev.Stream)
	<-ws.Context().Done()
	sess.finish(context.Cause(ws.Context()))
}

// finish records the end of the session (also a session that never
// started) and tells the consumer.
func (s *Session) finish(cause error) {
	s.mu.Lock()
	s.closed = true
	closing, ws, closed := s.closing, s.ws, s.events.Closed
	s.mu.Unlock()
	code, reason := uint32(0), ""
	var se *webtransport.SessionError
	switch {
	case closing:
		code, reason = s.closeCode, s.closeReason
	case errors.As(cause, &se):
		code, reason = uint32(se.ErrorCode), se.Message
	case ws != nil:
		// Session.Context carries no cause: the close code is in the error
		// the session's accept calls return once it is closed.
		if _, err := ws.AcceptStream(context.Background()); errors.As(err, &se) {
			code, reason = uint32(se.ErrorCode), se.Message
		}
	}
	if closed != nil {
		closed(code, reason)
	}
}

func (s *Session) session() (*webtransport.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if s.ws == nil {
		return nil, fmt.Errorf("%w: the session is not accepted yet", ErrState)
	}
	return s.ws, nil
}

// closeLinger is how long Close waits for the peer to end the session after
// the close capsule before closing it hard.
const closeLinger = time.Second

// MaxCloseReason is the longest close reason Session.Close accepts.
const MaxCloseReason = 1024

// closeSessionCapsule is the CLOSE_WEBTRANSPORT_SESSION capsule type.
const closeSessionCapsule = 0x2843

// Close closes the session with an application error code and reason.
// It writes the CLOSE_WEBTRANSPORT_SESSION capsule and FIN on the CONNECT
// stream itself: webtransport-go's CloseWithError also stops reading the
// stream, and Chromium then drops the capsule and reports "Connection
// lost" instead of the code and reason (webtransport-go issue #242).
func (s *Session) Close(code uint32, reason string) error {
	ws, err := s.session()
	if err != nil {
		return err
	}
	if len(reason) > MaxCloseReason {
		return fmt.Errorf("%w: the close reason is longer than %d bytes", ErrInvalidArgument, MaxCloseReason)
	}
	s.mu.Lock()
	connect, closing := s.connect, s.closing
	if !closing {
		s.closing, s.closeCode, s.closeReason = true, code, reason
	}
	s.mu.Unlock()
	if closing {
		return nil
	}
	if connect == nil {
		return ws.CloseWithError(webtransport.SessionErrorCode(code), reason)
	}
	capsule := quicvarint.Append(nil, closeSessionCapsule)
	capsule = quicvarint.Append(capsule, uint64(4+len(reason)))
	capsule = binary.BigEndian.AppendUint32(capsule, code)
	capsule = append(capsule, reason...)
	if _, err := connect.Write(capsule); err != nil {
		return ws.CloseWithError(webtransport.SessionErrorCode(code), reason)
	}
	_ = connect.Close()
	time.AfterFunc(closeLinger, func() { _ = ws.CloseWithError(webtransport.SessionErrorCode(code), reason) })
	return nil
}

// SendDatagram sends a datagram on the session.
func (s *Session) SendDatagram(p []byte) error {
	ws, err := s.session()
	if err != nil {
		return err
	}
	if err := datagramError(ws.SendDatagram(p)); err != nil {
		return err
	}
	s.srv.counters.datagramsSent.Add(1)
	return nil
}

// MaxDatagramSize returns the largest session datagram payload sendable now.
func (s *Session) MaxDatagramSize() int {
	if _, err := s.session(); err != nil {
		return 0
	}
	return h3DatagramMax(s.Request) // on the session's CONNECT stream
}

func (s *Session) receiveDatagrams(deliver func([]byte)) {
	for {
		b, err := s.ws.ReceiveDatagram(context.Background())
		if err != nil {
			return
		}
		s.srv.counters.datagramsReceived.Add(1)
		if deliver != nil {
			deliver(b)
		}
	}
}

func (s *Session) acceptStreams(deliver func(*Stream)) {
	for {
		str, err := s.ws.AcceptStream(context.Background())
		if err != nil {
			return
		}
		s.incoming(newBidiStream(s, str), deliver)
	}
}

func (s *Session) acceptUniStreams(deliver func(*Stream)) {
	for {
		str, err := s.ws.AcceptUniStream(context.Background())
		if err != nil {
			return
		}
		s.incoming(newReceiveStream(s, str), deliver)
	}
}

// incoming hands a stream the peer opened to deliver; without one, or
// once the session is closed, the stream is refused.
func (s *Session) incoming(st *Stream, deliver func(*Stream)) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed || deliver == nil {
		st.Reset(0)
		return
	}
	deliver(st)
}

// OpenStream opens a bidirectional (bidi) or unidirectional stream.
func (s *Session) OpenStream(bidi bool) (*Stream, error) {
	ws, err := s.session()
	if err != nil {
		return nil, err
	}
	if bidi {
		str, err := ws.OpenStream()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrState, err)
		}
		return newBidiStream(s, str), nil
	}
	str, err := ws.OpenUniStream()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrState, err)
	}
	return newSendStream(s, str), nil
}

// checkOrigin is the webtransport-go CheckOrigin. Requests without an
// Origin header pass. With an allowed list, only the listed origins pass
// ("*": all). Without one (the development default), pages from the
// request's own host and loopback pages pass.
func checkOrigin(allowed []string) func(r *http.Request) bool {
	return func(r *http.Request) bool {
		origin := r.Header.Get("Origin")
		if origin == "" {
			return true
		}
		if len(allowed) > 0 {
			for _, a := range allowed {
				if a == "*" || a == origin {
					return true
				}
			}
			return false
		}
		u, err := url.Parse(origin)
		if err != nil {
			return false
		}
		host := u.Hostname()
		reqHost, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			reqHost = r.Host
		}
		if host == reqHost {
			return true
		}
		ip := net.ParseIP(host)
		return host == "localhost" || ip != nil && ip.IsLoopback()
	}
}

// closeSessions closes every open session of s (stop: WebTransport
// sessions are long-lived requests that a graceful stop would wait for).
func (s *Server) closeSessions(code uint32, reason string) {
	s.mu.Lock()
	sessions := make([]*Session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	for _, sess := range sessions {
		_ = sess.Close(code, reason)
		sess.decide(false, http.StatusServiceUnavailable) // undecided sessions
	}
}
