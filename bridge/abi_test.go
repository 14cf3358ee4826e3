package bridge

import (
	"encoding/binary"
	"testing"

	"github.com/zig-h3/h3bun/internal/abi"
	"github.com/zig-h3/h3bun/server"
)

// The server's own limits are those the header states for C and Bun.
func TestServerLimitsMatchTheHeader(t *testing.T) {
	for _, c := range []struct {
		name         string
		server, want int
	}{
		{"ResponseHighWater", server.ResponseHighWater, abi.ResponseHighWater},
		{"ResponseLowWater", server.ResponseLowWater, abi.ResponseLowWater},
		{"BodyChunk", server.BodyChunk, abi.BodyChunkMax},
		{"MaxCloseReason", server.MaxCloseReason, abi.WTCloseReasonMax},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.server != c.want {
				t.Errorf("server.%s is %d, the header says %d", c.name, c.server, c.want)
			}
		})
	}
}

// Each encoder puts every fixed field where the header's struct has it.
func TestEncodersFollowTheHeaderLayout(t *testing.T) {
	const h, h2 = 0x1122334455667788, 0x0102030405060708
	req := &server.Request{Method: "GET", StreamID: 12, ConnID: make([]byte, 8), Body: []byte("body"),
		Header: []server.HeaderField{{Name: "a", Value: "b"}}, Params: []server.Param{{Name: "p", Value: "v"}}}
	conn := &server.Conn{RemoteAddr: "127.0.0.1:9", ID: make([]byte, 8)}
	type field struct {
		off, size int
		want      uint64
	}
	for _, c := range []struct {
		name   string
		ev     []byte
		typ    int
		fixed  int
		fields []field
	}{
		{"request", encodeRequest(h, 7, req), abi.EventRequest, abi.EventRequestFixed, []field{
			{abi.EventRequestHandle, 8, h}, {abi.EventRequestStreamID, 8, 12}, {abi.EventRequestTag, 4, 7},
			{abi.EventRequestBodyLen, 4, 4}, {abi.EventRequestParams, 2, 1}, {abi.EventRequestHeaders, 2, 1},
			{abi.EventRequestTrailers, 2, 0}}},
		{"abort", encodeAbort(h, AbortTimeout), abi.EventAbort, abi.EventAbortFixed, []field{
			{abi.EventAbortHandle, 8, h}, {abi.EventAbortReason, 4, AbortTimeout}}},
		{"log", encodeLog(2, "line"), abi.EventLog, abi.EventLogFixed, []field{
			{abi.EventLogLevel, 4, 2}, {abi.EventLogLength, 4, 4}}},
		{"stopped", encodeStopped(), abi.EventStopped, abi.EventStoppedFixed, nil},
		{"body chunk", encodeBodyChunk(h, []byte("abc")), abi.EventBodyChunk, abi.EventBytesFixed, []field{
			{abi.EventBytesHandle, 8, h}, {abi.EventBytesLength, 4, 3}}},
		{"body end", encodeBodyEnd(h, []server.HeaderField{{Name: "x", Value: "1"}}), abi.EventBodyEnd, abi.EventBodyEndFixed, []field{
			{abi.EventBodyEndHandle, 8, h}, {abi.EventBodyEndTrailersLen, 4, 4}, {abi.EventBodyEndTrailers, 2, 1}}},
		{"writable", encodeWritable(h), abi.EventWritable, abi.EventHandleFixed, []field{{abi.EventHandleHandle, 8, h}}},
		{"session ready", encodeSessionReady(h), abi.EventSessionReady, abi.EventHandleFixed, []field{{abi.EventHandleHandle, 8, h}}},
		{"stream opened", encodeStreamOpened(h, h2, true), abi.EventStreamOpened, abi.EventStreamOpenedFixed, []field{
			{abi.EventStreamOpenedSession, 8, h}, {abi.EventStreamOpenedStream, 8, h2}, {abi.EventStreamOpenedBidi, 4, 1}}},
		{"stream end", encodeStreamEnd(h, true, 9), abi.EventStreamEnd, abi.EventStreamEndFixed, []field{
			{abi.EventStreamEndStream, 8, h}, {abi.EventStreamEndReset, 4, 1}, {abi.EventStreamEndCode, 4, 9}}},
		{"session closed", encodeSessionClosed(h, 5, "bye"), abi.EventSessionClosed, abi.EventSessionClosedFixed, []field{
			{abi.EventSessionClosedSession, 8, h}, {abi.EventSessionClosedCode, 4, 5}, {abi.EventSessionClosedReasonLen, 4, 3}}},
		{"quic datagram", encodeQUICDatagram(h, conn, []byte("dg")), abi.EventQUICDatagram, abi.EventQUICDatagramFixed, []field{
			{abi.EventQUICDatagramConn, 8, h}, {abi.EventQUICDatagramRemoteLen, 4, 11}, {abi.EventQUICDatagramLength, 4, 2}}},
		{"h3 datagram", encodeH3Datagram(h, []byte("dg")), abi.EventH3Datagram, abi.EventBytesFixed, []field{
			{abi.EventBytesHandle, 8, h}, {abi.EventBytesLength, 4, 2}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			le := binary.LittleEndian
			if n := int(le.Uint32(c.ev[abi.EventHeaderLength:])); n != len(c.ev) || n%8 != 0 || n < c.fixed {
				t.Fatalf("length field %d, event %d bytes, fixed part %d", n, len(c.ev), c.fixed)
			}
			if int(c.ev[abi.EventHeaderType]) != c.typ {
				t.Fatalf("type %d, want %d", c.ev[abi.EventHeaderType], c.typ)
			}
			for _, f := range c.fields {
				var got uint64
				switch f.size {
				case 2:
					got = uint64(le.Uint16(c.ev[f.off:]))
				case 4:
					got = uint64(le.Uint32(c.ev[f.off:]))
				case 8:
					got = le.Uint64(c.ev[f.off:])
				}
				if got != f.want {
					t.Errorf("field at %d: %#x, want %#x", f.off, got, f.want)
				}
			}
		})
	}
}
