package bridge

import (
	"github.com/zig-h3/h3bun/internal/abi"
	"github.com/zig-h3/h3bun/server"
)

// Event types of a client's queue (the layouts are in include/zig_h3.h,
// "Client, event-queue mode"). A client's queue also carries
// EventWritable and EventH3Datagram (handle: the fetch), EventQUICDatagram
// (conn: the client) and the WebTransport session events.
const (
	EventFetchHead       = abi.EventFetchHead       // the response head of a fetch
	EventFetchData       = abi.EventFetchData       // response body bytes, to acknowledge
	EventFetchEnd        = abi.EventFetchEnd        // the response ended completely, with its trailers
	EventFetchError      = abi.EventFetchError      // the fetch failed
	EventClientConnected = abi.EventClientConnected // the connection is up
	EventClientClosed    = abi.EventClientClosed    // the connection failed or ended
	EventSessionAborted  = abi.EventSessionAborted  // a client session ended without a close capsule
)

// clientConnIDHex is the connection id of a client's raw QUIC datagram
// events: the client has one connection, named by its handle.
const clientConnIDHex = "0000000000000000"

// encodeFetchHead encodes an EventFetchHead.
func encodeFetchHead(fetch, streamID uint64, status int, header []server.HeaderField) []byte {
	n := fieldsLen(header)
	e := newEvent(EventFetchHead, abi.EventFetchHeadFixed-eventHeaderSize+n)
	e.u64(fetch)
	e.u64(streamID)
	e.u32(uint32(status))
	e.u32(uint32(n))
	e.u16(uint16(len(header)))
	e.u16(0)
	e.u16(0)
	e.u16(0)
	appendFields(&e, header)
	return e.done()
}

// encodeFetchData encodes an EventFetchData.
func encodeFetchData(fetch uint64, data []byte) []byte {
	return encodeIDBytes(EventFetchData, fetch, data)
}

// encodeFetchEnd encodes an EventFetchEnd with the response trailers (the
// layout of EventBodyEnd).
func encodeFetchEnd(fetch uint64, trailers []server.HeaderField) []byte {
	ev := encodeBodyEnd(fetch, trailers)
	ev[4] = EventFetchEnd
	return ev
}

// encodeError encodes an EventFetchError, EventClientClosed or EventSessionAborted.
func encodeError(typ byte, handle uint64, code int32, appCode uint32, msg string) []byte {
	e := newEvent(typ, abi.EventErrorFixed-eventHeaderSize+len(msg))
	e.u64(handle)
	e.u32(uint32(code))
	e.u32(appCode)
	e.u32(uint32(len(msg)))
	e.u32(0)
	e.str(msg)
	return e.done()
}

// encodeClientConnected encodes an EventClientConnected.
func encodeClientConnected(client uint64) []byte {
	e := newEvent(EventClientConnected, 8)
	e.u64(client)
	return e.done()
}

// encodeClientQUICDatagram encodes the EventQUICDatagram of a client's
// connection (conn: the client's handle).
func encodeClientQUICDatagram(client uint64, remote string, data []byte) []byte {
	e := newEvent(EventQUICDatagram, 16+len(remote)+len(clientConnIDHex)+len(data))
	e.u64(client)
	e.u32(uint32(len(remote)))
	e.u32(uint32(len(data)))
	e.str(remote)
	e.str(clientConnIDHex)
	e.b = append(e.b, data...)
	return e.done()
}
