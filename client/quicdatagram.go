package client

import (
	"context"
	"errors"
	"io"

	"github.com/quic-go/quic-go"
)

// IsDatagramTooLarge reports whether err is quic-go's
// DatagramTooLargeError: the datagram was not sent, the connection is fine.
func IsDatagramTooLarge(err error) bool {
	_, ok := errors.AsType[*quic.DatagramTooLargeError](err)
	return ok
}

// MaxDatagramPayloadSize returns the largest QUIC datagram payload conn
// can send now (it depends on the path MTU), or -1 when the peer does
// not accept datagrams. It probes with a datagram far too large, which is refused
// and not sent.
func MaxDatagramPayloadSize(conn *quic.Conn) int64 {
	err := conn.SendDatagram(make([]byte, 64<<10))
	if tooLarge, ok := errors.AsType[*quic.DatagramTooLargeError](err); ok {
		return tooLarge.MaxDatagramPayloadSize
	}
	return -1
}

// NewConnRawDatagrams runs HTTP/3 on qconn (a connection that negotiated
// "h3" with QUIC datagrams enabled) without enabling HTTP/3 datagrams, so
// that every QUIC datagram of the connection stays the caller's
// (qconn.ReceiveDatagram) while requests work on the returned Conn.
//
// quic-go's http3 client starts reading all QUIC datagrams of the
// connection as HTTP/3 datagrams as soon as the server's SETTINGS enable
// them, even when the client did not, and drops those it cannot assign to
// a request stream. So the server's unidirectional streams (control, QPACK
// encoder and decoder) are drained here instead of being handed to http3.
// Requests still work: http3 needs the server's SETTINGS only for Extended
// CONNECT (so [Conn.Settings] waits until its ctx ends on this Conn).
func NewConnRawDatagrams(qconn *quic.Conn, cfg *Config) *Conn {
	t := h3Transport(cfg)
	t.EnableDatagrams = false
	cc := t.NewRawClientConn(qconn)
	go func() {
		for {
			str, err := qconn.AcceptUniStream(context.Background())
			if err != nil {
				return
			}
			go io.Copy(io.Discard, str)
		}
	}()
	return &Conn{qconn: qconn, cc: cc.ClientConn}
}

// compile-time checks that the datagram carriers are Datagrammers.
var (
	_ Datagrammer = (*quic.Conn)(nil)
	_ Datagrammer = (*RequestStream)(nil)
	_ Datagrammer = (*Session)(nil)
)
