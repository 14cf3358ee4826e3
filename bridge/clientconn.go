package bridge

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"

	"github.com/zig-h3/h3bun/client"
	"github.com/zig-h3/h3bun/server"
)

// HTTP/3 error codes the client sends.
const (
	h3NoError          = uint32(http3.ErrCodeNoError)
	h3RequestCancelled = uint32(http3.ErrCodeRequestCanceled)
)

// clientOptions are the options of zig_h3_client_set_options.
type clientOptions struct {
	roots  *x509.CertPool      // "ca"
	hashes [][sha256.Size]byte // "serverCertificateHashes"
	alpn   []string            // "alpn": a raw QUIC connection
}

// decodeClientOptions decodes the JSON options onto o; absent keys keep
// their value.
func decodeClientOptions(spec []byte, o *clientOptions) error {
	var v struct {
		CA     *string   `json:"ca"`
		Hashes *[]string `json:"serverCertificateHashes"`
		ALPN   *[]string `json:"alpn"`
	}
	if err := json.Unmarshal(spec, &v); err != nil {
		return fmt.Errorf("%w: options: %v", server.ErrInvalidArgument, err)
	}
	if v.CA != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(*v.CA)) {
			return fmt.Errorf("%w: ca holds no PEM certificate", server.ErrInvalidArgument)
		}
		o.roots = pool
	}
	if v.Hashes != nil {
		o.hashes = nil
		for _, h := range *v.Hashes {
			b, err := hex.DecodeString(h)
			if err != nil || len(b) != sha256.Size {
				return fmt.Errorf("%w: serverCertificateHashes: %q is not 64 hex digits", server.ErrInvalidArgument, h)
			}
			o.hashes = append(o.hashes, [sha256.Size]byte(b))
		}
	}
	if v.ALPN != nil {
		for _, p := range *v.ALPN {
			if p == "" || len(p) > 255 {
				return fmt.Errorf("%w: alpn: a protocol is 1 to 255 bytes", server.ErrInvalidArgument)
			}
		}
		o.alpn = *v.ALPN
	}
	return nil
}

// clientConn is a client's connection once up.
type clientConn struct {
	qconn *quic.Conn
	h3    *http3.ClientConn        // nil on a raw ("alpn") connection
	wt    *webtransport.ClientConn // nil without WebTransport
	raw   bool                     // an "alpn" connection
}

// close closes the connection with an application error code and reason.
func (cc *clientConn) close(code uint32, reason string) {
	_ = cc.qconn.CloseWithError(quic.ApplicationErrorCode(code), reason)
}

// rawDatagrams reports whether the connection's QUIC datagrams are the
// client's own: on a raw connection, or on "h3" when the server's SETTINGS
// did not enable HTTP/3 datagrams (then http3 does not read them).
func (cc *clientConn) rawDatagrams() bool {
	if dg := cc.qconn.ConnectionState().SupportsDatagrams; !dg.Local || !dg.Remote {
		return false
	}
	if cc.raw {
		return true
	}
	if cc.wt != nil {
		return false
	}
	select {
	case <-cc.h3.ReceivedSettings():
		return !cc.h3.Settings().EnableDatagrams
	default:
		return false
	}
}

// dialConfig is the client.Config of a connect to the TLS name name.
func (c *Client) dialConfig(name string, opts clientOptions) *client.Config {
	idle := c.cfg.IdleTimeout
	return &client.Config{
		TLSConfig:               &tls.Config{ServerName: name, RootCAs: opts.roots},
		InsecureSkipVerify:      !c.cfg.VerifyPeer && len(opts.hashes) == 0,
		ServerCertificateHashes: opts.hashes,
		QUICConfig: &quic.Config{MaxIdleTimeout: idle, HandshakeIdleTimeout: c.cfg.ConnectTimeout,
			EnableStreamResetPartialDelivery: c.cfg.EnableWebTransport},
		EnableDatagrams: c.cfg.EnableDatagrams || len(opts.alpn) > 0,
	}
}

// dial connects and reports the outcome.
func (c *Client) dial(ctx context.Context, cancel context.CancelFunc, addr, name string, opts clientOptions) {
	defer cancel()
	conn, err := c.dialConn(ctx, addr, name, opts)
	c.mu.Lock()
	if err == nil && (c.freed || c.closing) {
		conn.close(h3NoError, "")
		err = context.Canceled
	}
	if err != nil {
		c.mu.Unlock()
		c.connectFailed(ctx, err)
		return
	}
	c.conn, c.state = conn, clientConnected
	c.mu.Unlock()
	c.debugf("connected to %s (%s)", addr, conn.qconn.ConnectionState().TLS.NegotiatedProtocol)
	c.push(encodeClientConnected(c.Handle), false)
	close(c.ready)
	go c.watch(conn)
}

// dialConn dials the connection its options ask for.
func (c *Client) dialConn(ctx context.Context, addr, name string, opts clientOptions) (*clientConn, error) {
	cfg := c.dialConfig(name, opts)
	if len(opts.alpn) > 0 {
		qconn, err := quic.DialAddr(ctx, addr, cfg.TLS(opts.alpn...), cfg.QUIC())
		if err != nil {
			return nil, err
		}
		return &clientConn{qconn: qconn, raw: true}, nil
	}
	qconn, err := quic.DialAddr(ctx, addr, cfg.TLS(http3.NextProtoH3), cfg.QUIC())
	if err != nil {
		return nil, err
	}
	if !c.cfg.EnableWebTransport {
		return &clientConn{qconn: qconn, h3: client.NewConn(qconn, cfg).HTTP3()}, nil
	}
	wt, err := (&webtransport.Transport{AllowPlainStreamReset: true}).NewClientConn(qconn)
	if err != nil {
		_ = qconn.CloseWithError(quic.ApplicationErrorCode(h3NoError), "")
		return nil, fmt.Errorf("%w: %v", server.ErrConfig, err)
	}
	return &clientConn{qconn: qconn, h3: wt.HTTP3(), wt: wt}, nil
}

// connectFailed records why the connect failed, ends the fetches waiting
// for it, and reports EventClientClosed.
func (c *Client) connectFailed(ctx context.Context, err error) {
	c.mu.Lock()
	var end *EndError
	switch {
	case c.closing:
		end = endErr(nil, "closed by the client before the connection was up")
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		end = endErr(ErrTimeout, "connect: no connection after %v: %v", c.cfg.ConnectTimeout, err)
	default:
		end = classify("connect", err)
		if errors.Is(end.Kind, server.ErrClosed) {
			end.Kind = ErrIO // a handshake the server refused
		}
	}
	c.state, c.end = clientClosed, end
	c.mu.Unlock()
	c.debugf("connect failed: %s", end.Msg)
	close(c.ready) // waiting fetches and sessions fail now
	c.reportEnd(end)
}

// watch waits for the connection to end, then reports it. It also runs
// the raw QUIC datagram receiver when the datagrams are the client's.
func (c *Client) watch(conn *clientConn) {
	go c.receiveRawDatagrams(conn)
	<-conn.qconn.Context().Done()
	cause := context.Cause(conn.qconn.Context())
	c.mu.Lock()
	var end *EndError
	if c.closing {
		end = endErr(nil, "closed by the client")
	} else {
		end = classify("connection", cause)
	}
	c.state, c.end = clientClosed, end
	fetches, _ := c.takeAllLocked()
	c.mu.Unlock()
	c.debugf("connection ended: %s", end.Msg)
	for _, f := range fetches {
		f.abort(end, h3RequestCancelled)
	}
	c.reportEnd(end)
}

// reportEnd waits (bounded) for the fetches to report their end, then
// pushes EventClientClosed, the client's last event.
func (c *Client) reportEnd(end *EndError) {
	if !c.queued() {
		return
	}
	c.waitFetches()
	c.push(encodeError(EventClientClosed, c.Handle, end.Code(), end.AppCode, end.Msg), true)
}

// waitConn waits for the connection (ctx bounds the wait) and returns it,
// or why there is none.
func (c *Client) waitConn(ctx context.Context) (*clientConn, error) {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == clientConnected {
		return c.conn, nil
	}
	if c.end != nil {
		kind := c.end.Kind
		if kind == nil {
			kind = server.ErrClosed
		}
		return nil, &EndError{Kind: kind, AppCode: c.end.AppCode, Msg: "no connection: " + c.end.Msg}
	}
	return nil, endErr(server.ErrClosed, "no connection")
}

// debugf writes a connection event to stderr when the config asks for it.
func (c *Client) debugf(format string, args ...any) {
	if c.cfg.Debug {
		debugLog.Printf("zig_h3 client %#x: "+format, append([]any{c.Handle}, args...)...)
	}
}

var debugLog = log.New(os.Stderr, "", log.LstdFlags|log.Lmicroseconds)
