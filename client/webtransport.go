package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"
)

// Session is a WebTransport session over HTTP/3 with the QUIC connection
// it runs on, which it owns. Streams and datagrams are those of the
// embedded webtransport.Session; [Session.Close] ends the session and
// then the connection.
type Session struct {
	*webtransport.Session
	conn *quic.Conn
}

// DialWebTransport dials the host of rawURL (https://host:port/path) and
// opens a WebTransport session at rawURL with an Extended CONNECT carrying
// header (an Origin, for instance; nil: none). Datagrams and the partial
// stream reset extension are always enabled, whatever cfg says.
//
// Like a browser, it also opens sessions with servers that do not enable
// that extension (RESET_STREAM_AT) or that enable WebTransport only with
// the setting of the drafts up to draft-06 (Deno's, for instance), which
// upstream webtransport-go refuses (third_party/README.md).
//
// On success it returns the server's CONNECT response (a 2xx) and the
// session. When the server answers but refuses the session, the error
// comes with that response; otherwise the response is nil.
//
// The connection is dialed here rather than by webtransport-go, whose
// dialer closes it the moment the session ends: a WT_CLOSE_SESSION capsule
// sent by CloseWithError would then race the CONNECTION_CLOSE.
func DialWebTransport(ctx context.Context, rawURL string, header http.Header, cfg *Config) (*http.Response, *Session, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, err
	}
	conf := cfg.QUIC()
	conf.EnableDatagrams = true
	conf.EnableStreamResetPartialDelivery = true
	conn, err := dial(ctx, u.Host, cfg.TLS(http3.NextProtoH3), conf)
	if err != nil {
		return nil, nil, err
	}
	closeConn := func() { conn.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "") }
	cc, err := newWebTransportTransport().NewClientConn(conn)
	if err != nil {
		closeConn()
		return nil, nil, err
	}
	if header == nil {
		header = http.Header{}
	}
	rsp, sess, err := cc.Dial(ctx, rawURL, header)
	if err != nil {
		closeConn()
		return rsp, nil, fmt.Errorf("WebTransport CONNECT: %w", err)
	}
	return rsp, &Session{Session: sess, conn: conn}, nil
}

// newWebTransportTransport is the webtransport-go client configuration of
// DialWebTransport, with the two options of the patched copy in
// third_party (third_party/README.md) that upstream v0.13.0 lacks and
// refuses such servers without:
//   - AllowPlainStreamReset: the server need not enable RESET_STREAM_AT;
//     streams are then reset with a plain RESET_STREAM (a stream reset before
//     its header reached the server cannot be tied to its session there);
//   - AllowDraft06Servers: the client's SETTINGS also carry the
//     ENABLE_WEBTRANSPORT of the earlier drafts, and a server that enables
//     WebTransport with it alone gets the CONNECT :protocol "webtransport".
func newWebTransportTransport() *webtransport.Transport {
	return &webtransport.Transport{AllowPlainStreamReset: true, AllowDraft06Servers: true}
}

// QUICConn returns the QUIC connection of the session.
func (s *Session) QUICConn() *quic.Conn { return s.conn }

// Close closes the session with code 0 (unless it is already closed),
// then the QUIC connection (H3_NO_ERROR).
func (s *Session) Close() error {
	_ = s.CloseWithError(0, "")
	return s.conn.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "")
}
