package bridge

import "errors"

// Errors of the bridge, next to those of the server package.
var (
	// ErrServerClosed: the server was closed (Server.Close); it takes no
	// more calls that would need new resources.
	ErrServerClosed = errors.New("the server was closed")
	// ErrQueueFull: a bounded queue had no room and the item was dropped.
	ErrQueueFull = errors.New("queue full")
	// ErrTimeout: a connect or a fetch took longer than its timeout.
	ErrTimeout = errors.New("timed out")
	// ErrIO: the network or the peer failed (unreachable, handshake or
	// certificate refused, a malformed or truncated response).
	ErrIO = errors.New("i/o error")
)
