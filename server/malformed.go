package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// A request whose body breaks HTTP/3's framing rules (RFC 9114, section
// 4.1.2: DATA or HEADERS after the trailers, trailers that do not decode, a
// body shorter than its Content-Length) is malformed. quic-go's http3
// itself only resets a body longer than its Content-Length; for the others
// its body Read fails with a plain error and the stream stays open, so a
// handler that returned would have http3 send its default "200,
// content-length: 0". The server instead:
//
//   - buffered routes: answers 400 (nothing was sent yet; RFC 9114 lets a
//     server answer a malformed request before closing the stream) and the
//     handler does not run;
//   - streaming routes: ReadBody returns the error (wrapping ErrMalformed),
//     and the response ends with 400 if its head has not gone out, else the
//     stream is reset with H3_MESSAGE_ERROR, even if the handler ended it.
//
// A body whose reading fails otherwise (the client reset its upload) never
// gets a response either: the stream is reset (H3_INTERNAL_ERROR before the
// head, as for a handler that panics; H3_REQUEST_CANCELLED after it).

// ErrMalformed wraps the error of a request body that breaks HTTP/3's
// framing rules (see ReadBody).
var ErrMalformed = errors.New("malformed request")

// lengthCheckedBody is a request body that fails at its end when fewer
// bytes came than its Content-Length declares (http3 only checks the
// opposite).
type lengthCheckedBody struct {
	io.ReadCloser
	remaining int64
}

// checkLength wraps hr's body when it declares a Content-Length.
func checkLength(hr *http.Request) {
	if hr.ContentLength > 0 && hr.Body != nil {
		hr.Body = &lengthCheckedBody{ReadCloser: hr.Body, remaining: hr.ContentLength}
	}
}

func (b *lengthCheckedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.remaining -= int64(n)
	if err == io.EOF && b.remaining > 0 {
		err = fmt.Errorf("%w: the body ended %d bytes short of its Content-Length", ErrMalformed, b.remaining)
	}
	return n, err
}

// bodyMalformed reports whether err, a failed read of hr's body, means the
// request is malformed rather than cancelled by the peer or cut by the
// connection. http3 reports its framing errors as plain errors, and stream
// and connection errors as *http3.Error (idle timeouts as net.Error). Over
// TCP, net/http checks the framing itself: there only our own length check
// (ErrMalformed) counts, and any other failure is the client going away.
func bodyMalformed(hr *http.Request, err error) bool {
	var h3err *http3.Error
	var netErr net.Error
	switch {
	case errors.Is(err, ErrMalformed):
		return true
	case hr.ProtoMajor < 3, hr.Context().Err() != nil, errors.As(err, &h3err), errors.As(err, &netErr):
		return false
	}
	return err != nil && err != io.EOF
}

// malformedError wraps err in ErrMalformed when it means a malformed body.
func malformedError(hr *http.Request, err error) error {
	if bodyMalformed(hr, err) && !errors.Is(err, ErrMalformed) {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return err
}

// refuseBody answers a request whose buffered body could not be read: 400
// when it is malformed, else the stream is reset. The handler does not run.
func (s *Server) refuseBody(w http.ResponseWriter, hr *http.Request, err error) {
	s.logf(LogDebug, "%s %s: reading body: %v", hr.Method, hr.URL.Path, err)
	if bodyMalformed(hr, err) {
		s.reject(w, http.StatusBadRequest)
		stopBody(w, hr) // STOP_SENDING for whatever else comes
		return
	}
	panic(http.ErrAbortHandler) // http3 resets the stream without a head
}

// resetStream resets both directions of the request's stream with code,
// once the response head has gone out (taking the stream over flushes the
// head, so before that a reset goes through panic(http.ErrAbortHandler)).
// Over TCP it panics with http.ErrAbortHandler: net/http's way to reset an
// HTTP/2 stream or close an HTTP/1.1 connection.
func resetStream(w http.ResponseWriter, code http3.ErrCode) {
	// http3's response writer is always an HTTPStreamer; net/http's is not.
	s, ok := w.(http3.HTTPStreamer)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	str := s.HTTPStream()
	str.CancelWrite(quic.StreamErrorCode(code))
	str.CancelRead(quic.StreamErrorCode(code))
}

// abortForBody ends a response whose streaming request body failed: 400
// for a malformed body whose response head is not out yet, else a stream
// reset. It returns false: the response was not completed.
func (r *Response) abortForBody(o *responseOutput) bool {
	r.mu.Lock()
	malformed := r.bodyMalformed
	r.mu.Unlock()
	r.finish()
	switch {
	case o.headWritten && malformed:
		resetStream(o.w, http3.ErrCodeMessageError)
	case o.headWritten:
		resetStream(o.w, http3.ErrCodeRequestCanceled)
	case malformed:
		r.discardHead()
		r.srv.reject(o.w, http.StatusBadRequest)
	default:
		panic(http.ErrAbortHandler)
	}
	return false
}
