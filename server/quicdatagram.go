package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/quicvarint"
)

// Raw QUIC datagrams are connection-scoped datagrams that no HTTP/3 layer
// consumes: every datagram on a connection that negotiated one of
// Config.QuicAlpn, and the datagrams of an HTTP/3 connection whose peer did
// not enable HTTP/3 datagrams (its SETTINGS lack SETTINGS_H3_DATAGRAM):
// when the peer enables them, quic-go's http3 reads every datagram of the
// connection as an HTTP/3 datagram.

// QUICDatagramHandler receives raw QUIC datagrams; payload is only valid
// during the call.
type QUICDatagramHandler func(c *Conn, payload []byte)

// OnQUICDatagram sets the raw QUIC datagram handler (nil: none). Set it
// before Start: it decides how HTTP/3 connections are served.
func (s *Server) OnQUICDatagram(h QUICDatagramHandler) {
	if h == nil {
		s.quicDatagrams.Store(nil)
		return
	}
	s.quicDatagrams.Store(&h)
}

// receiveQUICDatagrams reads raw datagrams of c until it closes. Those
// that came in 0-RTT wait (in quic-go's queue) until the handshake is
// complete: they could be replays.
func (s *Server) receiveQUICDatagrams(c *Conn) {
	select {
	case <-c.qc.HandshakeComplete():
	case <-c.qc.Context().Done():
		return
	}
	for {
		b, err := c.qc.ReceiveDatagram(context.Background())
		if err != nil {
			return
		}
		s.counters.datagramsReceived.Add(1)
		if h := s.quicDatagrams.Load(); h != nil {
			(*h)(c, b)
		}
	}
}

// serveRawConn serves a connection of an extra ALPN: datagrams only; the
// peer's streams are refused.
func (s *Server) serveRawConn(c *Conn) {
	go func() {
		for {
			str, err := c.qc.AcceptStream(context.Background())
			if err != nil {
				return
			}
			str.CancelRead(0)
			str.CancelWrite(0)
		}
	}()
	s.receiveQUICDatagrams(c)
}

// Settings identifiers and frame types of RFC 9114 / RFC 9297.
const (
	h3StreamControl   = 0x00
	h3FrameSettings   = 0x04
	h3SettingDatagram = 0x33
	maxSettingsFrame  = 4096
)

// peekSettings looks at a unidirectional stream without consuming it; for
// a control stream it parses the SETTINGS frame and reports whether the
// peer enabled HTTP/3 datagrams.
func peekSettings(str *quic.ReceiveStream) (h3Datagrams, isControl bool) {
	var b [1]byte
	if n, _ := str.Peek(b[:]); n < 1 || b[0] != h3StreamControl {
		return false, false
	}
	// Peek the frame type and length (at most 1 + 8 + 8 bytes).
	head := make([]byte, 1, 17)
	for {
		n, err := str.Peek(head)
		if n < len(head) && err != nil {
			return false, true
		}
		frameType, l1, err1 := quicvarint.Parse(head[1:])
		if err1 == nil {
			length, l2, err2 := quicvarint.Parse(head[1+l1:])
			if err2 == nil {
				if frameType != h3FrameSettings || length > maxSettingsFrame {
					return false, true
				}
				frame := make([]byte, 1+l1+l2+int(length))
				if n, err := str.Peek(frame); n < len(frame) && err != nil {
					return false, true
				}
				return settingsEnableDatagrams(frame[1+l1+l2:]), true
			}
		}
		if len(head) == cap(head) {
			return false, true
		}
		head = head[:len(head)+1]
	}
}

func settingsEnableDatagrams(b []byte) bool {
	for len(b) > 0 {
		id, n, err := quicvarint.Parse(b)
		if err != nil {
			return false
		}
		b = b[n:]
		v, n, err := quicvarint.Parse(b)
		if err != nil {
			return false
		}
		b = b[n:]
		if id == h3SettingDatagram {
			return v == 1
		}
	}
	return false
}

// ErrDatagramTooLarge wraps a send of a datagram above the current maximum.
var ErrDatagramTooLarge = errors.New("datagram too large")

// datagramError translates quic-go's datagram errors.
func datagramError(err error) error {
	var tooLarge *quic.DatagramTooLargeError
	if errors.As(err, &tooLarge) {
		return fmt.Errorf("%w: the path allows at most %d bytes now", ErrDatagramTooLarge, tooLarge.MaxDatagramPayloadSize)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return nil
}

// probe is larger than any QUIC datagram: sending it fails at once with
// the current maximum and sends nothing.
var probe = make([]byte, 1<<16)

// MaxDatagramSize returns the largest raw QUIC datagram payload the
// connection can send now, or 0 if datagrams are not negotiated.
func (c *Conn) MaxDatagramSize() int {
	if c.qc == nil {
		return 0 // a TCP connection
	}
	var tooLarge *quic.DatagramTooLargeError
	if err := c.qc.SendDatagram(probe); errors.As(err, &tooLarge) {
		return int(tooLarge.MaxDatagramPayloadSize)
	}
	return 0
}

// SendDatagram sends a raw QUIC datagram on the connection.
func (c *Conn) SendDatagram(payload []byte) error {
	if c.qc == nil {
		return fmt.Errorf("%w: a TCP connection carries no datagrams", ErrState)
	}
	if err := datagramError(c.qc.SendDatagram(payload)); err != nil {
		return err
	}
	c.srv.counters.datagramsSent.Add(1)
	return nil
}
