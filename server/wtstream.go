package server

import (
	"errors"
	"io"

	"github.com/quic-go/webtransport-go"
)

// Stream is one WebTransport stream of a session: readable (the peer's
// unidirectional streams), writable (our unidirectional streams), or both.
type Stream struct {
	sess *Session

	recv       io.Reader // nil for a send-only stream
	cancelRead func(webtransport.StreamErrorCode)

	send        io.Writer // nil for a receive-only stream
	closeWrite  func() error
	cancelWrite func(webtransport.StreamErrorCode)
}

func newBidiStream(s *Session, str *webtransport.Stream) *Stream {
	return &Stream{sess: s, recv: str, cancelRead: str.CancelRead, send: str, closeWrite: str.Close, cancelWrite: str.CancelWrite}
}

func newReceiveStream(s *Session, str *webtransport.ReceiveStream) *Stream {
	return &Stream{sess: s, recv: str, cancelRead: str.CancelRead}
}

func newSendStream(s *Session, str *webtransport.SendStream) *Stream {
	return &Stream{sess: s, send: str, closeWrite: str.Close, cancelWrite: str.CancelWrite}
}

// Session returns the session the stream belongs to.
func (st *Stream) Session() *Session { return st.sess }

// Readable reports whether the stream has a receiving side.
func (st *Stream) Readable() bool { return st.recv != nil }

// Writable reports whether the stream has a sending side.
func (st *Stream) Writable() bool { return st.send != nil }

// Read reads what the peer sent; io.EOF at its FIN, a *StreamResetError
// when the peer reset it. ErrState on a send-only stream.
func (st *Stream) Read(p []byte) (int, error) {
	if st.recv == nil {
		return 0, ErrState
	}
	n, err := st.recv.Read(p)
	var se *webtransport.StreamError
	if errors.As(err, &se) {
		err = &StreamResetError{Code: uint32(se.ErrorCode), err: err}
	}
	return n, err
}

// Write writes p, blocking until the stream took it (QUIC flow control).
// ErrState on a receive-only stream.
func (st *Stream) Write(p []byte) (int, error) {
	if st.send == nil {
		return 0, ErrState
	}
	return st.send.Write(p)
}

// Close ends the sending side (FIN). ErrState on a receive-only stream.
func (st *Stream) Close() error {
	if st.send == nil {
		return ErrState
	}
	return st.closeWrite()
}

// Reset abandons the stream: the sending side is reset with code, the
// receiving side stopped with code.
func (st *Stream) Reset(code uint32) {
	if st.cancelWrite != nil {
		st.cancelWrite(webtransport.StreamErrorCode(code))
	}
	if st.cancelRead != nil {
		st.cancelRead(webtransport.StreamErrorCode(code))
	}
}

// StopReading tells the peer to stop sending (STOP_SENDING with code).
// ErrState on a send-only stream.
func (st *Stream) StopReading(code uint32) error {
	if st.cancelRead == nil {
		return ErrState
	}
	st.cancelRead(webtransport.StreamErrorCode(code))
	return nil
}

// StreamResetError is the error Stream.Read returns when the peer reset
// the stream.
type StreamResetError struct {
	Code uint32 // the peer's application error code
	err  error
}

func (e *StreamResetError) Error() string { return e.err.Error() }
func (e *StreamResetError) Unwrap() error { return e.err }
