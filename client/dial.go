package client

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"

	"github.com/quic-go/quic-go"
)

// Config says how a client dials: TLS verification, QUIC settings and
// datagrams. It is plain data; the zero value (and a nil *Config) verifies
// certificates against the system roots and enables no datagrams. A Config
// must not be modified while connections are being dialed with it.
type Config struct {
	// TLSConfig is the base TLS configuration (for RootCAs, ServerName,
	// client certificates...). It is cloned; its NextProtos are replaced
	// by the protocol being dialed. Nil: the defaults.
	TLSConfig *tls.Config

	// InsecureSkipVerify accepts any server certificate (development
	// certificates). It overrides ServerCertificateHashes.
	InsecureSkipVerify bool

	// ServerCertificateHashes, when not empty, pins the server: the
	// SHA-256 of the DER of its leaf certificate must be one of these, and
	// the certificate chain is not otherwise verified (as WebTransport's
	// serverCertificateHashes option in browsers).
	ServerCertificateHashes [][sha256.Size]byte

	// QUICConfig is the base QUIC configuration. It is cloned. Nil: the
	// defaults of quic-go (and of http3 for a [Transport]).
	QUICConfig *quic.Config

	// EnableDatagrams enables QUIC datagrams (RFC 9221) and, on HTTP/3
	// connections, HTTP/3 datagrams (RFC 9297).
	EnableDatagrams bool

	// DisableCompression stops HTTP/3 requests from asking for gzip on
	// their own (see http3.Transport.DisableCompression).
	DisableCompression bool
}

// ErrCertificateNotPinned is the handshake error for a server certificate
// whose hash is not in Config.ServerCertificateHashes.
var ErrCertificateNotPinned = errors.New("client: the server certificate matches none of the pinned hashes")

// TLS returns the TLS configuration for a connection that negotiates one
// of the protocols alpn (ALPN).
func (c *Config) TLS(alpn ...string) *tls.Config {
	conf := &tls.Config{}
	if c != nil && c.TLSConfig != nil {
		conf = c.TLSConfig.Clone()
	}
	conf.NextProtos = slices.Clone(alpn)
	switch {
	case c == nil:
	case c.InsecureSkipVerify:
		conf.InsecureSkipVerify = true
	case len(c.ServerCertificateHashes) > 0:
		hashes := slices.Clone(c.ServerCertificateHashes)
		conf.InsecureSkipVerify = true // the pin replaces chain verification
		conf.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) > 0 && slices.Contains(hashes, sha256.Sum256(cs.PeerCertificates[0].Raw)) {
				return nil
			}
			return ErrCertificateNotPinned
		}
	}
	return conf
}

// QUIC returns the QUIC configuration: a copy of QUICConfig (or a new one)
// with datagrams enabled if EnableDatagrams is set.
func (c *Config) QUIC() *quic.Config {
	conf := &quic.Config{}
	if c != nil && c.QUICConfig != nil {
		conf = c.QUICConfig.Clone()
	}
	if c != nil && c.EnableDatagrams {
		conf.EnableDatagrams = true
	}
	return conf
}

// DialQUIC dials a QUIC connection to addr (host:port) that negotiates
// the protocol alpn, for an application protocol of the caller's (raw QUIC
// datagrams on an ALPN of their own, for instance). The caller closes it.
func DialQUIC(ctx context.Context, addr, alpn string, cfg *Config) (*quic.Conn, error) {
	return dial(ctx, addr, cfg.TLS(alpn), cfg.QUIC())
}

// dial dials addr and names the address in its error.
func dial(ctx context.Context, addr string, tlsConf *tls.Config, conf *quic.Config) (*quic.Conn, error) {
	conn, err := quic.DialAddr(ctx, addr, tlsConf, conf)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return conn, nil
}
