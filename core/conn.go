package core

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// ConnHandleBase is the first connection handle (see ResponseIDBase for why
// handles live in this range).
const ConnHandleBase = 1 << 51

// Conn is what the server knows of one QUIC connection.
type Conn struct {
	// Handle identifies the connection while it is open (never reused).
	Handle uint64
	// ID is the 8-byte connection id requests carry (zig_h3_request.conn_id).
	ID         []byte
	RemoteAddr string
	// ALPN is the negotiated application protocol: "h3" or one of Config.QuicAlpn.
	ALPN string
	qc   *quic.Conn
	srv  *Server
}

// Server returns the server the connection belongs to.
func (c *Conn) Server() *Server { return c.srv }

var openConns sync.Map // uint64 handle -> *Conn, across all servers

// LookupConn returns the open connection with the given handle.
func LookupConn(handle uint64) (*Conn, bool) {
	v, ok := openConns.Load(handle)
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
		s.mu.Lock()
		if s.state != stateRunning {
			s.mu.Unlock()
			qc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "server stopping")
			continue
		}
		id, _ := qc.Context().Value(connIDKey{}).([]byte)
		c := &Conn{ID: id, RemoteAddr: remoteAddrString(qc.RemoteAddr()), ALPN: qc.ConnectionState().TLS.NegotiatedProtocol, qc: qc, srv: s}
		c.Handle, _ = connHandle(id)
		s.conns[qc] = c
		s.mu.Unlock()
		openConns.Store(c.Handle, c)
		s.connectionsTotal.Add(1)
		s.connectionsActive.Add(1)
		s.logf(LogDebug, "connection from %s (%s)", qc.RemoteAddr(), c.ALPN)
		context.AfterFunc(qc.Context(), func() {
			s.mu.Lock()
			delete(s.conns, qc)
			s.mu.Unlock()
			openConns.Delete(c.Handle)
			s.connectionsActive.Add(-1)
			if f := s.connClosed.Load(); f != nil {
				(*f)(c.ID)
			}
		})
		go s.serveConn(c)
	}
}

// serveConn serves one connection according to its ALPN and the features
// in use: extra ALPNs carry raw QUIC datagrams only; HTTP/3 goes through
// webtransport-go when WebTransport is on, through our own loop when raw
// QUIC datagrams are wanted on HTTP/3 connections, else through http3.
func (s *Server) serveConn(c *Conn) {
	var err error
	switch {
	case c.ALPN != http3.NextProtoH3:
		s.serveRawConn(c)
	case s.wt != nil:
		err = s.wt.ServeQUICConn(c.qc)
	case s.quicDatagrams.Load() != nil:
		err = s.serveH3Conn(c)
	default:
		err = s.h3.ServeQUICConn(c.qc)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.logf(LogDebug, "connection %s: %v", c.RemoteAddr, err)
	}
	// ServeQUICConn returns without closing the connection after Shutdown.
	c.qc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "")
}

// atomicCounter hands out increasing numbers from 1.
type atomicCounter struct{ n atomic.Uint64 }

func (c *atomicCounter) next() uint64 { return c.n.Add(1) }

// lookupConnOf returns the connection a request arrived on.
func lookupConnOf(req *Request) (*Conn, bool) {
	if req == nil {
		return nil, false
	}
	h, ok := connHandle(req.ConnID)
	if !ok {
		return nil, false
	}
	return LookupConn(h)
}

// connHandle is the handle of the connection whose id (stamped by the
// server, 8 bytes) is id.
func connHandle(id []byte) (uint64, bool) {
	if len(id) != 8 {
		return 0, false
	}
	return ConnHandleBase + binary.BigEndian.Uint64(id), true
}
