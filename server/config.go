package server

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"time"
)

// Defaults of the Config limits.
const (
	// DefaultMaxRequestBodySize is the buffered request body limit.
	DefaultMaxRequestBodySize = 1 << 20
	// DefaultMaxConnections is the most connections open at once.
	DefaultMaxConnections = 10000
	// DefaultMaxHeaderFields is the most fields a request's header (or
	// trailer) section may have.
	DefaultMaxHeaderFields = 200
	// DefaultMaxStreamsPerConnection is quic-go's default of concurrent
	// bidirectional streams per connection.
	DefaultMaxStreamsPerConnection = 100
)

// Log levels, as in the C header: 0 warn, 1 info, 2 and above debug.
const (
	LogWarn  = 0
	LogInfo  = 1
	LogDebug = 2
)

// Config describes a server. The zero value serves on 0.0.0.0 with an
// ephemeral port and a development certificate.
type Config struct {
	// BindAddr is the IP address to listen on; "" means "0.0.0.0".
	BindAddr string
	// Port is the UDP port, and the TCP port with TCP; 0 picks an
	// ephemeral port (see Server.Port), the same number for both.
	Port int
	// TCP also serves HTTP/1.1 and HTTP/2 over TLS (1.2 or later) on TCP,
	// on the same address and port number, with the same routes (Go's
	// net/http): how browsers and most clients find HTTP/3, through the
	// Alt-Svc field of TCP responses (see AltSvc). WebTransport and HTTP/3
	// datagrams stay on HTTP/3; CONNECT over TCP gets 405.
	TCP bool
	// AltSvc is the Alt-Svc field of TCP responses; "" means
	// DefaultAltSvc for the bound port. NoAltSvc sends none.
	AltSvc   string
	NoAltSvc bool
	// CertPEM and KeyPEM hold a PEM certificate chain and private key.
	// CertPath and KeyPath name files holding them. Give one pair or none;
	// with none the server makes a development certificate (see DevCertificate).
	CertPEM, KeyPEM   []byte
	CertPath, KeyPath string
	EnableDatagrams   bool
	// EnableWebTransport serves WebTransport sessions on the routes with
	// Route.Sessions (webtransport-go then accepts the connections'
	// streams, and Config.HeaderTimeout does not apply). Extended CONNECT
	// (RFC 9220): quic-go's http3 advertises SETTINGS_ENABLE_CONNECT_PROTOCOL
	// on every connection, with no way to turn it off (a second value for
	// the setting in AdditionalSettings would be a SETTINGS error), so the
	// rule is enforced per request instead, also for routes replaced after
	// Start: an Extended CONNECT with :protocol webtransport is a session
	// only when WebTransport is enabled and its route has Sessions (else
	// 404), and one with any other :protocol gets 501; no handler runs.
	EnableWebTransport bool
	// QuicAlpn lists extra ALPN protocols accepted next to "h3" on the same
	// port; their connections carry raw QUIC datagrams only.
	QuicAlpn []string
	// WebTransportOrigins lists the page origins allowed to open sessions
	// ("*": any). Empty: pages of the request's own host and loopback pages.
	WebTransportOrigins []string
	// QlogDir, when set, makes the server write one qlog file per connection there.
	QlogDir string
	// LogLevel filters what reaches Logger.
	LogLevel int
	// MaxRequestBodySize limits buffered request bodies; over it the client
	// gets 413. Zero means DefaultMaxRequestBodySize.
	MaxRequestBodySize int64
	// MaxHeaderBytes limits the request header section (431 over it). Zero
	// means quic-go's default of 1 MiB.
	MaxHeaderBytes int
	// MaxHeaderFields limits the number of fields in a request's header
	// section, and in a buffered route's trailers: over it the client gets
	// 431 and no handler runs (each field costs CPU, however small). Zero
	// means DefaultMaxHeaderFields.
	MaxHeaderFields int
	// MaxConnections limits open connections; more are refused at the
	// handshake (CONNECTION_REFUSED). Zero means DefaultMaxConnections.
	MaxConnections int
	// MaxStreamsPerConnection limits concurrent request streams a client may
	// open on one connection (QUIC flow control makes it wait for more).
	// Zero means DefaultMaxStreamsPerConnection.
	MaxStreamsPerConnection int
	// HeaderTimeout bounds how long a request stream may take to deliver
	// its HEADERS, and a TCP client its request head (0:
	// DefaultHeaderTimeout, negative: none); then the stream is reset with
	// H3_REQUEST_INCOMPLETE and counted in Stats.RequestsRejected (TCP:
	// the connection is closed). Not applied to HTTP/3 on a WebTransport
	// server (EnableWebTransport), whose streams webtransport-go accepts
	// itself.
	HeaderTimeout time.Duration
	// RequestTimeout bounds how long a handler may take to start its
	// response (0: DefaultRequestTimeout, negative: none), counted from the
	// request's arrival; see Response.SetTimeout. For a buffered body it is
	// checked once the handler returns: a handler that answered before
	// returning has its answer sent, however long it took; one that did not
	// gets 503 at once if the time is up, else when it runs out.
	RequestTimeout time.Duration
	// Disable0RTT refuses 0-RTT: resumed clients then wait one round trip
	// before their first request. With 0-RTT (the default), requests of a
	// safe method (GET, HEAD, OPTIONS) that arrive in 0-RTT data run at once
	// and carry Early-Data: 1 (Request.EarlyData): they could be replays;
	// the others wait until the handshake is complete (RFC 8470).
	Disable0RTT bool
	// ClusterSecret, shared by the servers of a cluster (the workers on one
	// port, or servers behind a load balancer), gives them the same keys
	// (see clusterKeys): stateless resets, address tokens and TLS session
	// tickets, so that a client resumes its session with 0-RTT at any of
	// them. At least MinClusterSecret bytes of random; nil: each server has
	// its own random keys, and (with ReusePort) no stateless resets.
	ClusterSecret []byte
	// ReusePort lets several servers (worker processes, or servers of one
	// process) bind the same UDP port, and the same TCP port with TCP
	// (SO_REUSEPORT, Linux). Each has its own WorkerID, which its
	// connection IDs carry (QUIC-LB, see QUICLBServerID), and a program
	// attached to the port's socket group sends every packet of an
	// established connection to the worker that owns it, also after the
	// client's address changed; new connections (and TCP connections) are
	// spread by the kernel's hash. The program is an eBPF one with a map of
	// the workers by ID when the process may load it (CAP_BPF, as root):
	// workers then start, stop and restart in any order. Otherwise it is a
	// classic BPF one, which picks a socket by its place in the group: the
	// workers must then start in ID order from 0, and all be restarted when
	// one stops (Server.Steering tells which is in use). Without
	// ClusterSecret, stateless resets are off.
	ReusePort bool
	// WorkerID identifies the server among those on the port (ReusePort):
	// 0-MaxWorkerID, unique; a second server with the same ID fails to
	// start.
	WorkerID int
	// Workers, when not 0, is how many workers share the port: WorkerID
	// must be below it.
	Workers int
	// QUICLBServerID makes the connection IDs QUIC-LB connection IDs
	// (draft-ietf-quic-load-balancers, plaintext) with this server ID (1 to
	// MaxQUICLBServerID bytes), for a layer-4 load balancer in front of
	// many machines that routes by connection ID; with ReusePort the
	// worker's byte follows it. Without it, ReusePort alone makes the
	// worker's byte the server ID.
	QUICLBServerID []byte
	// QUICLBConfigRotation is the config rotation codepoint of the QUIC-LB
	// connection IDs (0-MaxQUICLBConfigRotation), as the load balancer's
	// configuration says.
	QUICLBConfigRotation int
	// Logger receives log lines at or below LogLevel; nil discards them.
	// NewServer reads it; Server.SetLogger replaces it later.
	Logger func(level int, line string)
}

// ErrConfig wraps every configuration error.
var ErrConfig = errors.New("invalid configuration")

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
}

// validate checks the fields that can be checked without touching the system.
func (c *Config) validate() error {
	if c.Port < 0 || c.Port > 65535 {
		return configError("port %d is outside 0-65535", c.Port)
	}
	if c.BindAddr != "" && net.ParseIP(c.BindAddr) == nil {
		return configError("bind address %q is not an IP address", c.BindAddr)
	}
	if c.MaxRequestBodySize < 0 {
		return configError("maxRequestBodySize must not be negative")
	}
	if c.MaxHeaderBytes < 0 || c.MaxHeaderFields < 0 {
		return configError("maxHeaderBytes and maxHeaderFields must not be negative")
	}
	if c.MaxConnections < 0 || c.MaxStreamsPerConnection < 0 || c.MaxStreamsPerConnection > 1<<16 {
		return configError("maxConnections and maxStreamsPerConnection must be positive (streams at most 65536)")
	}
	for _, p := range c.QuicAlpn {
		if p == "" || p == "h3" || len(p) > 255 {
			return configError("quicAlpn entry %q must be a non-empty protocol other than h3", p)
		}
	}
	if err := ValidateField("alt-svc", c.AltSvc); c.AltSvc != "" && err != nil {
		return configError("altSvc: %v", err)
	}
	if err := c.validateQUICLB(); err != nil {
		return err
	}
	if len(c.ClusterSecret) > 0 && len(c.ClusterSecret) < MinClusterSecret {
		return configError("clusterSecret must have at least %d bytes", MinClusterSecret)
	}
	if (len(c.CertPEM) == 0) != (len(c.KeyPEM) == 0) {
		return configError("certificate and key must be given together")
	}
	if (c.CertPath == "") != (c.KeyPath == "") {
		return configError("certificate path and key path must be given together")
	}
	if len(c.CertPEM) > 0 && c.CertPath != "" {
		return configError("give the certificate as PEM or as paths, not both")
	}
	return nil
}

// certificate loads the configured certificate or makes a development one.
// dev reports whether the development certificate is in use.
func (c *Config) certificate() (cert tls.Certificate, dev bool, err error) {
	certPEM, keyPEM := c.CertPEM, c.KeyPEM
	if c.CertPath != "" {
		if certPEM, err = os.ReadFile(c.CertPath); err != nil {
			return cert, false, configError("reading certificate: %v", err)
		}
		if keyPEM, err = os.ReadFile(c.KeyPath); err != nil {
			return cert, false, configError("reading key: %v", err)
		}
	}
	if len(certPEM) == 0 {
		cert, err = DevCertificate()
		return cert, true, err
	}
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return cert, false, configError("certificate and key: %v", err)
	}
	return cert, false, nil
}

func (c *Config) maxConnections() int64 {
	if c.MaxConnections == 0 {
		return DefaultMaxConnections
	}
	return int64(c.MaxConnections)
}

func (c *Config) maxStreams() int64 {
	if c.MaxStreamsPerConnection == 0 {
		return DefaultMaxStreamsPerConnection
	}
	return int64(c.MaxStreamsPerConnection)
}

func (c *Config) maxHeaderFields() int {
	if c.MaxHeaderFields == 0 {
		return DefaultMaxHeaderFields
	}
	return c.MaxHeaderFields
}

func (c *Config) maxBody() int64 {
	if c.MaxRequestBodySize == 0 {
		return DefaultMaxRequestBodySize
	}
	return c.MaxRequestBodySize
}

// clone is a copy of c that shares no slice with it.
func (c *Config) clone() Config {
	d := *c
	d.CertPEM, d.KeyPEM = slices.Clone(c.CertPEM), slices.Clone(c.KeyPEM)
	d.ClusterSecret, d.QUICLBServerID = slices.Clone(c.ClusterSecret), slices.Clone(c.QUICLBServerID)
	d.QuicAlpn, d.WebTransportOrigins = slices.Clone(c.QuicAlpn), slices.Clone(c.WebTransportOrigins)
	return d
}

// sameCertificate reports whether c and o name the same certificate.
func (c *Config) sameCertificate(o *Config) bool {
	return bytes.Equal(c.CertPEM, o.CertPEM) && bytes.Equal(c.KeyPEM, o.KeyPEM) && c.CertPath == o.CertPath && c.KeyPath == o.KeyPath
}
