package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// Conn is one HTTP/3 client connection: a QUIC connection and the
// http3.ClientConn on it. Requests on it never dial again; when the
// connection is gone, they fail. It is safe for concurrent use.
type Conn struct {
	qconn *quic.Conn
	cc    *http3.ClientConn
}

// DialH3 dials addr (host:port) with ALPN "h3" and returns the HTTP/3
// connection. The caller closes it.
func DialH3(ctx context.Context, addr string, cfg *Config) (*Conn, error) {
	qconn, err := dial(ctx, addr, cfg.TLS(http3.NextProtoH3), cfg.QUIC())
	if err != nil {
		return nil, err
	}
	return NewConn(qconn, cfg), nil
}

// NewConn runs HTTP/3 on qconn, a connection that negotiated "h3", with
// the HTTP/3 settings of cfg (datagrams, compression). Closing the Conn
// closes qconn.
func NewConn(qconn *quic.Conn, cfg *Config) *Conn {
	return &Conn{qconn: qconn, cc: h3Transport(cfg).NewClientConn(qconn)}
}

// h3Transport is the http3.Transport whose settings cfg asks for.
func h3Transport(cfg *Config) *http3.Transport {
	t := &http3.Transport{}
	if cfg != nil {
		t.EnableDatagrams = cfg.EnableDatagrams
		t.DisableCompression = cfg.DisableCompression
	}
	return t
}

// RoundTrip sends req on the connection and returns the response, whose
// body streams; the caller closes it. Requests may run concurrently.
func (c *Conn) RoundTrip(req *http.Request) (*http.Response, error) {
	return c.cc.RoundTrip(req)
}

// Settings waits for the server's SETTINGS frame and returns it; it fails
// when ctx ends or the connection closes first.
func (c *Conn) Settings(ctx context.Context) (*http3.Settings, error) {
	select {
	case <-c.cc.ReceivedSettings():
		return c.cc.Settings(), nil
	default:
	}
	select {
	case <-c.cc.ReceivedSettings():
		return c.cc.Settings(), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the server's SETTINGS: %w", ctx.Err())
	case <-c.qconn.Context().Done():
		return nil, fmt.Errorf("waiting for the server's SETTINGS: %w", context.Cause(c.qconn.Context()))
	}
}

// Context is done when the connection is closed; its cause says why.
func (c *Conn) Context() context.Context { return c.qconn.Context() }

// HTTP3 returns the http3.ClientConn of the connection, for callers that
// drive request streams themselves (http3.ClientConn.OpenRequestStream).
func (c *Conn) HTTP3() *http3.ClientConn { return c.cc }

// QUICConn returns the underlying QUIC connection.
func (c *Conn) QUICConn() *quic.Conn { return c.qconn }

// Close closes the connection with H3_NO_ERROR; requests still running
// fail.
func (c *Conn) Close() error {
	return c.cc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "")
}
