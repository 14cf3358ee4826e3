package bridge

import (
	"net/http"

	"github.com/zig-h3/h3bun/server"
)

// EventRoute is a route whose requests go to the event queue: each one
// becomes an EventRequest carrying Tag, so the consumer knows which of its
// handlers to run, and stays open until the consumer answers it by handle.
type EventRoute struct {
	Tag uint32 `json:"tag"`
	// Streaming delivers the body as EventBodyChunk/EventBodyEnd events
	// after the request event, paced by Response.AckBody.
	Streaming bool `json:"streaming"`
	// Datagrams makes the route exchange HTTP/3 datagrams (EventH3Datagram).
	Datagrams bool `json:"datagrams"`
	// WebTransport makes the route accept WebTransport sessions (EventSession).
	WebTransport bool `json:"webtransport"`
}

// route is the server route of r on the server b, whose event queue is q.
func (r EventRoute) route(b *Server, q *EventQueue) server.Route {
	h := queueHandler{b: b, q: q, tag: r.Tag, streaming: r.Streaming}
	rt := server.Route{Handler: h, StreamBody: r.Streaming, Finished: FinishResponse}
	if r.Datagrams {
		rt.Datagrams = h.datagramSink
	}
	if r.WebTransport {
		rt.Sessions = h.serveSession
	}
	return rt
}

// queueHandler hands requests to the event queue. When the queue is full
// the request waits (the client is slowed down by QUIC flow control,
// memory does not grow); when it cannot be queued at all the client gets 503.
type queueHandler struct {
	b         *Server
	q         *EventQueue
	tag       uint32
	streaming bool
}

// ServeRequest implements server.Handler.
func (h queueHandler) ServeRequest(req *server.Request, res *server.Response) {
	var c *credit
	if h.streaming {
		c = newCredit()
	}
	r := openResponse(res, c)
	res.SetAutoEnd(false)
	res.OnWritable(func() { _ = h.q.PushControl(encodeWritable(r.Handle)) })
	if QueuedResponseHooks.Open != nil {
		QueuedResponseHooks.Open(r.Handle)
	}
	if err := h.q.PushWait(req.Context, encodeRequest(r.Handle, h.tag, req)); err != nil {
		_ = res.Reject(http.StatusServiceUnavailable)
		return
	}
	r.q = h.q // from now on the consumer knows the request: tell it how it ends
	if h.streaming {
		req.GoBody(func() { r.pumpBody(req) })
	}
}

// serveSession hands a session request to the event queue as an
// EventSession carrying the session handle; the consumer accepts or
// rejects it.
func (h queueHandler) serveSession(req *server.Request, sess *server.Session) {
	s := h.b.OpenSession(sess)
	if s.q.PushWait(req.Context, encodeHead(EventSession, s.Handle, h.tag, req)) != nil {
		_ = sess.Reject(http.StatusServiceUnavailable)
	}
}

// datagramSink is the Route.Datagrams of event routes: each HTTP/3
// datagram becomes an EventH3Datagram (dropped and counted when the queue
// is full).
func (h queueHandler) datagramSink(_ *server.Request, res *server.Response) func([]byte) {
	handle := ResponseHandle(res)
	return func(p []byte) {
		if h.q.TryPush(encodeH3Datagram(handle, p)) != nil {
			h.b.datagramsDropped.Add(1)
		}
	}
}
