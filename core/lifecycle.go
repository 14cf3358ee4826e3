package core

import (
	"context"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// Stop shuts the server down and waits until it is down. Graceful (force
// false): new connections are refused, clients get GOAWAY, in-flight requests
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
		s.stopDone = make(chan struct{})
		s.idle = make(chan struct{})
		if s.requestsActive.Load() == 0 {
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
// the connections are gone (clients close them after GOAWAY) or quiet: no
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
		for c := range s.conns {
			st := c.ConnectionStats()
			total += st.PacketsSent + st.PacketsReceived
			quiet = max(quiet, 3*st.SmoothedRTT+4*st.MeanDeviation)
		}
		n := len(s.conns)
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
		_ = s.h3.Shutdown(ctx) // GOAWAY; returns when connections are gone or ctx ends
		close(shutdownDone)
	}()
	<-s.idle
	s.awaitQuiet(time.Now().Add(StopLinger))
	cancel()
	<-shutdownDone
	s.closeConnections()
	s.workers.close()
	_ = s.listener.Close()
	_ = s.transport.Close()
	_ = s.udp.Close()
	<-s.acceptDone
	s.mu.Lock()
	s.state = stateStopped
	s.stopped = time.Now()
	s.mu.Unlock()
	s.logf(LogInfo, "stopped")
	stopProfile()
	close(s.stopDone)
}

func (s *Server) closeConnections() {
	s.mu.Lock()
	conns := make([]*quic.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "server stopped")
	}
}

// StopAsync starts Stop(force) and returns at once; when the server is down,
// an EventStopped is pushed to the event queue (created if needed).
func (s *Server) StopAsync(force bool) error {
	q, err := s.EventQueue()
	if err != nil {
		return err
	}
	go func() {
		_ = s.Stop(force)
		_ = q.PushControl(encodeStopped())
	}()
	return nil
}

// Close stops the server at once if it runs and releases the event queue.
// The event queue's consumer must have stopped waiting on its fd. Calls
// that would create a queue fail with ErrServerClosed from then on.
func (s *Server) Close() {
	_ = s.Stop(true)
	s.mu.Lock()
	s.closed = true
	q := s.events.Load()
	s.mu.Unlock()
	if q != nil {
		q.Close()
	}
}
