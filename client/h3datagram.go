package client

import (
	"context"
	"errors"
)

// Datagrammer is anything that carries unreliable datagrams: a
// *quic.Conn (RFC 9221), a [RequestStream] (HTTP/3 datagrams, RFC 9297)
// and a [Session] (WebTransport).
type Datagrammer interface {
	// SendDatagram queues b; it does not wait for it to be sent.
	SendDatagram(b []byte) error
	// ReceiveDatagram waits for the next datagram, until ctx ends or the
	// carrier is gone.
	ReceiveDatagram(ctx context.Context) ([]byte, error)
}

// ErrNoH3Datagrams is returned by [Conn.RequireH3Datagrams] when the
// server's SETTINGS do not enable HTTP/3 datagrams.
var ErrNoH3Datagrams = errors.New("client: the server's SETTINGS do not enable HTTP/3 datagrams")

// RequireH3Datagrams waits for the server's SETTINGS and fails unless
// they enable HTTP/3 datagrams (the Conn must have been made with
// Config.EnableDatagrams, too). Until the SETTINGS arrived, datagrams
// cannot be sent.
func (c *Conn) RequireH3Datagrams(ctx context.Context) error {
	st, err := c.Settings(ctx)
	if err != nil {
		return err
	}
	if !st.EnableDatagrams {
		return ErrNoH3Datagrams
	}
	return nil
}

// SendDatagram sends b as an HTTP/3 datagram of the request.
func (s *RequestStream) SendDatagram(b []byte) error { return s.str.SendDatagram(b) }

// ReceiveDatagram waits for the next HTTP/3 datagram of the request.
func (s *RequestStream) ReceiveDatagram(ctx context.Context) ([]byte, error) {
	return s.str.ReceiveDatagram(ctx)
}
