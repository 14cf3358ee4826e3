package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// RequestStream is one request on a [Conn] driven step by step: its head
// is sent with [RequestStream.SendRequest], and the stream stays open
// afterwards, for HTTP/3 datagrams ([RequestStream.SendDatagram]) or for
// the request and response bodies (Write, Read). It ends with
// [RequestStream.Finish] or [RequestStream.Cancel].
type RequestStream struct {
	str *http3.RequestStream
}

// OpenRequestStream opens a request stream on the connection, waiting
// while the server's stream limit is reached.
func (c *Conn) OpenRequestStream(ctx context.Context) (*RequestStream, error) {
	str, err := c.cc.OpenRequestStream(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening the request stream: %w", err)
	}
	return &RequestStream{str: str}, nil
}

// StreamID is the QUIC stream ID of the request.
func (s *RequestStream) StreamID() int64 { return int64(s.str.StreamID()) }

// SendRequest sends the head of req (which must have no body: a POST
// carries "content-length: 0"; write a body on the stream instead) and
// waits for the response head. The response body is the stream itself
// (read it with Read). When ctx ends first, the wait fails with ctx's
// error.
func (s *RequestStream) SendRequest(ctx context.Context, req *http.Request) (*http.Response, error) {
	if err := s.str.SendRequestHeader(req); err != nil {
		return nil, fmt.Errorf("sending the request head: %w", err)
	}
	// ReadResponse takes no context: ctx reaches it as a read deadline.
	unblock := context.AfterFunc(ctx, func() { _ = s.str.SetReadDeadline(time.Now()) })
	rsp, err := s.str.ReadResponse()
	if !unblock() && err != nil {
		err = fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("reading the response head: %w", err)
	}
	return rsp, nil
}

// Write writes request body bytes (after SendRequest).
func (s *RequestStream) Write(b []byte) (int, error) { return s.str.Write(b) }

// Read reads response body bytes (after SendRequest).
func (s *RequestStream) Read(b []byte) (int, error) { return s.str.Read(b) }

// Finish ends the request (FIN on the request side) and reads the rest
// of the response until it ends or deadline passes; then, if it did not
// end, it stops reading (H3_REQUEST_CANCELLED). It returns how the reading
// ended (nil: the response ended).
func (s *RequestStream) Finish(deadline time.Time) error {
	s.str.Close()
	s.str.SetReadDeadline(deadline)
	if _, err := io.Copy(io.Discard, s.str); err != nil {
		s.str.CancelRead(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
		return err
	}
	return nil
}

// Cancel aborts the request both ways (H3_REQUEST_CANCELLED).
func (s *RequestStream) Cancel() {
	s.str.CancelRead(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
	s.str.CancelWrite(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
}
