package core

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
// webtransport) on a route whose handler implements SessionHandler. The
// handler accepts or rejects the session, now or later; once accepted, the
// session's datagrams and incoming streams go to the event queue (the only
// consumer for now: Bun, and C users through the event-queue API).

// SessionHandleBase is the first session handle; StreamHandleBase the first
// WebTransport stream handle (see ResponseIDBase).
const (
	SessionHandleBase = 1 << 52
	StreamHandleBase  = 1<<52 + 1<<51
)

// sessionDecisionTimeout bounds how long a session waits to be accepted or
// rejected; then the client gets 504.
const sessionDecisionTimeout = 10 * time.Second

// SessionHandler is implemented by handlers of WebTransport routes.
type SessionHandler interface {
	AcceptsSessions() bool
	ServeSession(req *Request, sess *Session)
}

// Session is one WebTransport session.
type Session struct {
	Handle  uint64
	Request *Request
	srv     *Server
	q       *EventQueue // where datagrams and streams go (may be nil: dropped)

	decideOnce sync.Once
	decided    chan struct{}
	accepted   bool
	status     int

	mu      sync.Mutex
	ws      *webtransport.Session
	connect *http3.Stream // the CONNECT stream, for the close capsule
	streams map[uint64]*Stream
	closed  bool
	closing bool
	// what we closed the session with, reported as its end
	closeCode   uint32
	closeReason string
}

var (
	openSessions sync.Map // handle -> *Session
	openStreams  sync.Map // handle -> *Stream
	lastSession  atomicCounter
	lastStream   atomicCounter
)

// LookupSession returns the open session with the given handle.
func LookupSession(h uint64) (*Session, bool) {
	v, ok := openSessions.Load(h)
	if !ok {
		return nil, false
	}
	return v.(*Session), true
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

// serveSession runs a WebTransport CONNECT: the handler decides, then the
// session lives on this goroutine until it closes.
func (s *Server) serveSession(w http.ResponseWriter, hr *http.Request, h SessionHandler, req *Request) (completed bool) {
	sess := &Session{Handle: SessionHandleBase + lastSession.next(), Request: req, srv: s, decided: make(chan struct{}), streams: map[uint64]*Stream{}}
	sess.q = s.events.Load()
	openSessions.Store(sess.Handle, sess)
	defer openSessions.Delete(sess.Handle)
	h.ServeSession(req, sess)
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
	ws, err := s.wt.Upgrade(w, hr)
	if err != nil {
		s.logf(LogInfo, "WebTransport %s: %v", req.Path, err)
		s.reject(w, http.StatusForbidden)
		sess.finish(nil)
		return true
	}
	sess.mu.Lock()
	sess.ws = ws
	if streamer, ok := w.(http3.HTTPStreamer); ok {
		sess.connect = streamer.HTTPStream() // already taken over by Upgrade: the same stream
	}
	sess.mu.Unlock()
	if sess.q != nil {
		_ = sess.q.PushControl(encodeSessionReady(sess.Handle))
	}
	s.sessionsActive.Add(1)
	defer s.sessionsActive.Add(-1)
	go sess.receiveDatagrams()
	go sess.acceptStreams()
	go sess.acceptUniStreams()
	<-ws.Context().Done()
	sess.finish(context.Cause(ws.Context()))
	return true
}

// finish records the end of the session (also a session that never
// started) and tells the consumer, which can then forget it.
func (s *Session) finish(cause error) {
	s.mu.Lock()
	s.closed = true
	streams := s.streams
	s.streams = nil
	s.mu.Unlock()
	for _, st := range streams {
		st.forget()
	}
	code, reason := uint32(0), ""
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	var se *webtransport.SessionError
	if closing {
		code, reason = s.closeCode, s.closeReason
	} else if errors.As(cause, &se) {
		code, reason = uint32(se.ErrorCode), se.Message
	} else if ws := s.ws; ws != nil {
		// Session.Context carries no cause: the close code is in the error
		// the session's accept calls return once it is closed.
		if _, err := ws.AcceptStream(context.Background()); errors.As(err, &se) {
			code, reason = uint32(se.ErrorCode), se.Message
		}
	}
	if s.q != nil {
		_ = s.q.PushControl(encodeSessionClosed(s.Handle, code, reason))
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
	if len(reason) > 1024 {
		return fmt.Errorf("%w: the close reason is longer than 1024 bytes", ErrInvalidArgument)
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

// closeSessionCapsule is the CLOSE_WEBTRANSPORT_SESSION capsule type.
const closeSessionCapsule = 0x2843

// SendDatagram sends a datagram on the session.
func (s *Session) SendDatagram(p []byte) error {
	ws, err := s.session()
	if err != nil {
		return err
	}
	if err := datagramError(ws.SendDatagram(p)); err != nil {
		return err
	}
	s.srv.datagramsSent.Add(1)
	return nil
}

// MaxDatagramSize returns the largest session datagram payload sendable now.
func (s *Session) MaxDatagramSize() int {
	if _, err := s.session(); err != nil {
		return 0
	}
	return h3DatagramMax(s.Request) // on the session's CONNECT stream
}

func (s *Session) receiveDatagrams() {
	ws := s.ws
	for {
		b, err := ws.ReceiveDatagram(context.Background())
		if err != nil {
			return
		}
		s.srv.datagramsReceived.Add(1)
		if s.q == nil || s.q.TryPush(encodeSessionDatagram(s.Handle, b)) != nil {
			s.srv.datagramsDropped.Add(1)
		}
	}
}

func (s *Session) acceptStreams() {
	for {
		str, err := s.ws.AcceptStream(context.Background())
		if err != nil {
			return
		}
		s.adopt(newBidiStream(s, str), true)
	}
}

func (s *Session) acceptUniStreams() {
	for {
		str, err := s.ws.AcceptUniStream(context.Background())
		if err != nil {
			return
		}
		s.adopt(newReceiveStream(s, str), true)
	}
}

// OpenStream opens a bidirectional (bidi) or unidirectional stream.
func (s *Session) OpenStream(bidi bool) (*Stream, error) {
	ws, err := s.session()
	if err != nil {
		return nil, err
	}
	var st *Stream
	if bidi {
		str, err := ws.OpenStream()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrState, err)
		}
		st = newBidiStream(s, str)
	} else {
		str, err := ws.OpenUniStream()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrState, err)
		}
		st = newSendStream(s, str)
	}
	s.adopt(st, false)
	return st, nil
}

// adopt registers a stream and starts its goroutines; an incoming stream
// is announced to the consumer first.
func (s *Session) adopt(st *Stream, incoming bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		st.Reset(0)
		return
	}
	s.streams[st.Handle] = st
	s.mu.Unlock()
	openStreams.Store(st.Handle, st)
	if incoming && s.q != nil {
		_ = s.q.PushControl(encodeStreamOpened(s.Handle, st.Handle, st.send != nil))
	}
	st.start()
}

func (s *Session) removeStream(st *Stream) {
	s.mu.Lock()
	if s.streams != nil {
		delete(s.streams, st.Handle)
	}
	s.mu.Unlock()
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
	openSessions.Range(func(_, v any) bool {
		if sess := v.(*Session); sess.srv == s {
			_ = sess.Close(code, reason)
			sess.decide(false, http.StatusServiceUnavailable) // undecided sessions
		}
		return true
	})
}

// stoppingWithoutGoaway reports whether a request arrives while stopping on
// a connection that our own loops or webtransport-go serve: they cannot
// send GOAWAY, so new requests are refused with 503.
func (s *Server) stoppingWithoutGoaway() bool {
	if s.wt == nil && s.quicDatagrams.Load() == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateStopping
}
