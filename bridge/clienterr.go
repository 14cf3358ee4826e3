package bridge

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/zig-h3/h3bun/internal/abi"
	"github.com/zig-h3/h3bun/server"
)

// EndError is how a fetch, a connect or a connection ended badly: its kind
// (ErrIO, ErrTimeout, server.ErrClosed, server.ErrConfig, or nil for a
// client closed by its owner), the peer's application error code when it
// reset the stream or closed the connection with one, and a message.
type EndError struct {
	Kind    error
	AppCode uint32
	Msg     string
}

func (e *EndError) Error() string { return e.Msg }

// Unwrap returns the kind, so that errors.Is(e, ErrTimeout) works.
func (e *EndError) Unwrap() error { return e.Kind }

// Code is the ZIG_H3_ERR_* code of the event that reports e (0 for a
// client closed by its owner).
func (e *EndError) Code() int32 {
	switch {
	case e.Kind == nil:
		return abi.OK
	case errors.Is(e.Kind, ErrTimeout):
		return abi.ErrTimeout
	case errors.Is(e.Kind, server.ErrClosed):
		return abi.ErrClosed
	case errors.Is(e.Kind, server.ErrConfig):
		return abi.ErrConfig
	case errors.Is(e.Kind, server.ErrState):
		return abi.ErrState
	case errors.Is(e.Kind, server.ErrInvalidArgument):
		return abi.ErrInvalidArg
	}
	return abi.ErrIO
}

// endErr makes an EndError.
func endErr(kind error, format string, args ...any) *EndError {
	return &EndError{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// classify turns what quic-go, http3 or a context returned into an
// EndError; what does names the failed step in the message.
func classify(what string, err error) *EndError {
	if e, ok := errors.AsType[*EndError](err); ok {
		return e
	}
	msg := what + ": " + err.Error()
	if se, ok := errors.AsType[*quic.StreamError](err); ok && se.Remote {
		return &EndError{Kind: server.ErrClosed, AppCode: uint32(se.ErrorCode),
			Msg: fmt.Sprintf("%s: the server reset the stream (%s)", what, http3.ErrCode(se.ErrorCode))}
	}
	if ae, ok := errors.AsType[*quic.ApplicationError](err); ok {
		e := &EndError{Kind: server.ErrClosed, Msg: msg}
		if ae.Remote {
			e.AppCode = uint32(ae.ErrorCode)
		}
		return e
	}
	var idle *quic.IdleTimeoutError
	var handshake *quic.HandshakeTimeoutError
	switch {
	case errors.As(err, &idle), errors.As(err, &handshake), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, ErrTimeout):
		return &EndError{Kind: ErrTimeout, Msg: msg}
	case errors.Is(err, server.ErrClosed), errors.Is(err, context.Canceled):
		return &EndError{Kind: server.ErrClosed, Msg: msg}
	}
	var te *quic.TransportError
	if errors.As(err, &te) && te.Remote {
		return &EndError{Kind: server.ErrClosed, Msg: msg}
	}
	return &EndError{Kind: ErrIO, Msg: msg}
}
