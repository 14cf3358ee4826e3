package bridge

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/zig-h3/h3bun/internal/abi"
	"github.com/zig-h3/h3bun/server"
)

// Session is a WebTransport session handed to a consumer by handle (a C
// callback's zig_h3_wt_session, an EventSession's session handle), on the
// server side or opened by a Client. Its datagrams and incoming streams go
// to the event queue (dropped and counted without one); a client session in
// callback mode reports to its SessionEvent function instead and keeps its
// datagrams for ReceiveDatagram. A server session's handle dies with the
// session, a client session's when it is freed.
type Session struct {
	Handle  uint64
	wt      wtSession
	q       *EventQueue                   // nil: no queue
	cb      func(*Session, *SessionEvent) // client sessions in callback mode
	dropped *atomic.Uint64                // datagrams dropped for lack of room
	client  *clientSession                // nil on the server side
	muted   atomic.Bool                   // no more events (a freed client session)
	calls   callGate                      // cb's calls: none once the session is freed

	mu          sync.Mutex
	streams     map[uint64]*Stream
	established bool
	closed      bool
	datagrams   [][]byte // callback mode: received, not yet taken
}

// OpenSession gives sess a handle and routes its events to the event queue.
func (b *Server) OpenSession(sess *server.Session) *Session {
	s := &Session{Handle: Sessions.New(), wt: serverSession{sess}, q: b.queue.Load(), dropped: &b.datagramsDropped,
		streams: map[uint64]*Stream{}}
	sess.SetEvents(server.SessionEvents{Ready: func() { s.ready(http.StatusOK) }, Datagram: s.datagram,
		Stream: func(st *server.Stream) { s.incoming(st) }, Closed: func(code uint32, reason string) { s.end(code, reason, false) }})
	Sessions.Store(s.Handle, s)
	return s
}

// Accept accepts a server session (ErrState on a client session).
func (s *Session) Accept() error { return s.wt.Accept() }

// Reject rejects a server session with a status 400-599.
func (s *Session) Reject(status int) error { return s.wt.Reject(status) }

// Close closes the session with an application code and reason.
func (s *Session) Close(code uint32, reason string) error { return s.wt.Close(code, reason) }

// SendDatagram sends a session datagram.
func (s *Session) SendDatagram(p []byte) error { return s.wt.SendDatagram(p) }

// MaxDatagramSize is the largest session datagram payload sendable now.
func (s *Session) MaxDatagramSize() int { return s.wt.MaxDatagramSize() }

// StreamID returns the session's CONNECT stream id, once known.
func (s *Session) StreamID() (uint64, bool) { return s.wt.streamID() }

// Established reports whether the session is established and not closed.
func (s *Session) Established() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.established && !s.closed
}

// ready: the session is established.
func (s *Session) ready(status int) {
	s.mu.Lock()
	s.established = true
	s.mu.Unlock()
	switch {
	case s.q != nil:
		_ = s.q.pushControl(encodeSessionReady(s.Handle), &s.muted, false)
	case s.cb != nil && s.calls.enter():
		defer s.calls.leave()
		sid, _ := s.StreamID()
		s.cb(s, &SessionEvent{Type: WTEventConnected, Status: status, StreamID: sid})
	}
}

func (s *Session) datagram(p []byte) {
	switch {
	case s.q != nil:
		if errors.Is(s.q.tryPush(encodeSessionDatagram(s.Handle, p), &s.muted), ErrQueueFull) {
			s.dropped.Add(1)
		}
	case s.client != nil: // callback mode
		s.keepDatagram(p)
		if s.cb != nil && s.calls.enter() {
			defer s.calls.leave()
			sid, _ := s.StreamID()
			s.cb(s, &SessionEvent{Type: WTEventDatagram, Datagram: p, StreamID: sid})
		}
	default:
		s.dropped.Add(1)
	}
}

// keepDatagram keeps a copy of p for ReceiveDatagram (the oldest goes
// when abi.WTDatagramQueue are kept).
func (s *Session) keepDatagram(p []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.datagrams) >= abi.WTDatagramQueue {
		s.datagrams[0] = nil
		s.datagrams = s.datagrams[1:]
	}
	s.datagrams = append(s.datagrams, append([]byte(nil), p...))
}

// ReceiveDatagram takes the oldest datagram kept (callback mode), if any.
func (s *Session) ReceiveDatagram() ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.datagrams) == 0 {
		return nil, false
	}
	p := s.datagrams[0]
	s.datagrams[0] = nil
	s.datagrams = s.datagrams[1:]
	return p, true
}

// incoming takes a stream the peer opened: announced, then pumped. Without
// an event queue nobody could read it: it is refused.
func (s *Session) incoming(st wtStream) {
	if s.q == nil && s.client != nil {
		st.Reset(0)
		return
	}
	s.adopt(st, true)
}

// end tells the consumer the session ended; its streams die, and a server
// session's handle too.
func (s *Session) end(code uint32, reason string, remote bool) {
	s.forgetStreams()
	switch {
	case s.q != nil:
		_ = s.q.pushControl(encodeSessionClosed(s.Handle, code, reason), &s.muted, true)
	case s.cb != nil && s.calls.enter():
		s.closedCall(code, reason, remote)
	}
	if s.client == nil {
		Sessions.Delete(s.Handle)
	}
}

// aborted tells the consumer a client session ended without a close
// capsule (the connection lost or closed, the CONNECT stream reset): an
// EventSessionAborted, or a WTEventClosed (code 0) in callback mode.
func (s *Session) aborted(appCode uint32, msg string) {
	s.forgetStreams()
	switch {
	case s.q != nil:
		_ = s.q.pushControl(encodeError(EventSessionAborted, s.Handle, abi.ErrClosed, appCode, msg), &s.muted, true)
	case s.cb != nil && s.calls.enter():
		s.closedCall(0, msg, true)
	}
}

// closedCall gives a callback-mode client session its WTEventClosed.
func (s *Session) closedCall(code uint32, reason string, remote bool) {
	defer s.calls.leave()
	sid, _ := s.StreamID()
	s.cb(s, &SessionEvent{Type: WTEventClosed, Code: code, Reason: reason, Remote: remote, StreamID: sid})
}

// forgetStreams marks the session closed; its streams' handles die.
func (s *Session) forgetStreams() {
	s.mu.Lock()
	s.closed = true
	streams := s.streams
	s.streams = nil
	s.mu.Unlock()
	for _, st := range streams {
		st.forget()
	}
}

// OpenStream opens a bidirectional (bidi) or unidirectional stream.
func (s *Session) OpenStream(bidi bool) (*Stream, error) {
	st, err := s.wt.OpenStream(bidi)
	if err != nil {
		return nil, err
	}
	if bs := s.adopt(st, false); bs != nil {
		return bs, nil
	}
	return nil, fmt.Errorf("%w: the session is closed", server.ErrClosed)
}

// adopt gives a stream its handle and starts its pumps; an incoming stream
// is announced to the consumer first. A stream of a session that ended is
// reset at once, and adopt returns nil.
func (s *Session) adopt(st wtStream, incoming bool) *Stream {
	bs := newStream(s, st)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		st.Reset(0)
		return nil
	}
	Streams.Store(bs.Handle, bs)
	s.streams[bs.Handle] = bs
	s.mu.Unlock()
	if incoming && s.q != nil {
		_ = s.q.pushControl(encodeStreamOpened(s.Handle, bs.Handle, st.Writable()), &s.muted, false)
	}
	bs.start()
	return bs
}

func (s *Session) removeStream(st *Stream) {
	s.mu.Lock()
	if s.streams != nil {
		delete(s.streams, st.Handle)
	}
	s.mu.Unlock()
}

// Free closes the session (code 0) if it is open and retires it; the
// caller took the handle out of Sessions. A server session not decided yet
// is rejected (503).
func (s *Session) Free() {
	if s.client != nil {
		s.client.free()
		return
	}
	if err := s.Close(0, ""); err != nil {
		_ = s.Reject(http.StatusServiceUnavailable)
	}
}
