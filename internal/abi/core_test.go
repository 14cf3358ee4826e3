package abi_test

import (
	"testing"

	"github.com/zig-h3/h3bun/core"
	"github.com/zig-h3/h3bun/internal/abi"
)

// TestCoreAgrees checks the Go core's own constants against the header's
// until the core takes them from this package.
func TestCoreAgrees(t *testing.T) {
	for _, c := range []struct {
		name      string
		core, abi int
	}{
		{"EventRequest", core.EventRequest, abi.EventRequest},
		{"EventAbort", core.EventAbort, abi.EventAbort},
		{"EventLog", core.EventLog, abi.EventLog},
		{"EventStopped", core.EventStopped, abi.EventStopped},
		{"EventBodyChunk", core.EventBodyChunk, abi.EventBodyChunk},
		{"EventBodyEnd", core.EventBodyEnd, abi.EventBodyEnd},
		{"EventWritable", core.EventWritable, abi.EventWritable},
		{"EventSession", core.EventSession, abi.EventSession},
		{"EventSessionDgram", core.EventSessionDgram, abi.EventSessionDatagram},
		{"EventStreamOpened", core.EventStreamOpened, abi.EventStreamOpened},
		{"EventStreamData", core.EventStreamData, abi.EventStreamData},
		{"EventStreamEnd", core.EventStreamEnd, abi.EventStreamEnd},
		{"EventSessionClosed", core.EventSessionClosed, abi.EventSessionClosed},
		{"EventQUICDatagram", core.EventQUICDatagram, abi.EventQUICDatagram},
		{"EventH3Datagram", core.EventH3Datagram, abi.EventH3Datagram},
		{"EventSessionReady", core.EventSessionReady, abi.EventSessionReady},
		{"AbortTimeout", core.AbortTimeout, 1},
		{"ResponseHighWater", core.ResponseHighWater, abi.ResponseHighWater},
		{"ResponseLowWater", core.ResponseLowWater, abi.ResponseLowWater},
		{"BodyWindow", core.BodyWindow, abi.BodyWindow},
		{"DefaultQueueEvents", core.DefaultQueueEvents, abi.QueueMaxEvents},
		{"DefaultQueueBytes", core.DefaultQueueBytes, abi.QueueMaxBytes},
	} {
		if c.core != c.abi {
			t.Errorf("core.%s is %d, the header says %d", c.name, c.core, c.abi)
		}
	}
}
