package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// TCP: HTTP/1.1 and HTTP/2 over TLS on the UDP listener's port number
// (Config.TCP), served by net/http with the same routes and dispatch as
// HTTP/3. Every response carries the Alt-Svc field that tells clients
// where HTTP/3 is.

// DefaultAltSvc is the Alt-Svc field TCP responses carry by default:
// HTTP/3 on the same port, remembered for a day (RFC 7838).
func DefaultAltSvc(port int) string { return fmt.Sprintf(`h3=":%d"; ma=86400`, port) }

// tcpIdleTimeout is how long an idle keep-alive TCP connection stays open.
const tcpIdleTimeout = 2 * time.Minute

// bindAttempts bounds the tries for an ephemeral port free on both UDP
// and TCP.
const bindAttempts = 10

// bind binds the UDP socket and, with TCP, the TCP listener on the same
// port number (with SO_REUSEPORT for Config.ReusePort). With port 0 it
// tries new ephemeral ports while TCP's is taken.
func (s *Server) bind() (*net.UDPConn, net.Listener, error) {
	ip := net.IPv4zero
	if s.cfg.BindAddr != "" {
		ip = net.ParseIP(s.cfg.BindAddr)
	}
	for attempt := 1; ; attempt++ {
		udp, err := listenUDP(ip, s.cfg.Port, s.cfg.ReusePort)
		if err != nil {
			return nil, nil, fmt.Errorf("listening on %s:%d: %w", ip, s.cfg.Port, err)
		}
		if !s.cfg.TCP {
			return udp, nil, nil
		}
		port := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := listenTCP(ip, port, s.cfg.ReusePort)
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		if s.cfg.Port != 0 || attempt == bindAttempts {
			return nil, nil, fmt.Errorf("listening on TCP %s:%d: %w", ip, port, err)
		}
	}
}

// serveTCP starts serving HTTP/1.1 and HTTP/2 on ln; s.mu is held.
func (s *Server) serveTCP(ln net.Listener, port int) {
	alt := s.cfg.AltSvc
	switch {
	case s.cfg.NoAltSvc:
		alt = ""
	case alt == "":
		alt = DefaultAltSvc(port)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	s.tcp = &http.Server{
		Handler:           tcpHandler{s: s, altSvc: alt},
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12},
		Protocols:         &protocols,
		ReadHeaderTimeout: s.cfg.headerTimeout(), // 0 (none): then no limit
		IdleTimeout:       tcpIdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ConnContext:       s.tcpConnContext,
		ErrorLog:          log.New(logWriter{s}, "tcp: ", 0),
	}
	// Closing an HTTP/1.1 connection does not end its requests' contexts
	// while their bodies are unread: a forced stop ends them through this.
	base, cancel := context.WithCancel(context.Background())
	s.tcp.BaseContext = func(net.Listener) context.Context { return base }
	s.tcpCancel = cancel
	s.tcpDone = make(chan struct{})
	srv := s.tcp
	go func() {
		defer close(s.tcpDone)
		_ = srv.ServeTLS(&tcpListener{Listener: ln, s: s}, "", "")
	}()
}

// tcpHandler serves the requests of TCP connections.
type tcpHandler struct {
	s      *Server
	altSvc string
}

func (h tcpHandler) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	if h.altSvc != "" {
		w.Header().Set("Alt-Svc", h.altSvc)
	}
	if hr.ProtoMajor == 1 {
		// Read the request body while the response is written (streaming
		// routes are full duplex), as HTTP/2 and HTTP/3 allow.
		_ = http.NewResponseController(w).EnableFullDuplex()
	}
	if hr.Method == http.MethodConnect {
		// WebTransport and tunnels are HTTP/3's; nothing answers CONNECT here.
		h.s.counters.countRequest(hr)
		h.s.reject(w, http.StatusMethodNotAllowed)
		return
	}
	h.s.serveHTTP(w, hr)
}

// stopBody stops reading a request's body and refuses the rest: HTTP/3
// sends STOP_SENDING and HTTP/2 RST_STREAM when the body is closed. Closing
// an HTTP/1.1 body instead waits for a Read in progress and reads on (up to
// 256 KiB, for as long as the client takes), so the connection's read
// deadline is set to now first: reads fail at once, and net/http closes the
// connection after the response.
func stopBody(w http.ResponseWriter, hr *http.Request) {
	if hr.ProtoMajor == 1 {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	}
	_ = hr.Body.Close()
}

// tcpConnContext stamps the requests of each TCP connection with its Conn,
// so that they carry a connection id like those of QUIC connections.
func (s *Server) tcpConnContext(ctx context.Context, nc net.Conn) context.Context {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if c, ok := nc.(*tcpConn); ok {
		return context.WithValue(ctx, connKey{}, c.conn)
	}
	return ctx
}

// tcpListener counts TCP connections with the QUIC ones, refuses those
// over Config.MaxConnections (closed at once, counted as refused) and
// gives the others a Conn.
type tcpListener struct {
	net.Listener
	s *Server
}

func (l *tcpListener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		c := &l.s.counters
		if c.connectionsActive.Load() >= l.s.cfg.maxConnections() {
			c.connectionsRefused.Add(1)
			nc.Close()
			continue
		}
		c.connectionsTotal.Add(1)
		c.connectionsActive.Add(1)
		conn := &Conn{Number: lastConnNumber.Add(1), RemoteAddr: remoteAddrString(nc.RemoteAddr()), srv: l.s}
		conn.ID = connID(conn.Number)
		return &tcpConn{Conn: nc, conn: conn}, nil
	}
}

// tcpConn is an accepted TCP connection; when it closes it leaves the
// active count and the OnConnectionClose function learns of it.
type tcpConn struct {
	net.Conn
	conn *Conn
	once sync.Once
}

func (c *tcpConn) Close() error {
	c.once.Do(func() {
		s := c.conn.srv
		s.counters.connectionsActive.Add(-1)
		if f := s.connClosed.Load(); f != nil {
			// Not on the closing goroutine, which may hold net/http's locks
			// (a forced Stop): the function may call back into the server.
			go (*f)(c.conn.ID)
		}
	})
	return c.Conn.Close()
}

// logWriter sends net/http's own log lines (TLS handshake errors, ...) to
// the server's log at debug level.
type logWriter struct{ s *Server }

func (w logWriter) Write(p []byte) (int, error) {
	w.s.logf(LogDebug, "%s", p)
	return len(p), nil
}
