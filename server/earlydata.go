package server

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net/http"
	"slices"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// 0-RTT: a client resuming a TLS session may send its first requests in
// 0-RTT packets, with the ClientHello, and save a round trip. Such data can
// be replayed by an attacker who recorded it (RFC 8446, section 8), until
// the handshake completes: a replayed ClientHello never completes it, for
// the attacker cannot produce the client's Finished. quic-go's server
// installs the key of 1-RTT packets only once it has checked that Finished,
// so a request whose head is read before the handshake is complete arrived
// in 0-RTT data.
//
// The server applies RFC 8470 to such requests: those of a safe method (GET,
// HEAD, OPTIONS) run at once, marked with the Early-Data: 1 field
// (Request.EarlyData); the others wait until the handshake is complete, so
// their handler never runs for a replay (and they are not marked: they are
// not replayable by then). Waiting costs the client nothing it would not
// pay anyway (one round trip at most) and needs no retry logic from it,
// where 425 Too Early would cost a round trip and a retry. A request that
// reaches the server through an intermediary with Early-Data: 1 cannot be
// made to wait for the intermediary's handshake: an unsafe one gets 425.

// earlyDataField is the field RFC 8470 defines, with the value "1", as
// an http.Header keys it (canonical).
const earlyDataField = "Early-Data"

// isSafeMethod reports whether method is one RFC 8470 lets run from early
// data: safe methods (RFC 9110, section 9.2.1) other than TRACE.
func isSafeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// handshakeComplete reports whether qc's handshake is complete.
func handshakeComplete(qc *quic.Conn) bool {
	select {
	case <-qc.HandshakeComplete():
		return true
	default:
		return false
	}
}

// admitEarly applies the 0-RTT rules to a request before it is served: a
// safe request that arrived in 0-RTT is marked with Early-Data: 1; an
// unsafe one waits until the handshake is complete. It returns false when
// the connection or stream went away first (the stream is then reset).
func (s *Server) admitEarly(hr *http.Request) bool {
	c := connOf(hr.Context())
	if c == nil || c.qc == nil || handshakeComplete(c.qc) {
		return true
	}
	s.counters.requestsEarly.Add(1)
	if isSafeMethod(hr.Method) {
		hr.Header.Set(earlyDataField, "1")
		return true
	}
	select {
	case <-c.qc.HandshakeComplete():
		return true
	case <-hr.Context().Done():
		return false
	}
}

// tooEarly reports whether a request came through an intermediary that
// forwarded it from early data (Early-Data: 1) while its method is
// unsafe: it gets 425 Too Early, and the intermediary retries it once its
// own handshake is complete (RFC 8470, section 5.2).
func tooEarly(hr *http.Request) bool {
	return !isSafeMethod(hr.Method) && slices.Contains(hr.Header[earlyDataField], "1")
}

// ticketFingerprintPrefix starts the session ticket entry that records the
// settings a client may rely on in 0-RTT.
const ticketFingerprintPrefix = "h3bun 0-RTT settings v1: "

// settingsFingerprint describes what a client remembers of this server for
// 0-RTT beyond QUIC's transport parameters (which quic-go checks itself):
// the HTTP/3 settings (RFC 9114, section 7.2.4.2 forbids reducing them)
// and the extra ALPN protocols.
func (c *Config) settingsFingerprint() []byte {
	return fmt.Appendf([]byte(ticketFingerprintPrefix), "datagrams=%t webtransport=%t maxHeaderBytes=%d alpn=%q",
		c.EnableDatagrams || c.EnableWebTransport, c.EnableWebTransport, c.MaxHeaderBytes, c.QuicAlpn)
}

// tlsConfig is the TLS configuration of the QUIC listener: the
// certificate, h3 and the extra ALPN protocols, the session ticket key of
// the cluster (with Config.ClusterSecret, so that any worker resumes any
// client's session), and the 0-RTT guard: a session ticket records the
// settings fingerprint, and 0-RTT is refused (the client falls back to 1-RTT)
// for a ticket issued under other settings.
func (s *Server) tlsConfig(keys *clusterKeys) *tls.Config {
	base := &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS13}
	if keys != nil {
		base.SetSessionTicketKeys([][32]byte{keys.sessionTicket})
	}
	tc := http3.ConfigureTLSConfig(base)
	tc.NextProtos = append(tc.NextProtos, s.cfg.QuicAlpn...)
	if s.cfg.Disable0RTT {
		return tc
	}
	fingerprint := s.cfg.settingsFingerprint()
	tc.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		ss.Extra = append(ss.Extra, fingerprint)
		return tc.EncryptTicket(cs, ss)
	}
	tc.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := tc.DecryptTicket(identity, cs)
		if err != nil || ss == nil || !ss.EarlyData {
			return ss, err
		}
		if !slices.ContainsFunc(ss.Extra, func(e []byte) bool { return bytes.Equal(e, fingerprint) }) {
			ss.EarlyData = false
		}
		return ss, nil
	}
	return tc
}
