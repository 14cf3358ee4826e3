package server

import (
	"net/http"
	"runtime"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of the server's counters.
type Stats struct {
	ConnectionsTotal  uint64
	ConnectionsActive uint64
	RequestsTotal     uint64
	RequestsActive    uint64
	// Requests by protocol: HTTP/1.x and HTTP/2 (Config.TCP), HTTP/3.
	RequestsHTTP1, RequestsHTTP2, RequestsHTTP3 uint64
	// RequestsRejected counts requests answered by the server itself with
	// 4xx/5xx before any handler ran (400, 404, 405, 413, 431), request
	// streams reset for want of HEADERS in time, and requests whose handler
	// failed.
	RequestsRejected uint64
	// Datagrams received and sent (QUIC, HTTP/3 and WebTransport).
	DatagramsReceived uint64
	DatagramsSent     uint64
	// SessionsActive counts open WebTransport sessions.
	SessionsActive uint64
	// RequestsTimedOut counts requests answered 503 by the request timeout.
	RequestsTimedOut uint64
	// ConnectionsRefused counts handshakes refused by MaxConnections.
	ConnectionsRefused uint64
	// RequestsEarly counts requests that arrived in 0-RTT data (see
	// Config.Disable0RTT).
	RequestsEarly uint64
	// Goroutines is the number of goroutines in the process (all servers):
	// for leak checks.
	Goroutines uint64
	// UptimeMs is the time since Start (frozen at Stop); 0 before Start.
	UptimeMs int64
}

// counters are the live values behind Stats.
type counters struct {
	connectionsTotal   atomic.Uint64
	connectionsActive  atomic.Int64
	connectionsRefused atomic.Uint64
	requestsTotal      atomic.Uint64
	requestsByMajor    [4]atomic.Uint64 // by HTTP major version: 1, 2, 3
	requestsActive     atomic.Int64
	requestsRejected   atomic.Uint64
	requestsTimedOut   atomic.Uint64
	requestsEarly      atomic.Uint64
	datagramsReceived  atomic.Uint64
	datagramsSent      atomic.Uint64
	sessionsActive     atomic.Int64
}

// countRequest counts a request that arrived.
func (c *counters) countRequest(hr *http.Request) {
	c.requestsTotal.Add(1)
	if m := hr.ProtoMajor; m >= 1 && m < len(c.requestsByMajor) {
		c.requestsByMajor[m].Add(1)
	}
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	c := &s.counters
	st := Stats{
		ConnectionsTotal:   c.connectionsTotal.Load(),
		ConnectionsActive:  uint64(max(0, c.connectionsActive.Load())),
		RequestsTotal:      c.requestsTotal.Load(),
		RequestsActive:     uint64(max(0, c.requestsActive.Load())),
		RequestsHTTP1:      c.requestsByMajor[1].Load(),
		RequestsHTTP2:      c.requestsByMajor[2].Load(),
		RequestsHTTP3:      c.requestsByMajor[3].Load(),
		RequestsRejected:   c.requestsRejected.Load(),
		DatagramsReceived:  c.datagramsReceived.Load(),
		DatagramsSent:      c.datagramsSent.Load(),
		SessionsActive:     uint64(max(0, c.sessionsActive.Load())),
		RequestsTimedOut:   c.requestsTimedOut.Load(),
		ConnectionsRefused: c.connectionsRefused.Load(),
		RequestsEarly:      c.requestsEarly.Load(),
		Goroutines:         uint64(runtime.NumGoroutine()),
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
