package core

import "errors"

// Errors returned by Server and Response methods. The C API maps each to a
// negative code (see include/zig_h3.h).
var (
	// ErrInvalidArgument: a value outside what the call accepts.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrState: the call is not allowed in the object's current state, such
	// as adding a route after start or setting a header after the body began.
	ErrState = errors.New("not allowed in the current state")
	// ErrClosed: the response or server is finished (ended, aborted by the
	// peer, or stopped).
	ErrClosed = errors.New("already closed")
	// ErrServerClosed: the server was closed (Server.Close); it takes no
	// more calls that would need new resources.
	ErrServerClosed = errors.New("the server was closed")
	// ErrQueueFull: a bounded queue had no room and the item was dropped.
	ErrQueueFull = errors.New("queue full")
)
