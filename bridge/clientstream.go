package bridge

import (
	"io"

	"github.com/quic-go/webtransport-go"

	"github.com/zig-h3/h3bun/server"
)

// clientStream is a WebTransport stream of a client session: readable (the
// server's unidirectional streams), writable (ours), or both. Read returns
// the peer's reset as a *webtransport.StreamError (see streamResetCode).
type clientStream struct {
	recv        io.Reader // nil for a send-only stream
	cancelRead  func(webtransport.StreamErrorCode)
	send        io.Writer // nil for a receive-only stream
	closeWrite  func() error
	cancelWrite func(webtransport.StreamErrorCode)
}

func newClientBidiStream(str *webtransport.Stream) *clientStream {
	return &clientStream{recv: str, cancelRead: str.CancelRead, send: str, closeWrite: str.Close, cancelWrite: str.CancelWrite}
}

func newClientReceiveStream(str *webtransport.ReceiveStream) *clientStream {
	return &clientStream{recv: str, cancelRead: str.CancelRead}
}

func newClientSendStream(str *webtransport.SendStream) *clientStream {
	return &clientStream{send: str, closeWrite: str.Close, cancelWrite: str.CancelWrite}
}

func (st *clientStream) Readable() bool { return st.recv != nil }
func (st *clientStream) Writable() bool { return st.send != nil }

func (st *clientStream) Read(p []byte) (int, error) {
	if st.recv == nil {
		return 0, server.ErrState
	}
	return st.recv.Read(p)
}

func (st *clientStream) Write(p []byte) (int, error) {
	if st.send == nil {
		return 0, server.ErrState
	}
	return st.send.Write(p)
}

func (st *clientStream) Close() error {
	if st.send == nil {
		return server.ErrState
	}
	return st.closeWrite()
}

func (st *clientStream) Reset(code uint32) {
	if st.cancelWrite != nil {
		st.cancelWrite(webtransport.StreamErrorCode(code))
	}
	if st.cancelRead != nil {
		st.cancelRead(webtransport.StreamErrorCode(code))
	}
}

func (st *clientStream) StopReading(code uint32) error {
	if st.cancelRead == nil {
		return server.ErrState
	}
	st.cancelRead(webtransport.StreamErrorCode(code))
	return nil
}
