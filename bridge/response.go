package bridge

import (
	"encoding/binary"
	"io"

	"github.com/zig-h3/h3bun/server"
)

// Response is a server response handed to a consumer by handle (a C
// callback's zig_h3_response, a request event's response handle). The
// handle is valid from the handler's start until the request is finished.
type Response struct {
	*server.Response
	Handle uint64

	q      *EventQueue // event routes: where aborts and body events go
	credit *credit     // event routes with a streaming body
}

// OpenResponse registers res under its handle; FinishResponse, the
// Route.Finished of such routes, removes it.
func OpenResponse(res *server.Response) *Response { return openResponse(res, nil) }

// openResponse is OpenResponse for a response whose streaming body is
// delivered as events, paced by credit.
func openResponse(res *server.Response, credit *credit) *Response {
	r := &Response{Response: res, Handle: ResponseHandle(res), credit: credit}
	Responses.Store(r.Handle, r)
	return r
}

// QueuedResponseHooks let the C face answer requests of event routes on a
// path of its own (capi/answers.c): Open runs for each such response
// before its request event is queued, Close when the response finishes.
// Set them once, before any server starts; nil hooks are not called.
var QueuedResponseHooks struct {
	Open, Close func(handle uint64)
}

// streamKey names a request by its connection number and stream id.
type streamKey struct{ conn, stream uint64 }

func streamKeyOf(req *server.Request) streamKey {
	var k streamKey
	if c := req.Conn(); c != nil {
		k.conn = c.Number
	}
	k.stream = req.StreamID
	return k
}

// OpenStreamResponse is OpenResponse for consumers that know a request
// only by its connection id and stream id (the C body callbacks):
// ResponseForStream finds it until FinishStreamResponse, the route's
// Finished, removes it.
func (b *Server) OpenStreamResponse(req *server.Request, res *server.Response) *Response {
	r := OpenResponse(res)
	b.byStream.Store(streamKeyOf(req), r)
	return r
}

// FinishStreamResponse is the Route.Finished of routes whose responses
// were opened with OpenStreamResponse.
func (b *Server) FinishStreamResponse(req *server.Request, res *server.Response, outcome server.Outcome) {
	b.byStream.Delete(streamKeyOf(req))
	FinishResponse(req, res, outcome)
}

// ResponseForStream returns the open response of the request on stream
// streamID of the connection whose id (server.Conn.ID) is connID.
func (b *Server) ResponseForStream(connID []byte, streamID uint64) (*Response, bool) {
	if len(connID) != 8 {
		return nil, false
	}
	v, ok := b.byStream.Load(streamKey{binary.BigEndian.Uint64(connID), streamID})
	if !ok {
		return nil, false
	}
	return v.(*Response), true
}

// ResponseHandle is the handle res has (or will have) while it is open.
func ResponseHandle(res *server.Response) uint64 { return KindResponse.Handle(res.ID) }

// FinishResponse is the Route.Finished of routes whose responses have
// handles: the handle dies, and a consumer of the event queue that was
// given the request learns how it ended unless it completed.
func FinishResponse(_ *server.Request, res *server.Response, outcome server.Outcome) {
	h := ResponseHandle(res)
	if QueuedResponseHooks.Close != nil {
		QueuedResponseHooks.Close(h) // before the handle dies: a late answer then gets its error
	}
	r, ok := Responses.Take(h)
	if !ok || r.q == nil || outcome == server.Completed {
		return
	}
	reason := uint32(AbortPeer)
	if outcome == server.TimedOut {
		reason = AbortTimeout
	}
	_ = r.q.PushControl(encodeAbort(r.Handle, reason))
}

// AckBody acknowledges n bytes of the streaming request body delivered as
// EventBodyChunk events, letting the server read more. ErrState when the
// body is not delivered as events.
func (r *Response) AckBody(n int) error {
	if n < 0 {
		return server.ErrInvalidArgument
	}
	if r.credit == nil {
		return server.ErrState
	}
	r.credit.ack(n)
	return nil
}

// pumpBody delivers a streaming body as EventBodyChunk events and a final
// EventBodyEnd, never more than BodyWindow unacknowledged.
func (r *Response) pumpBody(req *server.Request) {
	pumpToQueue(req.BodyContext(), r.q, r.credit, req.ReadBody,
		EventBodyChunk, r.Handle,
		func(err error) []byte {
			if err == io.EOF {
				return encodeBodyEnd(r.Handle, req.Trailers())
			}
			return nil // the abort reaches the consumer from the response side
		})
}
