package server

import "errors"

// Errors returned by Server, Response, Session and Stream methods.
var (
	// ErrInvalidArgument: a value outside what the call accepts.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrState: the call is not allowed in the object's current state, such
	// as adding a route after start or setting a header after the body began.
	ErrState = errors.New("not allowed in the current state")
	// ErrClosed: the response or server is finished (ended, aborted by the
	// peer, or stopped).
	ErrClosed = errors.New("already closed")
)
