package core

import (
	"runtime"
	"time"
)

// Stats is a snapshot of the server's counters.
type Stats struct {
	ConnectionsTotal  uint64
	ConnectionsActive uint64
	RequestsTotal     uint64
	RequestsActive    uint64
	// RequestsRejected counts requests answered by the server itself with
	// 4xx/5xx before any handler ran (404, 405, 413) or whose handler failed.
	RequestsRejected uint64
	// EventsDropped counts events the event queue discarded (log lines).
	EventsDropped uint64
	// Datagrams received and sent (QUIC, HTTP/3 and WebTransport), and
	// received ones dropped because the event queue was full.
	DatagramsReceived uint64
	DatagramsSent     uint64
	DatagramsDropped  uint64
	// SessionsActive counts open WebTransport sessions.
	SessionsActive uint64
	// RequestsTimedOut counts requests answered 503 by the request timeout.
	RequestsTimedOut uint64
	// ConnectionsRefused counts handshakes refused by MaxConnections.
	ConnectionsRefused uint64
	// Goroutines is the number of goroutines in the process (all servers):
	// for leak checks.
	Goroutines uint64
	// UptimeMs is the time since Start (frozen at Stop); 0 before Start.
	UptimeMs int64
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	st := Stats{
		ConnectionsTotal:   s.connectionsTotal.Load(),
		ConnectionsActive:  uint64(max(0, s.connectionsActive.Load())),
		RequestsTotal:      s.requestsTotal.Load(),
		RequestsActive:     uint64(max(0, s.requestsActive.Load())),
		RequestsRejected:   s.requestsRejected.Load(),
		DatagramsReceived:  s.datagramsReceived.Load(),
		DatagramsSent:      s.datagramsSent.Load(),
		DatagramsDropped:   s.datagramsDropped.Load(),
		SessionsActive:     uint64(max(0, s.sessionsActive.Load())),
		RequestsTimedOut:   s.requestsTimedOut.Load(),
		ConnectionsRefused: s.connectionsRefused.Load(),
		Goroutines:         uint64(runtime.NumGoroutine()),
	}
	if q := s.events.Load(); q != nil {
		st.EventsDropped = q.Dropped()
	}
	s.mu.Lock()
	switch {
	case s.started.IsZero():
	case !s.stopped.IsZero():
		st.UptimeMs = s.stopped.Sub(s.started).Milliseconds()
	default:
		st.UptimeMs = time.Since(s.started).Milliseconds()
	}
	s.mu.Unlock()
	return st
}
