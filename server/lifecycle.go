package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/quic-go/webtransport-go"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// Start binds the UDP socket and starts serving.
func (s *Server) Start() error {
	addr, err := s.start()
	if err != nil {
		return err
	}
	s.logf(LogInfo, "listening on %s", addr) // not under mu: a log function may call back in
	if s.cfg.ReusePort {
		level := LogInfo
		if s.Steering() == string(steeringCBPF) {
			level = LogWarn // its limits should not go unnoticed (see Config.ReusePort)
		}
		s.logf(level, "reusePort: %s", s.steeringInfo())
	}
	return nil
}

// start is Start under the server's lock; it returns the bound address.
func (s *Server) start() (net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateNew {
		return nil, fmt.Errorf("%w: the server was already started", ErrState)
	}
	if s.routes.Load() == nil {
		s.routes.Store(NewRoutes(&s.builder, s.fallback))
	}
	udp, tcp, err := s.bind()
	if err != nil {
		return nil, err
	}
	if s.cfg.ReusePort {
		if s.group, err = joinReusePortGroup(udp, &s.cfg); err != nil {
			udp.Close()
			if tcp != nil {
				tcp.Close()
			}
			return nil, err
		}
	}
	s.h3 = &http3.Server{
		Handler:         http.HandlerFunc(s.serveHTTP),
		EnableDatagrams: s.cfg.EnableDatagrams || s.cfg.EnableWebTransport,
		MaxHeaderBytes:  s.cfg.MaxHeaderBytes,
	}
	if s.cfg.EnableWebTransport {
		s.wt = &webtransport.Server{H3: s.h3, CheckOrigin: checkOrigin(s.cfg.WebTransportOrigins), Go: s.workers.start}
		webtransport.ConfigureHTTP3Server(s.h3)
	}
	ln, err := s.listen(udp)
	if err != nil {
		udp.Close()
		if tcp != nil {
			tcp.Close()
		}
		s.leaveGroup()
		return nil, err
	}
	if tcp != nil {
		s.serveTCP(tcp, udp.LocalAddr().(*net.UDPAddr).Port)
	}
	s.udp, s.listener = udp, ln
	s.state = stateRunning
	s.started = time.Now()
	s.acceptDone = make(chan struct{})
	go s.acceptLoop()
	return udp.LocalAddr(), nil
}

// listen starts QUIC on udp with the server's TLS and QUIC settings.
func (s *Server) listen(udp *net.UDPConn) (*quic.EarlyListener, error) {
	keys := deriveClusterKeys(s.cfg.ClusterSecret)
	quicConf := &quic.Config{
		EnableDatagrams:                  s.cfg.EnableDatagrams || s.cfg.EnableWebTransport || len(s.cfg.QuicAlpn) > 0,
		EnableStreamResetPartialDelivery: s.cfg.EnableWebTransport,
		MaxIncomingStreams:               s.cfg.maxStreams(),
		MaxIdleTimeout:                   IdleTimeout,
		Allow0RTT:                        !s.cfg.Disable0RTT,
		Tracer:                           qlogTracer(s.cfg.QlogDir, s.logf),
	}
	s.transport = &quic.Transport{Conn: udp, ConnContext: s.connContext}
	if g := s.cfg.connectionIDGenerator(); g != nil {
		s.transport.ConnectionIDGenerator = g
	}
	// Without the cluster's keys, no stateless resets (a nil key): with
	// ReusePort a worker could otherwise reset a connection of another.
	if keys != nil {
		s.transport.StatelessResetKey = &keys.statelessReset
		s.transport.TokenGeneratorKey = &keys.addressToken
	}
	return s.transport.ListenEarly(s.tlsConfig(keys), quicConf)
}

// Stop shuts the server down and waits until it is down. Graceful (force
// false): new connections are refused, new requests get 503, in-flight requests
// finish, then every connection is closed. Force: every connection is closed
// at once and open responses are aborted. A forced Stop may follow a graceful
// one that is still waiting. Stopping a server that was never started or is
// already stopped returns nil.
func (s *Server) Stop(force bool) error {
	s.mu.Lock()
	switch s.state {
	case stateNew:
		s.state = stateStopped
		s.mu.Unlock()
		return nil
	case stateStopped:
		s.mu.Unlock()
		return nil
	case stateRunning:
		s.state = stateStopping
		s.stopping.Store(true)
		s.stopDone = make(chan struct{})
		s.idle = make(chan struct{})
		if s.counters.requestsActive.Load() == 0 {
			close(s.idle)
		}
		s.mu.Unlock()
		s.closeSessions(0, "server stopping")
		go s.shutdown()
	default:
		s.mu.Unlock()
	}
	if force {
		s.closeConnections()
	}
	<-s.stopDone
	return nil
}

// StopLinger bounds how long a graceful Stop waits, once no request is in
// flight, before it closes the remaining connections. Closing a QUIC
// connection discards data not yet delivered, so Stop first waits until
// the connections are gone (clients close them when done) or quiet: no
// packet sent or received for a few round trips, so the last responses
// have been acknowledged.
const StopLinger = time.Second

// minQuiet is the shortest quiet period: above the default ACK delay (25 ms).
const minQuiet = 50 * time.Millisecond

// awaitQuiet returns when no connection is left, when the connections have
// exchanged no packet for a few round trips, or at deadline.
func (s *Server) awaitQuiet(deadline time.Time) {
	var lastTotal uint64
	lastChange := time.Now()
	for time.Now().Before(deadline) {
		s.mu.Lock()
		var total uint64
		quiet := minQuiet
		n := 0
		s.conns.Range(func(_, v any) bool {
			st := v.(*Conn).qc.ConnectionStats()
			total += st.PacketsSent + st.PacketsReceived
			quiet = max(quiet, 3*st.SmoothedRTT+4*st.MeanDeviation)
			n++
			return true
		})
		s.mu.Unlock()
		if n == 0 {
			return
		}
		if total != lastTotal {
			lastTotal, lastChange = total, time.Now()
		} else if time.Since(lastChange) >= quiet {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// shutdown runs the graceful sequence; closing every connection (Stop(true))
// cuts it short.
func (s *Server) shutdown() {
	ctx, cancel := context.WithCancel(context.Background())
	shutdownDone := make(chan struct{})
	go func() {
		_ = s.h3.Shutdown(ctx) // serves no connection itself (see serveConn): returns at once
		close(shutdownDone)
	}()
	tcpShutdown := make(chan struct{})
	go func() {
		if s.tcp != nil {
			// No new TCP connections; idle ones close, busy ones once idle,
			// that is once their last response is written out.
			_ = s.tcp.Shutdown(ctx)
		}
		close(tcpShutdown)
	}()
	<-s.idle
	deadline := time.Now().Add(StopLinger)
	s.awaitQuiet(deadline)
	select {
	case <-tcpShutdown:
	case <-time.After(time.Until(deadline)):
	}
	cancel()
	<-shutdownDone
	s.closeConnections()
	s.workers.close()
	_ = s.listener.Close()
	_ = s.transport.Close()
	_ = s.udp.Close()
	s.mu.Lock() // Steering reads the group under the lock
	group := s.group
	s.group = nil
	s.mu.Unlock()
	if group != nil {
		group.close() // after the UDP socket closed: the kernel emptied its slot
	}
	<-s.acceptDone
	if s.tcp != nil {
		<-s.tcpDone
	}
	s.mu.Lock()
	s.state = stateStopped
	s.stopped = time.Now()
	s.mu.Unlock()
	s.logf(LogInfo, "stopped")
	close(s.stopDone)
}

// leaveGroup frees the worker ID of a ReusePort server whose start
// failed (under the server's lock).
func (s *Server) leaveGroup() {
	if s.group != nil {
		s.group.close()
		s.group = nil
	}
}

func (s *Server) closeConnections() {
	s.mu.Lock()
	var conns []*quic.Conn
	s.conns.Range(func(_, v any) bool {
		conns = append(conns, v.(*Conn).qc)
		return true
	})
	tcp, tcpCancel := s.tcp, s.tcpCancel
	s.mu.Unlock()
	for _, c := range conns {
		c.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "server stopped")
	}
	if tcp != nil {
		_ = tcp.Close() // the listener and every TCP connection
		tcpCancel()
	}
}

// Steering reports how packets reach this server among the workers of its
// port (Config.ReusePort), while it runs: "ebpf" (the worker map), "cbpf"
// (the classic program, see Config.ReusePort), or "" without ReusePort.
func (s *Server) Steering() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.group == nil {
		return ""
	}
	return string(s.group.steering)
}

// steeringInfo describes the steering for the log.
func (s *Server) steeringInfo() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.group == nil {
		return "stopped"
	}
	return s.group.String()
}
