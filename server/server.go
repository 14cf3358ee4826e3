// Package server is an HTTP/3 server on quic-go: routing, buffered and
// streaming bodies, responses written without blocking the handler, static
// routes, HTTP/3 and raw QUIC datagrams, and WebTransport.
//
// Routes are plain data ([Route]): a handler, how the body arrives, and
// the datagram and session handlers of the route.
//
// The package knows nothing of its consumers. The C library and the Bun
// wrapper reach it through the bridge package, which plugs in with the
// hooks offered here: [Route.Finished], [Response.OnWritable],
// [Session.SetEvents], [Server.OnQUICDatagram], [Server.SetLogger].
package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"
)

type serverState int

const (
	stateNew serverState = iota
	stateRunning
	stateStopping
	stateStopped
)

// Server is an HTTP/3 server on quic-go. Create it with NewServer, add
// routes, Start it, Stop it; it can be started only once.
type Server struct {
	logger   atomic.Pointer[func(level int, line string)]
	routes   atomic.Pointer[Routes]
	workers  workerPool
	counters counters
	// serveRequestFunc is s.serveRequest, made once (a method value
	// allocates each time it is taken).
	serveRequestFunc func(http.ResponseWriter, *http.Request)

	quicDatagrams atomic.Pointer[QUICDatagramHandler]
	wt            *webtransport.Server // nil unless Config.EnableWebTransport

	conns    sync.Map    // Conn.Number -> *Conn, open connections (added under mu)
	stopping atomic.Bool // Stop began (state stateStopping or later)

	streamClosed atomic.Pointer[func(connID []byte, streamID uint64, aborted bool)]
	connClosed   atomic.Pointer[func(connID []byte)]

	mu         sync.Mutex
	cfg        Config
	cert       tls.Certificate
	devCert    bool
	builder    RouterBuilder[*Route]
	fallback   *Route
	state      serverState
	udp        *net.UDPConn
	transport  *quic.Transport
	group      *reusePortGroup // with Config.ReusePort, while running
	listener   *quic.EarlyListener
	h3         *http3.Server
	tcp        *http.Server       // with Config.TCP
	tcpDone    chan struct{}      // closed when tcp stopped serving
	tcpCancel  context.CancelFunc // ends the contexts of TCP requests
	sessions   map[*Session]struct{}
	acceptDone chan struct{}
	stopDone   chan struct{}
	idle       chan struct{} // closed when no request is active while stopping
	started    time.Time
	stopped    time.Time
}

// NewServer validates cfg and loads (or makes) the certificate.
func NewServer(cfg Config) (*Server, error) {
	s := &Server{sessions: map[*Session]struct{}{}}
	s.serveRequestFunc = s.serveRequest
	if err := s.SetConfig(cfg); err != nil {
		return nil, err
	}
	s.SetLogger(cfg.Logger)
	return s, nil
}

// Config returns a copy of the server's configuration.
func (s *Server) Config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.clone()
}

// SetConfig replaces the configuration; only before Start. The certificate
// is loaded (or made) again when its fields changed.
func (s *Server) SetConfig(cfg Config) error {
	return s.UpdateConfig(func(c *Config) error {
		*c = cfg.clone()
		return nil
	})
}

// UpdateConfig changes the configuration in one step: update gets a copy
// to change, and the result replaces the configuration if update and the
// validation succeed; otherwise nothing changes. Only before Start. The
// certificate is loaded (or made) again when its fields changed.
func (s *Server) UpdateConfig(update func(*Config) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateNew {
		return fmt.Errorf("%w: the configuration can be set only before start", ErrState)
	}
	cfg := s.cfg.clone()
	if err := update(&cfg); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if s.cert.Certificate == nil || !cfg.sameCertificate(&s.cfg) {
		cert, dev, err := cfg.certificate()
		if err != nil {
			return err
		}
		s.cert, s.devCert = cert, dev
	}
	s.cfg = cfg
	return nil
}

// SetLogger replaces the log sink (at first Config.Logger); nil discards
// log lines.
func (s *Server) SetLogger(f func(level int, line string)) {
	if f == nil {
		s.logger.Store(nil)
		return
	}
	s.logger.Store(&f)
}

func (s *Server) logf(level int, format string, args ...any) {
	if level > s.cfg.LogLevel {
		return
	}
	if f := s.logger.Load(); f != nil {
		(*f)(level, fmt.Sprintf(format, args...))
	}
}

// OnStreamClose sets a function called when a request stream is done:
// aborted is true when the peer reset it or the connection closed before
// the response ended. nil removes it.
func (s *Server) OnStreamClose(f func(connID []byte, streamID uint64, aborted bool)) {
	if f == nil {
		s.streamClosed.Store(nil)
		return
	}
	s.streamClosed.Store(&f)
}

// OnConnectionClose sets a function called when a connection closes; nil
// removes it.
func (s *Server) OnConnectionClose(f func(connID []byte)) {
	if f == nil {
		s.connClosed.Store(nil)
		return
	}
	s.connClosed.Store(&f)
}

// CertificateHash is the SHA-256 of the server certificate's DER.
func (s *Server) CertificateHash() [32]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return CertificateHash(s.cert)
}

// DevCertificate reports whether the server made its own certificate.
func (s *Server) DevCertificate() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.devCert
}

// Port returns the bound UDP port, or 0 before Start.
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.udp == nil {
		return 0
	}
	return s.udp.LocalAddr().(*net.UDPAddr).Port
}

// Running reports whether the server is started and not stopping.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateRunning
}
