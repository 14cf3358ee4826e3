package server

import (
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// serveH3Conn serves HTTP/3 on c with our own stream loops, like
// http3.Server.ServeQUICConn, so that it can
//   - give each request stream a header deadline (Config.HeaderTimeout):
//     http3 reads a request's HEADERS with no time limit, and a client that
//     sends half of them holds the stream, its goroutine and its buffers
//     for as long as it keeps the connection alive;
//   - read the peer's SETTINGS first and take the raw QUIC datagrams when
//     the peer does not enable HTTP/3 datagrams (see OnQUICDatagram).
//
// It serves every HTTP/3 connection but those of a WebTransport server,
// which webtransport-go accepts itself. No GOAWAY on graceful stop (http3
// keeps its control stream to itself): request streams opened once the
// server is stopping are reset with H3_REQUEST_REJECTED, which tells the
// client that nothing was processed and that it may retry elsewhere, as
// http3 itself does after its GOAWAY.
func (s *Server) serveH3Conn(c *Conn) error {
	hconn, err := s.h3.NewRawServerConn(c.qc)
	if err != nil {
		return err
	}
	ctx := c.qc.Context()
	go func() {
		for {
			str, err := c.qc.AcceptUniStream(ctx)
			if err != nil {
				return
			}
			go func() {
				if s.quicDatagrams.Load() != nil {
					if h3Datagrams, isControl := peekSettings(str); isControl && !h3Datagrams {
						go s.receiveQUICDatagrams(c)
					}
				}
				hconn.HandleUnidirectionalStream(str)
			}()
		}
	}()
	for {
		str, err := c.qc.AcceptStream(ctx)
		if err != nil {
			return nil
		}
		if s.stopping.Load() {
			str.CancelRead(quic.StreamErrorCode(http3.ErrCodeRequestRejected))
			str.CancelWrite(quic.StreamErrorCode(http3.ErrCodeRequestRejected))
			continue
		}
		s.handleRequestStream(hconn, c, str)
	}
}

// handleRequestStream hands a request stream to http3, on a worker (see
// workerPool), with a read deadline
// until its HEADERS are read: http3 then resets it (H3_REQUEST_INCOMPLETE).
// The handler clears the deadline as it starts (headersRead).
func (s *Server) handleRequestStream(hconn *http3.RawServerConn, c *Conn, str *quic.Stream) {
	d := s.cfg.headerTimeout()
	if d <= 0 {
		s.workers.start(func() { hconn.HandleRequestStream(str) })
		return
	}
	deadline := time.Now().Add(d)
	_ = str.SetReadDeadline(deadline)
	c.awaitingHeaders.Store(str.StreamID(), str)
	s.workers.start(func() {
		hconn.HandleRequestStream(str)
		if _, waiting := c.awaitingHeaders.LoadAndDelete(str.StreamID()); waiting {
			// No handler ran: the head never came in time, or http3 refused
			// it (431 over maxHeaderBytes, a QPACK or framing error).
			s.counters.requestsRejected.Add(1)
			if !time.Now().Before(deadline) {
				s.logf(LogDebug, "connection %s: stream %d: no request head within %v", c.RemoteAddr, str.StreamID(), d)
			}
		}
	})
}

// headersRead clears the header deadline of a request's stream: the
// handler starts.
func headersRead(c *Conn, streamID uint64) {
	if c == nil {
		return
	}
	if v, ok := c.awaitingHeaders.LoadAndDelete(quic.StreamID(streamID)); ok {
		_ = v.(*quic.Stream).SetReadDeadline(time.Time{})
	}
}
