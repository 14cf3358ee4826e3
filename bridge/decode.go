package bridge

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/zig-h3/h3bun/server"
)

// Event is one event of the queue, decoded (for Go consumers and tests;
// the layouts are in include/zig_h3.h). Fields a type does not carry are
// zero.
type Event struct {
	Type uint8
	// Handle is the response, session, stream or connection handle the
	// event is about (its first u64).
	Handle uint64
	// Request and session events.
	Head *RequestHead
	// Stream is the stream handle of EventStreamOpened.
	Stream uint64
	// Code is the abort reason, the log level, the stream reset code or
	// the session close code.
	Code uint32
	// Flag is EventStreamOpened's bidi and EventStreamEnd's reset.
	Flag bool
	// Data is the bytes of body chunks, datagrams and stream data, the log
	// line, the close reason.
	Data []byte
	// Trailer holds EventBodyEnd's trailers.
	Trailer []server.HeaderField
	// RemoteAddr and ConnIDHex come with EventQUICDatagram.
	RemoteAddr, ConnIDHex string
	// StreamID, Status and Header come with EventFetchHead.
	StreamID uint64
	Status   uint32
	Header   []server.HeaderField
	// ErrCode is the ZIG_H3_ERR_* code of EventFetchError and
	// EventClientClosed; Code is then the peer's application error code and
	// Data the message.
	ErrCode int32
}

// RequestHead is the request of an EventRequest or EventSession.
type RequestHead struct {
	StreamID                                       uint64
	Tag                                            uint32
	Method, Path, Authority, RemoteAddr, ConnIDHex string
	Params                                         []server.Param
	Header, Trailer                                []server.HeaderField
	Body                                           []byte
}

// Decode decodes the events of a drained batch. Data slices point into b.
func Decode(b []byte) ([]Event, error) {
	var evs []Event
	for len(b) > 0 {
		if len(b) < eventHeaderSize {
			return evs, fmt.Errorf("%d bytes left, less than an event header", len(b))
		}
		n := int(binary.LittleEndian.Uint32(b))
		if n < eventHeaderSize || n > len(b) || n%8 != 0 {
			return evs, fmt.Errorf("event length %d of %d bytes left", n, len(b))
		}
		ev, err := decodeOne(b[4], reader{b: b[eventHeaderSize:n]})
		if err != nil {
			return evs, fmt.Errorf("event type %d: %w", b[4], err)
		}
		evs = append(evs, ev)
		b = b[n:]
	}
	return evs, nil
}

// decodeOne decodes the fields of one event of type typ.
func decodeOne(typ byte, r reader) (Event, error) {
	ev := Event{Type: typ}
	switch typ {
	case EventRequest, EventSession:
		ev.Handle = r.u64()
		ev.Head = r.head()
	case EventAbort, EventSessionReady, EventWritable:
		ev.Handle = r.u64()
		if typ == EventAbort {
			ev.Code = r.u32()
		}
	case EventLog:
		ev.Code = r.u32()
		ev.Data = r.bytes(int(r.u32()))
	case EventStopped:
	case EventBodyChunk, EventSessionDgram, EventStreamData, EventH3Datagram:
		ev.Handle = r.u64()
		ev.Data = r.bytes(int(r.u32()))
	case EventBodyEnd:
		ev.Handle = r.u64()
		n, count := r.u32(), r.u16()
		r.u16()
		ev.Trailer = r.fields(r.bytes(int(n)), int(count))
	case EventStreamOpened:
		ev.Handle, ev.Stream, ev.Flag = r.u64(), r.u64(), r.u32() == 1
	case EventStreamEnd:
		ev.Handle, ev.Flag, ev.Code = r.u64(), r.u32() == 1, r.u32()
	case EventSessionClosed:
		ev.Handle, ev.Code = r.u64(), r.u32()
		ev.Data = r.bytes(int(r.u32()))
	case EventQUICDatagram:
		ev.Handle = r.u64()
		remote, n := r.u32(), r.u32()
		ev.RemoteAddr, ev.ConnIDHex = string(r.bytes(int(remote))), string(r.bytes(16))
		ev.Data = r.bytes(int(n))
	default:
		return ev, decodeClientEvent(&ev, r)
	}
	return ev, r.err
}

// decodeClientEvent decodes the fields of the event types only a client's
// queue carries.
func decodeClientEvent(ev *Event, r reader) error {
	switch ev.Type {
	case EventFetchHead:
		ev.Handle, ev.StreamID, ev.Status = r.u64(), r.u64(), r.u32()
		n, count := r.u32(), r.u16()
		r.u16()
		r.u16()
		r.u16()
		ev.Header = r.fields(r.bytes(int(n)), int(count))
	case EventFetchData:
		ev.Handle = r.u64()
		ev.Data = r.bytes(int(r.u32()))
	case EventFetchEnd:
		ev.Handle = r.u64()
		n, count := r.u32(), r.u16()
		r.u16()
		ev.Trailer = r.fields(r.bytes(int(n)), int(count))
	case EventFetchError, EventClientClosed, EventSessionAborted:
		ev.Handle, ev.ErrCode, ev.Code = r.u64(), int32(r.u32()), r.u32()
		n := r.u32()
		r.u32()
		ev.Data = r.bytes(int(n))
	case EventClientConnected:
		ev.Handle = r.u64()
	default:
		return fmt.Errorf("unknown type")
	}
	return r.err
}

// reader reads the little-endian fields of one event; past the end it
// records an error and returns zeros.
type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("truncated")
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) u16() uint16 {
	if p := r.bytes(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if p := r.bytes(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if p := r.bytes(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

// head reads the rest of a request head event.
func (r *reader) head() *RequestHead {
	h := &RequestHead{StreamID: r.u64(), Tag: r.u32()}
	headLen, bodyLen := r.u32(), r.u32()
	params, headers, trailers := int(r.u16()), int(r.u16()), int(r.u16())
	r.u16()
	strs := strings.Split(string(r.bytes(int(headLen))), "\x00")
	h.Body = r.bytes(int(bodyLen))
	if r.err != nil || len(strs) != 6+2*(params+headers+trailers) {
		r.err = fmt.Errorf("malformed head")
		return h
	}
	h.Method, h.Path, h.Authority, h.RemoteAddr, h.ConnIDHex = strs[0], strs[1], strs[2], strs[3], strs[4]
	pairs := strs[5:]
	for i := 0; i < params; i++ {
		h.Params = append(h.Params, server.Param{Name: pairs[2*i], Value: pairs[2*i+1]})
	}
	h.Header = pairFields(pairs[2*params:], headers)
	h.Trailer = pairFields(pairs[2*(params+headers):], trailers)
	return h
}

// fields parses count name\0value\0 pairs of block.
func (r *reader) fields(block []byte, count int) []server.HeaderField {
	fields, err := DecodeHeaders(block)
	if err != nil || len(fields) != count {
		r.err = fmt.Errorf("malformed fields")
	}
	return fields
}

// pairFields makes n header fields of the strings name, value, ...
func pairFields(strs []string, n int) []server.HeaderField {
	var fields []server.HeaderField
	for i := 0; i < n; i++ {
		fields = append(fields, server.HeaderField{Name: strs[2*i], Value: strs[2*i+1]})
	}
	return fields
}
