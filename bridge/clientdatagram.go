package bridge

import (
	"context"
	"errors"
	"fmt"

	"github.com/quic-go/quic-go"

	"github.com/zig-h3/h3bun/internal/abi"
	"github.com/zig-h3/h3bun/server"
)

// FlowIDRaw is the flow id of a raw QUIC datagram for SetDatagramHandler
// (those of requests are below 2^60).
const FlowIDRaw = uint64(abi.FlowIDRaw)

// datagramProbe is larger than any QUIC datagram: sending it fails at once
// with the current maximum and sends nothing.
var datagramProbe = make([]byte, 1<<16)

// maxDatagram is the largest QUIC datagram payload qconn can send now (0
// if none).
func maxDatagram(qconn *quic.Conn) int {
	var tooLarge *quic.DatagramTooLargeError
	if err := qconn.SendDatagram(datagramProbe); errors.As(err, &tooLarge) {
		return int(tooLarge.MaxDatagramPayloadSize)
	}
	return 0
}

// datagramError translates quic-go's datagram errors.
func datagramError(err error) error {
	var tooLarge *quic.DatagramTooLargeError
	if errors.As(err, &tooLarge) {
		return fmt.Errorf("%w: the path allows at most %d bytes now", server.ErrDatagramTooLarge, tooLarge.MaxDatagramPayloadSize)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", server.ErrClosed, err)
	}
	return nil
}

// rawConn returns the connection if its QUIC datagrams are the client's.
func (c *Client) rawConn() (*clientConn, error) {
	c.mu.Lock()
	conn, state, closing := c.conn, c.state, c.closing
	c.mu.Unlock()
	switch {
	case state == clientClosed || closing:
		return nil, fmt.Errorf("%w: the connection is gone", server.ErrClosed)
	case conn == nil:
		return nil, fmt.Errorf("%w: not connected", server.ErrState)
	case !conn.rawDatagrams():
		return nil, fmt.Errorf("%w: no raw QUIC datagrams on this connection (not negotiated, or HTTP/3 reads them)", server.ErrState)
	}
	return conn, nil
}

// SendDatagram sends a raw QUIC datagram on the connection.
func (c *Client) SendDatagram(p []byte) error {
	conn, err := c.rawConn()
	if err != nil {
		return err
	}
	return datagramError(conn.qconn.SendDatagram(p))
}

// MaxDatagramSize is the largest raw QUIC datagram payload sendable now (0:
// none, or not connected).
func (c *Client) MaxDatagramSize() int {
	conn, err := c.rawConn()
	if err != nil {
		return 0
	}
	return maxDatagram(conn.qconn)
}

// receiveRawDatagrams delivers the connection's raw QUIC datagrams, if they
// are the client's: at once on an "alpn" connection; on "h3" once the
// server's SETTINGS show that HTTP/3 does not read them.
func (c *Client) receiveRawDatagrams(conn *clientConn) {
	if dg := conn.qconn.ConnectionState().SupportsDatagrams; !dg.Local || !dg.Remote || conn.wt != nil {
		return
	}
	if !conn.raw {
		select {
		case <-conn.h3.ReceivedSettings():
		case <-conn.qconn.Context().Done():
			return
		}
		if !conn.rawDatagrams() {
			return
		}
	}
	remote := conn.qconn.RemoteAddr().String()
	for {
		b, err := conn.qconn.ReceiveDatagram(context.Background())
		if err != nil {
			return
		}
		c.deliverDatagram(FlowIDRaw, b, func(q *EventQueue) error {
			return q.tryPush(encodeClientQUICDatagram(c.Handle, remote, b), &c.muted)
		})
	}
}

// deliverDatagram hands a received datagram to the queue (push) or to the
// datagram handler of callback mode.
func (c *Client) deliverDatagram(flow uint64, p []byte, push func(*EventQueue) error) {
	c.mu.Lock()
	q := c.queue
	c.mu.Unlock()
	if q != nil {
		if err := push(q); errors.Is(err, ErrQueueFull) {
			c.datagramsDropped.Add(1)
		}
		return
	}
	c.callDatagramHandler(flow, p)
}

// callDatagramHandler gives p to the datagram handler of callback mode,
// if there is one and the client is not freed.
func (c *Client) callDatagramHandler(flow uint64, p []byte) {
	if f := c.onDatagram.Load(); f != nil && c.calls.enter() {
		defer c.calls.leave()
		(*f)(flow, p)
	}
}
