package bridge

import (
	"sync"
	"time"
)

// InClientCallback reports whether the caller runs inside a client
// callback (set by the C layer; nil: never). A gate closed from inside one
// does not wait: the call running may be its caller.
var InClientCallback func() bool

// callGate admits calls into a consumer's callbacks until it is shut; shut
// waits for the calls running, so that none runs once the consumer's free
// returned (it frees the callbacks' user data then). The wait is bounded
// by clientWaitLimit: a callback that frees its own object cannot be
// waited for.
type callGate struct {
	mu      sync.Mutex
	shut    bool
	running int
	idle    chan struct{} // closed when the last call running leaves a shut gate
}

// enter admits a call unless the gate is shut; an admitted call ends with leave.
func (g *callGate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shut {
		return false
	}
	g.running++
	return true
}

// leave ends a call admitted by enter.
func (g *callGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running--
	if g.running == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
}

// close shuts the gate and waits (bounded) for the calls running.
func (g *callGate) close() {
	g.mu.Lock()
	g.shut = true
	if g.running == 0 || InClientCallback != nil && InClientCallback() {
		g.mu.Unlock()
		return
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	idle := g.idle
	g.mu.Unlock()
	select {
	case <-idle:
	case <-time.After(clientWaitLimit):
	}
}
