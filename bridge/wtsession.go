package bridge

import (
	"errors"

	"github.com/quic-go/webtransport-go"

	"github.com/zig-h3/h3bun/server"
)

// wtSession is a WebTransport session of either side as a Session drives
// it: a server session (server.Session) or a client one (clientSession).
type wtSession interface {
	Accept() error
	Reject(status int) error
	Close(code uint32, reason string) error
	SendDatagram(p []byte) error
	MaxDatagramSize() int
	OpenStream(bidi bool) (wtStream, error)
	// streamID is the session's CONNECT stream id, once known.
	streamID() (uint64, bool)
}

// wtStream is a WebTransport stream of either side (server.Stream
// satisfies it).
type wtStream interface {
	Readable() bool
	Writable() bool
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	Close() error
	Reset(code uint32)
	StopReading(code uint32) error
}

// serverSession adapts a server.Session to wtSession.
type serverSession struct{ *server.Session }

func (s serverSession) OpenStream(bidi bool) (wtStream, error) {
	st, err := s.Session.OpenStream(bidi)
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (s serverSession) streamID() (uint64, bool) { return s.Request.StreamID, true }

// streamResetCode returns the peer's reset code if err (from a stream's
// Read) says the peer reset the stream.
func streamResetCode(err error) (uint32, bool) {
	var reset *server.StreamResetError
	if errors.As(err, &reset) {
		return reset.Code, true
	}
	var se *webtransport.StreamError
	if errors.As(err, &se) && se.Remote {
		return uint32(se.ErrorCode), true
	}
	return 0, false
}
