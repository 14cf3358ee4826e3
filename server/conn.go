package server

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// Conn is what the server knows of one QUIC connection.
type Conn struct {
	// Number identifies the connection in the process (never 0, never
	// reused): connections are numbered in order of arrival, across servers.
	Number uint64
	// ID is Number as 8 big-endian bytes: the connection id requests carry
	// (Request.ConnID).
	ID         []byte
	RemoteAddr string
	// ALPN is the negotiated application protocol of a QUIC connection:
	// "h3" or one of Config.QuicAlpn; "" for a TCP connection.
	ALPN string
	qc   *quic.Conn
	srv  *Server
	// awaitingHeaders: request streams whose HEADERS are awaited, by ID.
	awaitingHeaders sync.Map

	tcpRequests atomic.Uint64 // requests of a TCP connection so far (requestStreamID)
}

// Server returns the server the connection belongs to.
func (c *Conn) Server() *Server { return c.srv }

type connKey struct{}

// lastConnNumber numbers the connections of the process.
var lastConnNumber atomic.Uint64

// connContext stamps each new connection with a Conn (filled in once the
// handshake is done), and refuses connections once the server is stopping.
func (s *Server) connContext(ctx context.Context, _ *quic.ClientInfo) (context.Context, error) {
	s.mu.Lock()
	running := s.state == stateRunning
	s.mu.Unlock()
	if !running {
		return nil, errors.New("server is stopping")
	}
	if s.counters.connectionsActive.Load() >= s.cfg.maxConnections() {
		s.counters.connectionsRefused.Add(1)
		return nil, errors.New("too many connections")
	}
	c := &Conn{Number: lastConnNumber.Add(1), srv: s}
	c.ID = connID(c.Number)
	return context.WithValue(ctx, connKey{}, c), nil
}

// connID is the 8-byte id of connection number n.
func connID(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// connOf returns the Conn a connection's (or its requests') context carries.
func connOf(ctx context.Context) *Conn {
	c, _ := ctx.Value(connKey{}).(*Conn)
	return c
}

// Conn returns the server's open connection numbered n (Conn.Number).
func (s *Server) Conn(n uint64) (*Conn, bool) {
	v, ok := s.conns.Load(n)
	if !ok {
		return nil, false
	}
	return v.(*Conn), true
}

func (s *Server) acceptLoop() {
	defer close(s.acceptDone)
	for {
		qc, err := s.listener.Accept(context.Background())
		if err != nil {
			return
		}
		c := connOf(qc.Context())
		c.RemoteAddr, c.ALPN, c.qc = remoteAddrString(qc.RemoteAddr()), qc.ConnectionState().TLS.NegotiatedProtocol, qc
		if !s.track(c) {
			qc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "server stopping")
			continue
		}
		s.logf(LogDebug, "connection from %s (%s)", c.RemoteAddr, c.ALPN)
		go s.serveConn(c)
	}
}

// track records an accepted connection until it closes; false when the
// server is stopping.
func (s *Server) track(c *Conn) bool {
	s.mu.Lock()
	if s.state != stateRunning {
		s.mu.Unlock()
		return false
	}
	s.conns.Store(c.Number, c)
	s.mu.Unlock()
	s.counters.connectionsTotal.Add(1)
	s.counters.connectionsActive.Add(1)
	context.AfterFunc(c.qc.Context(), func() {
		s.conns.Delete(c.Number)
		s.counters.connectionsActive.Add(-1)
		if f := s.connClosed.Load(); f != nil {
			(*f)(c.ID)
		}
	})
	return true
}

// serveConn serves one connection according to its ALPN and the features
// in use: extra ALPNs carry raw QUIC datagrams only; HTTP/3 goes through
// webtransport-go when WebTransport is on, else through our own loop.
func (s *Server) serveConn(c *Conn) {
	var err error
	switch {
	case c.ALPN != http3.NextProtoH3:
		s.serveRawConn(c)
	case s.wt != nil:
		err = s.wt.ServeQUICConn(c.qc)
	default:
		err = s.serveH3Conn(c)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.logf(LogDebug, "connection %s: %v", c.RemoteAddr, err)
	}
	// ServeQUICConn returns without closing the connection after Shutdown.
	c.qc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "")
}

// remoteAddrString formats a connection's remote address.
func remoteAddrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
