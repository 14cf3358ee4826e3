package bridge

import (
	"encoding/binary"
	"encoding/hex"

	"github.com/zig-h3/h3bun/internal/abi"

	"github.com/zig-h3/h3bun/server"
)

// Event types in an EventQueue. Every event starts with an 8-byte header
// (u32 total length, a multiple of 8, header included; u8 type; 3 zero
// bytes) followed by the type's fields, little-endian: the layouts are in
// include/zig_h3.h ("Event-queue mode"), and Decode reads them back.
// The values come from the header (internal/abi).
const (
	EventRequest       = abi.EventRequest         // a request to answer by response handle
	EventAbort         = abi.EventAbort           // the response ended early (AbortPeer, AbortTimeout)
	EventLog           = abi.EventLog             // a log line
	EventStopped       = abi.EventStopped         // an asynchronous stop finished
	EventBodyChunk     = abi.EventBodyChunk       // streaming request body bytes, to acknowledge
	EventBodyEnd       = abi.EventBodyEnd         // the end of a streaming request body, with trailers
	EventWritable      = abi.EventWritable        // a paused writer (response or stream) may go on
	EventSession       = abi.EventSession         // like EventRequest, with the session handle
	EventSessionDgram  = abi.EventSessionDatagram // a session datagram
	EventStreamOpened  = abi.EventStreamOpened    // the peer opened a stream
	EventStreamData    = abi.EventStreamData      // stream bytes, to acknowledge
	EventStreamEnd     = abi.EventStreamEnd       // the peer's FIN or reset
	EventSessionClosed = abi.EventSessionClosed   // the session ended
	EventQUICDatagram  = abi.EventQUICDatagram    // a raw QUIC datagram
	EventH3Datagram    = abi.EventH3Datagram      // an HTTP/3 datagram of a response's flow
	EventSessionReady  = abi.EventSessionReady    // the session is accepted and established
)

const eventHeaderSize = abi.EventHeaderFixed

// eventBuilder appends fields to an event being encoded.
type eventBuilder struct{ b []byte }

func newEvent(typ byte, capacity int) eventBuilder {
	b := getEventBuf(eventHeaderSize + capacity + 7)[:eventHeaderSize]
	clear(b)
	b[4] = typ
	return eventBuilder{b: b}
}

func (e *eventBuilder) u16(v uint16) { e.b = binary.LittleEndian.AppendUint16(e.b, v) }
func (e *eventBuilder) u32(v uint32) { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *eventBuilder) u64(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }
func (e *eventBuilder) str(s string) { e.b = append(e.b, s...) }

// done pads to 8 bytes, writes the length and returns the encoded event.
func (e *eventBuilder) done() []byte {
	for len(e.b)%8 != 0 {
		e.b = append(e.b, 0)
	}
	binary.LittleEndian.PutUint32(e.b, uint32(len(e.b)))
	return e.b
}

// encodeRequest encodes an EventRequest for req answered by response id.
func encodeRequest(id uint64, tag uint32, req *server.Request) []byte {
	return encodeHead(EventRequest, id, tag, req)
}

// encodeHead encodes a request head event (EventRequest, EventSession).
func encodeHead(typ byte, id uint64, tag uint32, req *server.Request) []byte {
	connHex := hex.EncodeToString(req.ConnID)
	headLen := len(req.Method) + len(req.Path) + len(req.Authority) + len(req.RemoteAddr) + len(connHex) + 5
	for _, p := range req.Params {
		headLen += len(p.Name) + len(p.Value) + 2
	}
	trailers := req.Trailers()
	headLen += fieldsLen(req.Header) + fieldsLen(trailers)
	e := newEvent(typ, 36+headLen+len(req.Body))
	e.u64(id)
	e.u64(req.StreamID)
	e.u32(tag)
	e.u32(uint32(headLen))
	e.u32(uint32(len(req.Body)))
	e.u16(uint16(len(req.Params)))
	e.u16(uint16(len(req.Header)))
	e.u16(uint16(len(trailers)))
	e.u16(0)
	for _, s := range []string{req.Method, req.Path, req.Authority, req.RemoteAddr, connHex} {
		e.str(s)
		e.b = append(e.b, 0)
	}
	for _, p := range req.Params {
		e.str(p.Name)
		e.b = append(e.b, 0)
		e.str(p.Value)
		e.b = append(e.b, 0)
	}
	appendFields(&e, req.Header)
	appendFields(&e, trailers)
	e.b = append(e.b, req.Body...)
	return e.done()
}

// encodeBodyChunk encodes an EventBodyChunk.
func encodeBodyChunk(id uint64, data []byte) []byte {
	return encodeIDBytes(EventBodyChunk, id, data)
}

// encodeBodyEnd encodes an EventBodyEnd with the request trailers.
func encodeBodyEnd(id uint64, trailers []server.HeaderField) []byte {
	n := fieldsLen(trailers)
	e := newEvent(EventBodyEnd, 16+n)
	e.u64(id)
	e.u32(uint32(n))
	e.u16(uint16(len(trailers)))
	e.u16(0)
	appendFields(&e, trailers)
	return e.done()
}

// encodeWritable encodes an EventWritable.
func encodeWritable(id uint64) []byte {
	e := newEvent(EventWritable, 8)
	e.u64(id)
	return e.done()
}

// fieldsLen is the size appendFields gives fields.
func fieldsLen(fields []server.HeaderField) int {
	n := 0
	for _, f := range fields {
		n += len(f.Name) + len(f.Value) + 2
	}
	return n
}

// appendFields appends name\0value\0 for each field.
func appendFields(e *eventBuilder, fields []server.HeaderField) {
	for _, f := range fields {
		e.str(f.Name)
		e.b = append(e.b, 0)
		e.str(f.Value)
		e.b = append(e.b, 0)
	}
}

// Reasons of an EventAbort.
const (
	AbortPeer    = 0 // the client reset the stream or the connection closed
	AbortTimeout = 1 // the request timed out (the client got 503)
)

// encodeAbort encodes an EventAbort.
func encodeAbort(id uint64, reason uint32) []byte {
	e := newEvent(EventAbort, 12)
	e.u64(id)
	e.u32(reason)
	return e.done()
}

// encodeLog encodes an EventLog.
func encodeLog(level int, line string) []byte {
	e := newEvent(EventLog, 8+len(line))
	e.u32(uint32(level))
	e.u32(uint32(len(line)))
	e.str(line)
	return e.done()
}

// encodeStopped encodes an EventStopped.
func encodeStopped() []byte {
	e := newEvent(EventStopped, 8)
	e.u32(0)
	return e.done()
}

// DecodeHeaders parses a NUL-separated "name\x00value\x00..." block, the
// encoding the event-queue API uses for response headers and trailers.
func DecodeHeaders(b []byte) ([]server.HeaderField, error) {
	var fields []server.HeaderField
	for len(b) > 0 {
		name, rest, ok := cutNUL(b)
		if !ok {
			return nil, server.ErrInvalidArgument
		}
		value, rest2, ok := cutNUL(rest)
		if !ok {
			return nil, server.ErrInvalidArgument
		}
		fields = append(fields, server.HeaderField{Name: string(name), Value: string(value)})
		b = rest2
	}
	return fields, nil
}

func cutNUL(b []byte) (before, after []byte, ok bool) {
	for i, c := range b {
		if c == 0 {
			return b[:i], b[i+1:], true
		}
	}
	return nil, nil, false
}

func encodeSessionReady(session uint64) []byte {
	e := newEvent(EventSessionReady, 8)
	e.u64(session)
	return e.done()
}

// encodeIDBytes encodes an event made of a handle, a length and bytes.
func encodeIDBytes(typ byte, id uint64, data []byte) []byte {
	ev, payload := newIDBytes(typ, id, len(data))
	copy(payload, data)
	return finishIDBytes(ev, len(data))
}

// idBytesOverhead is what an event of encodeIDBytes's layout takes beyond
// its bytes, padding included: the header, the id, the length, 7.
const idBytesOverhead = eventHeaderSize + 12 + 7

// newIDBytes starts an event of the layout encodeIDBytes writes (id, then
// length-prefixed bytes) with room for up to max bytes, and returns it
// with that room, so that the bytes can be read into place; finishIDBytes
// ends it.
func newIDBytes(typ byte, id uint64, max int) (ev, payload []byte) {
	e := newEvent(typ, idBytesOverhead-eventHeaderSize-7+max)
	e.u64(id)
	e.u32(0)
	ev = e.b[:len(e.b)+max]
	return ev, ev[len(e.b):]
}

// finishIDBytes ends an event from newIDBytes whose first n bytes of room
// are filled.
func finishIDBytes(ev []byte, n int) []byte {
	e := eventBuilder{b: ev[:eventHeaderSize+12+n]}
	binary.LittleEndian.PutUint32(e.b[eventHeaderSize+8:], uint32(n))
	return e.done()
}

func encodeSessionDatagram(session uint64, data []byte) []byte {
	return encodeIDBytes(EventSessionDgram, session, data)
}

func encodeStreamData(stream uint64, data []byte) []byte {
	return encodeIDBytes(EventStreamData, stream, data)
}

func encodeH3Datagram(response uint64, data []byte) []byte {
	return encodeIDBytes(EventH3Datagram, response, data)
}

func encodeStreamOpened(session, stream uint64, bidi bool) []byte {
	e := newEvent(EventStreamOpened, 20)
	e.u64(session)
	e.u64(stream)
	if bidi {
		e.u32(1)
	} else {
		e.u32(0)
	}
	return e.done()
}

func encodeStreamEnd(stream uint64, reset bool, code uint32) []byte {
	e := newEvent(EventStreamEnd, 16)
	e.u64(stream)
	if reset {
		e.u32(1)
	} else {
		e.u32(0)
	}
	e.u32(code)
	return e.done()
}

func encodeSessionClosed(session uint64, code uint32, reason string) []byte {
	e := newEvent(EventSessionClosed, 16+len(reason))
	e.u64(session)
	e.u32(code)
	e.u32(uint32(len(reason)))
	e.str(reason)
	return e.done()
}

func encodeQUICDatagram(conn uint64, c *server.Conn, data []byte) []byte {
	e := newEvent(EventQUICDatagram, 32+len(c.RemoteAddr)+len(data))
	e.u64(conn)
	e.u32(uint32(len(c.RemoteAddr)))
	e.u32(uint32(len(data)))
	e.str(c.RemoteAddr)
	e.str(hex.EncodeToString(c.ID))
	e.b = append(e.b, data...)
	return e.done()
}
