package main

import (
	"testing"

	"github.com/zig-h3/h3bun/bridge"
	"github.com/zig-h3/h3bun/bridge/eventqueuetest"
)

// TestEventQueueOnCStore checks the queue on the store in C memory, the
// one every queue of the library has (init sets bridge.NewEventStore).
func TestEventQueueOnCStore(t *testing.T) {
	q, err := bridge.NewEventQueue()
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	if bridge.NewEventStore == nil {
		t.Fatal("capi's init did not set bridge.NewEventStore")
	}
	eventqueuetest.Run(t, bridge.NewEventQueue)
}
