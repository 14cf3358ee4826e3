package bridge

import (
	"sync"

	"github.com/zig-h3/h3bun/server"
)

// Session is a WebTransport session handed to a consumer by handle (a C
// callback's zig_h3_wt_session, an EventSession's session handle). Its
// datagrams and incoming streams go to the event queue, dropped and
// counted without one; the handle dies with the session.
type Session struct {
	*server.Session
	Handle uint64
	b      *Server
	q      *EventQueue // nil: no queue when the session arrived

	mu      sync.Mutex
	streams map[uint64]*Stream
	closed  bool
}

// OpenSession gives sess a handle and routes its events to the event queue.
func (b *Server) OpenSession(sess *server.Session) *Session {
	s := &Session{Session: sess, Handle: Sessions.New(), b: b, q: b.queue.Load(), streams: map[uint64]*Stream{}}
	sess.SetEvents(server.SessionEvents{Ready: s.ready, Datagram: s.datagram, Stream: s.incoming, Closed: s.end})
	Sessions.Store(s.Handle, s)
	return s
}

func (s *Session) ready() {
	if s.q != nil {
		_ = s.q.PushControl(encodeSessionReady(s.Handle))
	}
}

func (s *Session) datagram(p []byte) {
	if s.q == nil || s.q.TryPush(encodeSessionDatagram(s.Handle, p)) != nil {
		s.b.datagramsDropped.Add(1)
	}
}

// incoming takes a stream the peer opened: announced, then pumped.
func (s *Session) incoming(st *server.Stream) { s.adopt(st, true) }

// end tells the consumer the session ended; its streams and its handle die.
func (s *Session) end(code uint32, reason string) {
	s.mu.Lock()
	s.closed = true
	streams := s.streams
	s.streams = nil
	s.mu.Unlock()
	for _, st := range streams {
		st.forget()
	}
	if s.q != nil {
		_ = s.q.PushControl(encodeSessionClosed(s.Handle, code, reason))
	}
	Sessions.Delete(s.Handle)
}

// OpenStream opens a bidirectional (bidi) or unidirectional stream.
func (s *Session) OpenStream(bidi bool) (*Stream, error) {
	st, err := s.Session.OpenStream(bidi)
	if err != nil {
		return nil, err
	}
	if bs := s.adopt(st, false); bs != nil {
		return bs, nil
	}
	return nil, server.ErrClosed
}

// adopt gives a stream its handle and starts its pumps; an incoming stream
// is announced to the consumer first. A stream of a session that ended is
// reset at once, and adopt returns nil.
func (s *Session) adopt(st *server.Stream, incoming bool) *Stream {
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
		_ = s.q.PushControl(encodeStreamOpened(s.Handle, bs.Handle, st.Writable()))
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
