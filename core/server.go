package core

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
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

// Handler answers requests. ServeRequest runs on the request's own
// goroutine; everything in req stays valid until the response finishes.
type Handler interface {
	ServeRequest(req *Request, res *Response)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(req *Request, res *Response)

// ServeRequest calls f.
func (f HandlerFunc) ServeRequest(req *Request, res *Response) { f(req, res) }

// Routes is an immutable routing table: a router and an optional fallback
// for requests no route matches.
type Routes struct {
	router   *Router[Handler]
	fallback Handler
}

// NewRoutes builds a routing table from b and fallback (which may be nil).
func NewRoutes(b *RouterBuilder[Handler], fallback Handler) *Routes {
	return &Routes{router: b.Build(), fallback: fallback}
}

type serverState int

const (
	stateNew serverState = iota
	stateRunning
	stateStopping
	stateStopped
)

type connIDKey struct{}

// Server is an HTTP/3 server on quic-go. Create it with NewServer, add routes,
// Start it, Stop it; it can be started only once.
type Server struct {
	cfg      Config
	cert     tls.Certificate
	devCert  bool
	logger   atomic.Pointer[func(level int, line string)]
	routes   atomic.Pointer[Routes]
	builder  RouterBuilder[Handler]
	fallback Handler
	events   atomic.Pointer[EventQueue]
	workers  workerPool

	quicDatagrams atomic.Pointer[QUICDatagramHandler]
	wt            *webtransport.Server // nil unless Config.EnableWebTransport

	datagramsReceived atomic.Uint64
	datagramsSent     atomic.Uint64
	datagramsDropped  atomic.Uint64
	sessionsActive    atomic.Int64

	streamClosed atomic.Pointer[func(connID []byte, streamID uint64, aborted bool)]
	connClosed   atomic.Pointer[func(connID []byte)]

	mu         sync.Mutex
	state      serverState
	closed     bool // Close was called: no new event queue
	udp        *net.UDPConn
	transport  *quic.Transport
	listener   *quic.EarlyListener
	h3         *http3.Server
	conns      map[*quic.Conn]*Conn
	acceptDone chan struct{}
	stopDone   chan struct{}
	started    time.Time
	stopped    time.Time

	nextConn atomic.Uint64

	connectionsTotal   atomic.Uint64
	connectionsActive  atomic.Int64
	requestsTotal      atomic.Uint64
	requestsActive     atomic.Int64
	requestsRejected   atomic.Uint64
	requestsTimedOut   atomic.Uint64
	connectionsRefused atomic.Uint64
	idle               chan struct{} // closed when requestsActive drops to 0 while stopping
}

// NewServer validates cfg and loads (or makes) the certificate.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cert, dev, err := cfg.certificate()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, cert: cert, devCert: dev, conns: map[*quic.Conn]*Conn{}}
	if cfg.Logger != nil {
		s.SetLogger(cfg.Logger)
	}
	return s, nil
}

// SetLogger replaces the log sink; nil sends log lines to the event queue if
// there is one, or discards them.
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
	line := fmt.Sprintf(format, args...)
	if f := s.logger.Load(); f != nil {
		(*f)(level, line)
	} else if q := s.events.Load(); q != nil {
		_ = q.TryPush(encodeLog(level, line))
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
func (s *Server) CertificateHash() [32]byte { return CertificateHash(s.cert) }

// DevCertificate reports whether the server made its own certificate.
func (s *Server) DevCertificate() bool { return s.devCert }

// EventQueue returns the server's event queue, creating it on first use.
// After Close it returns ErrServerClosed: a queue made then would never be
// closed.
func (s *Server) EventQueue() (*EventQueue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrServerClosed
	}
	if q := s.events.Load(); q != nil {
		return q, nil
	}
	q, err := NewEventQueue()
	if err != nil {
		return nil, err
	}
	s.events.Store(q)
	return q, nil
}

// Route adds a route; only before Start.
func (s *Server) Route(method, pattern string, h Handler) error {
	if h == nil {
		return fmt.Errorf("%w: nil handler", ErrInvalidArgument)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateNew {
		return fmt.Errorf("%w: routes can be added only before start", ErrState)
	}
	if err := s.builder.Add(method, pattern, h); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	return nil
}

// SetFallback sets the handler for requests no route matches; only before Start.
func (s *Server) SetFallback(h Handler) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateNew {
		return fmt.Errorf("%w: the fallback can be set only before start", ErrState)
	}
	s.fallback = h
	return nil
}

// SetRoutes replaces the whole routing table at any time, also while
// running: requests already dispatched keep their handler.
func (s *Server) SetRoutes(r *Routes) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes.Store(r)
	if s.state == stateNew {
		s.builder = RouterBuilder[Handler]{}
		s.fallback = nil
	}
}

// Start binds the UDP socket and starts serving.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateNew {
		return fmt.Errorf("%w: the server was already started", ErrState)
	}
	if s.routes.Load() == nil {
		s.routes.Store(NewRoutes(&s.builder, s.fallback))
	}
	ip := net.IPv4zero
	if s.cfg.BindAddr != "" {
		ip = net.ParseIP(s.cfg.BindAddr)
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: s.cfg.Port})
	if err != nil {
		return fmt.Errorf("listening on %s:%d: %w", ip, s.cfg.Port, err)
	}
	s.h3 = &http3.Server{
		Handler:         http.HandlerFunc(s.serveHTTP),
		EnableDatagrams: s.cfg.EnableDatagrams || s.cfg.EnableWebTransport,
		MaxHeaderBytes:  s.cfg.MaxHeaderBytes,
	}
	if s.cfg.EnableWebTransport {
		s.wt = &webtransport.Server{H3: s.h3, CheckOrigin: checkOrigin(s.cfg.WebTransportOrigins)}
		webtransport.ConfigureHTTP3Server(s.h3)
	}
	tlsConf := http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS13})
	tlsConf.NextProtos = append(tlsConf.NextProtos, s.cfg.QuicAlpn...)
	quicConf := &quic.Config{
		EnableDatagrams:                  s.cfg.EnableDatagrams || s.cfg.EnableWebTransport || len(s.cfg.QuicAlpn) > 0,
		EnableStreamResetPartialDelivery: s.cfg.EnableWebTransport,
		MaxIncomingStreams:               s.cfg.maxStreams(),
		Tracer:                           qlogTracer(s.cfg.QlogDir, s.logf),
	}
	s.transport = &quic.Transport{Conn: udp, ConnContext: s.connContext}
	ln, err := s.transport.ListenEarly(tlsConf, quicConf)
	if err != nil {
		udp.Close()
		return err
	}
	s.udp, s.listener = udp, ln
	s.state = stateRunning
	s.started = time.Now()
	s.acceptDone = make(chan struct{})
	startProfile()
	go s.acceptLoop()
	s.logf(LogInfo, "listening on %s", udp.LocalAddr())
	return nil
}

// connContext stamps each new connection with an id, and refuses
// connections once the server is stopping.
func (s *Server) connContext(ctx context.Context, _ *quic.ClientInfo) (context.Context, error) {
	s.mu.Lock()
	running := s.state == stateRunning
	s.mu.Unlock()
	if !running {
		return nil, errors.New("server is stopping")
	}
	if s.connectionsActive.Load() >= s.cfg.maxConnections() {
		s.connectionsRefused.Add(1)
		return nil, errors.New("too many connections")
	}
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], s.nextConn.Add(1))
	return context.WithValue(ctx, connIDKey{}, id[:]), nil
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

// ResponseIDBase is the first response id. Ids are above every user-space
// address on x86-64 (2^47) and below 2^53, so an id can travel as an opaque
// C pointer that the Go garbage collector never mistakes for a heap pointer,
// and as an exact JavaScript number.
const ResponseIDBase = 1 << 50

var (
	openResponses sync.Map // uint64 -> *Response, across all servers
	lastResponse  atomic.Uint64
)

// registerResponse creates a Response with a fresh process-wide id.
func registerResponse() *Response {
	res := newResponse(ResponseIDBase + lastResponse.Add(1))
	openResponses.Store(res.ID, res)
	return res
}

// LookupResponse returns the open response with the given id, from any server.
func LookupResponse(id uint64) (*Response, bool) {
	v, ok := openResponses.Load(id)
	if !ok {
		return nil, false
	}
	return v.(*Response), true
}

// ExistingEventQueue returns the event queue, or ErrState if none was created.
func (s *Server) ExistingEventQueue() (*EventQueue, error) {
	if q := s.events.Load(); q != nil {
		return q, nil
	}
	return nil, fmt.Errorf("%w: the server has no event queue", ErrState)
}

// SetOptions applies Options given as JSON; only before Start. A new
// certificate replaces the configured one (paths or development).
func (s *Server) SetOptions(spec []byte) error {
	var o Options
	if err := json.Unmarshal(spec, &o); err != nil {
		return fmt.Errorf("%w: options: %v", ErrInvalidArgument, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateNew {
		return fmt.Errorf("%w: options can be set only before start", ErrState)
	}
	cfg := s.cfg
	if o.CertPEM != nil || o.KeyPEM != nil {
		if o.CertPEM == nil || o.KeyPEM == nil {
			return configError("certPem and keyPem must be given together")
		}
		cfg.CertPEM, cfg.KeyPEM, cfg.CertPath, cfg.KeyPath = []byte(*o.CertPEM), []byte(*o.KeyPEM), "", ""
	}
	if o.MaxRequestBodySize != nil {
		cfg.MaxRequestBodySize = *o.MaxRequestBodySize
	}
	if o.MaxHeaderBytes != nil {
		cfg.MaxHeaderBytes = *o.MaxHeaderBytes
	}
	if o.QuicAlpn != nil {
		cfg.QuicAlpn = o.QuicAlpn
	}
	if o.WebTransportOrigins != nil {
		cfg.WebTransportOrigins = o.WebTransportOrigins
	}
	if o.EnableDatagrams != nil {
		cfg.EnableDatagrams = *o.EnableDatagrams
	}
	if o.EnableWebTransport != nil {
		cfg.EnableWebTransport = *o.EnableWebTransport
	}
	if o.MaxConnections != nil {
		cfg.MaxConnections = *o.MaxConnections
	}
	if o.MaxStreamsPerConnection != nil {
		cfg.MaxStreamsPerConnection = *o.MaxStreamsPerConnection
	}
	if o.RequestTimeoutMs != nil {
		cfg.RequestTimeout = time.Duration(*o.RequestTimeoutMs) * time.Millisecond
		if *o.RequestTimeoutMs == 0 {
			cfg.RequestTimeout = -1
		}
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if o.CertPEM != nil {
		cert, dev, err := cfg.certificate()
		if err != nil {
			return err
		}
		s.cert, s.devCert = cert, dev
	}
	s.cfg = cfg
	return nil
}
