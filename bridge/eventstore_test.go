package bridge_test

import (
	"testing"

	"github.com/zig-h3/h3bun/bridge"
	"github.com/zig-h3/h3bun/bridge/eventqueuetest"
)

// TestEventQueueOnMemStore checks the queue on the package's own store.
func TestEventQueueOnMemStore(t *testing.T) {
	eventqueuetest.Run(t, bridge.NewEventQueue)
}
