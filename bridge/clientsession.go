package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/quicvarint"
	"github.com/quic-go/webtransport-go"

	"github.com/zig-h3/h3bun/server"
)

// Event types of a client session in callback mode (zig_h3_wt_event_type).
const (
	WTEventConnected     = 0 // the server accepted the session (Status)
	WTEventConnectFailed = 1 // it could not be opened (Status, or 0; Reason); the last event
	WTEventClosed        = 2 // it ended (Code, Reason, Remote); the last event
	WTEventDatagram      = 3 // a session datagram
)

// SessionEvent is one event of a client session in callback mode.
type SessionEvent struct {
	Type     int
	Status   int
	Code     uint32
	Remote   bool // the server closed the session
	Reason   string
	Datagram []byte // valid during the call only
	StreamID uint64 // the session's CONNECT stream (0 before it is known)
}

// clientSession is the client side of a WebTransport session (wtSession):
// an Extended CONNECT on the client's connection.
type clientSession struct {
	s      *Session
	c      *Client
	path   string
	ctx    context.Context // ends when the session is freed
	cancel context.CancelFunc
	over   chan struct{} // closed once run reported the session's end

	mu          sync.Mutex
	ws          *webtransport.Session
	conn        *clientConn
	closing     bool // we closed it, with:
	closeCode   uint32
	closeReason string
	done        bool // it ended, or never started
	freed       bool
}

// OpenWebTransport opens a WebTransport session at path (with query) on the
// connection and returns it at once. In event-queue mode (cb nil) it
// reports EventSessionReady or EventSessionClosed (code: the server's
// status, 0 if none) and then the session's events; in callback mode cb
// gets WTEventConnected or WTEventConnectFailed, then datagrams and
// WTEventClosed.
func (c *Client) OpenWebTransport(path string, cb func(*Session, *SessionEvent)) (*Session, error) {
	if err := checkPath("GET", path); err != nil || path == "*" {
		return nil, fmt.Errorf("%w: a session path starts with / and holds visible ASCII", server.ErrInvalidArgument)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.queue != nil && cb != nil:
		return nil, fmt.Errorf("%w: in event-queue mode the session reports events, not callbacks", server.ErrInvalidArgument)
	case c.freed || c.state == clientClosed || c.queue == nil && c.state != clientConnected:
		return nil, fmt.Errorf("%w: the client is not connected", server.ErrState)
	case !c.cfg.EnableWebTransport:
		return nil, fmt.Errorf("%w: WebTransport is not enabled in the client's config", server.ErrState)
	case len(c.opts.alpn) > 0:
		return nil, fmt.Errorf("%w: a raw QUIC (alpn) connection carries no sessions", server.ErrState)
	}
	cs := &clientSession{c: c, path: path, over: make(chan struct{})}
	cs.ctx, cs.cancel = context.WithCancel(context.Background())
	s := &Session{Handle: Sessions.New(), wt: cs, q: c.queue, cb: cb, dropped: &c.datagramsDropped, client: cs,
		streams: map[uint64]*Stream{}}
	cs.s = s
	Sessions.Store(s.Handle, s)
	c.sessions[s] = struct{}{}
	go cs.run()
	return s, nil
}

// run opens the session, serves it and reports its end.
func (cs *clientSession) run() {
	defer close(cs.over)
	ws, conn, status, err := cs.dial()
	cs.mu.Lock()
	if err == nil && cs.freed {
		err = errors.New("the session was freed")
		go ws.CloseWithError(0, "")
	}
	if err != nil {
		cs.done = true
		cs.mu.Unlock()
		cs.s.connectFailed(status, err.Error())
		return
	}
	cs.ws, cs.conn = ws, conn
	cs.mu.Unlock()
	cs.s.ready(status)
	go cs.receiveDatagrams(ws)
	go cs.acceptStreams(ws)
	go cs.acceptUniStreams(ws)
	<-ws.Context().Done()
	end := cs.closeInfo(ws)
	cs.mu.Lock()
	cs.done = true
	cs.mu.Unlock()
	if end.aborted {
		cs.s.aborted(end.appCode, end.reason)
		return
	}
	cs.s.end(end.code, end.reason, end.remote)
}

// abortCodeWait bounds how long an aborted session waits for its
// connection's close code.
const abortCodeWait = 100 * time.Millisecond

// sessionEnd is how a client session ended.
type sessionEnd struct {
	code    uint32
	reason  string
	remote  bool   // the server ended it
	aborted bool   // without a close capsule: the connection lost or closed, the CONNECT stream reset
	appCode uint32 // when aborted, the connection's application close code, if any
}

// dial waits for the connection and sends the Extended CONNECT; status is
// the server's answer (0 if none).
func (cs *clientSession) dial() (*webtransport.Session, *clientConn, int, error) {
	conn, err := cs.c.waitConn(cs.ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	cs.c.mu.Lock()
	url := "https://" + cs.c.authority + cs.path
	cs.c.mu.Unlock()
	ctx, cancel := context.WithTimeout(cs.ctx, cs.c.cfg.ConnectTimeout)
	defer cancel()
	rsp, ws, err := conn.wt.Dial(ctx, url, nil)
	status := 0
	if rsp != nil {
		status = rsp.StatusCode
	}
	if err != nil {
		return nil, nil, status, fmt.Errorf("WebTransport CONNECT %s: %w", cs.path, err)
	}
	return ws, conn, status, nil
}

// closeInfo is how the session ended: our close, the server's close
// capsule with its code and reason (webtransport-go reports them through
// the accept calls), or an abort: anything else, such as the connection
// going away, which may also come as a local SessionError.
func (cs *clientSession) closeInfo(ws *webtransport.Session) sessionEnd {
	cs.mu.Lock()
	closing, code, reason := cs.closing, cs.closeCode, cs.closeReason
	cs.mu.Unlock()
	if closing {
		return sessionEnd{code: code, reason: reason}
	}
	_, err := ws.AcceptStream(context.Background())
	if se, ok := errors.AsType[*webtransport.SessionError](err); ok && se.Remote {
		return sessionEnd{code: uint32(se.ErrorCode), reason: se.Message, remote: true}
	}
	end := sessionEnd{remote: true, aborted: true, reason: "the session ended without a close from the server"}
	if err != nil {
		end.reason = err.Error()
	}
	// The session may learn of a closing connection before the connection's
	// context ends: wait a moment for its close code (a session aborted on
	// a live connection, a reset CONNECT stream, waits the whole moment).
	select {
	case <-cs.conn.qconn.Context().Done():
		if ae, ok := errors.AsType[*quic.ApplicationError](context.Cause(cs.conn.qconn.Context())); ok {
			end.appCode = uint32(ae.ErrorCode)
		}
	case <-time.After(abortCodeWait):
	}
	return end
}

func (cs *clientSession) receiveDatagrams(ws *webtransport.Session) {
	for {
		b, err := ws.ReceiveDatagram(context.Background())
		if err != nil {
			return
		}
		cs.s.datagram(b)
	}
}

func (cs *clientSession) acceptStreams(ws *webtransport.Session) {
	for {
		str, err := ws.AcceptStream(context.Background())
		if err != nil {
			return
		}
		cs.s.incoming(newClientBidiStream(str))
	}
}

func (cs *clientSession) acceptUniStreams(ws *webtransport.Session) {
	for {
		str, err := ws.AcceptUniStream(context.Background())
		if err != nil {
			return
		}
		cs.s.incoming(newClientReceiveStream(str))
	}
}

// session returns the established session, or why there is none.
func (cs *clientSession) session() (*webtransport.Session, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	switch {
	case cs.done:
		return nil, fmt.Errorf("%w: the session is closed", server.ErrClosed)
	case cs.ws == nil:
		return nil, fmt.Errorf("%w: the session is not established yet", server.ErrState)
	}
	return cs.ws, nil
}

func (cs *clientSession) Accept() error {
	return fmt.Errorf("%w: a client session is not accepted by its client", server.ErrState)
}

func (cs *clientSession) Reject(int) error {
	return fmt.Errorf("%w: a client session is not rejected by its client", server.ErrState)
}

// Close closes the session with a code and reason (the
// CLOSE_WEBTRANSPORT_SESSION capsule, then the CONNECT stream's FIN).
func (cs *clientSession) Close(code uint32, reason string) error {
	if len(reason) > server.MaxCloseReason {
		return fmt.Errorf("%w: the close reason is longer than %d bytes", server.ErrInvalidArgument, server.MaxCloseReason)
	}
	ws, err := cs.session()
	if err != nil {
		return err
	}
	cs.mu.Lock()
	closing := cs.closing
	if !closing {
		cs.closing, cs.closeCode, cs.closeReason = true, code, reason
	}
	cs.mu.Unlock()
	if closing {
		return nil
	}
	return ws.CloseWithError(webtransport.SessionErrorCode(code), reason)
}

func (cs *clientSession) SendDatagram(p []byte) error {
	ws, err := cs.session()
	if err != nil {
		return err
	}
	return datagramError(ws.SendDatagram(p))
}

func (cs *clientSession) MaxDatagramSize() int {
	ws, err := cs.session()
	if err != nil {
		return 0
	}
	return max(0, maxDatagram(cs.conn.qconn)-quicvarint.Len(uint64(ws.StreamID())/4))
}

func (cs *clientSession) OpenStream(bidi bool) (wtStream, error) {
	ws, err := cs.session()
	if err != nil {
		return nil, err
	}
	if bidi {
		str, err := ws.OpenStream()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", server.ErrState, err)
		}
		return newClientBidiStream(str), nil
	}
	str, err := ws.OpenUniStream()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", server.ErrState, err)
	}
	return newClientSendStream(str), nil
}

func (cs *clientSession) streamID() (uint64, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.ws == nil {
		return 0, false
	}
	return uint64(cs.ws.StreamID()), true
}

// end closes the session (code 0) or abandons its opening, and waits (up
// to clientWaitLimit) for its last event: a client being freed tells its
// consumer how each session ended before it goes.
func (cs *clientSession) end() {
	cs.cancel()
	_ = cs.Close(0, "") // STATE if not established: the cancel ends its opening

	select {
	case <-cs.over:
	case <-time.After(clientWaitLimit):
	}
}

// free closes the session (code 0) if it is open and retires it: no more
// events (a callback running is waited for), its handle and its datagrams go.
func (cs *clientSession) free() {
	cs.mu.Lock()
	if cs.freed {
		cs.mu.Unlock()
		return
	}
	cs.freed = true
	ws, done := cs.ws, cs.done
	cs.mu.Unlock()
	if cs.s.q != nil {
		cs.s.q.Mute(&cs.s.muted)
	} else {
		cs.s.muted.Store(true)
	}
	cs.cancel()
	if ws != nil && !done {
		_ = ws.CloseWithError(0, "")
	}
	cs.s.forgetStreams()
	cs.s.mu.Lock()
	cs.s.datagrams = nil
	cs.s.mu.Unlock()
	Sessions.Delete(cs.s.Handle)
	cs.c.mu.Lock()
	delete(cs.c.sessions, cs.s)
	cs.c.mu.Unlock()
	cs.s.calls.close() // no callback runs once free returns
}

// connectFailed reports a client session that could not be opened:
// EventSessionClosed (code: the status) or WTEventConnectFailed.
func (s *Session) connectFailed(status int, msg string) {
	s.forgetStreams()
	switch {
	case s.q != nil:
		_ = s.q.pushControl(encodeSessionClosed(s.Handle, uint32(status), msg), &s.muted, true)
	case s.cb != nil && s.calls.enter():
		defer s.calls.leave()
		s.cb(s, &SessionEvent{Type: WTEventConnectFailed, Status: status, Reason: msg})
	}
}
