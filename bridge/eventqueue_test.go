package bridge

import "testing"

// The queue's behaviour is checked on both stores by eventqueuetest
// (eventstore_test.go here, capi's tests for the C store).

func newTestQueue(t testing.TB) *EventQueue {
	t.Helper()
	q, err := NewEventQueue()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q
}
