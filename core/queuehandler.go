package core

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// QueueHandler hands each request to the server's event queue as an
// EventRequest carrying Tag, so the consumer knows which of its handlers to
// run. The response stays open until the consumer answers it by id. When
// the queue is full the request waits (the client is slowed down by QUIC
// flow control, memory does not grow); when it cannot be queued at all the
// client gets 503.
type QueueHandler struct {
	Server *Server
	Tag    uint32
	// Streaming delivers the body as EventBodyChunk/EventBodyEnd events
	// after the request event, paced by Response.AckBody.
	Streaming bool
	// Datagrams makes the route exchange HTTP/3 datagrams (EventH3Datagram).
	Datagrams bool
	// WebTransport makes the route accept WebTransport sessions (EventSession).
	WebTransport bool
}

// HandlesDatagrams implements DatagramRoute.
func (h QueueHandler) HandlesDatagrams() bool { return h.Datagrams }

// DatagramSink implements DatagramRoute.
func (h QueueHandler) DatagramSink(_ *Request, res *Response) func([]byte) {
	q := h.Server.events.Load()
	if q == nil {
		return func([]byte) { h.Server.datagramsDropped.Add(1) }
	}
	return h.Server.queueDatagramDelivery(q, res)
}

// AcceptsSessions implements SessionHandler.
func (h QueueHandler) AcceptsSessions() bool { return h.WebTransport }

// ServeSession implements SessionHandler: an EventSession carrying the
// session handle; the consumer accepts or rejects it.
func (h QueueHandler) ServeSession(req *Request, sess *Session) {
	q := h.Server.events.Load()
	if q == nil || q.PushWait(req.Context, encodeHead(EventSession, sess.Handle, h.Tag, req)) != nil {
		_ = sess.Reject(http.StatusServiceUnavailable)
	}
}

// StreamsBody implements BodyStreamer.
func (h QueueHandler) StreamsBody() bool { return h.Streaming }

// ServeRequest implements Handler.
func (h QueueHandler) ServeRequest(req *Request, res *Response) {
	q := h.Server.events.Load()
	if q == nil {
		_ = res.SetStatus(http.StatusServiceUnavailable)
		return
	}
	var c *credit
	if h.Streaming {
		c = newCredit()
	}
	res.mu.Lock()
	res.autoEnd, res.queued, res.bodyCredit = false, true, c
	res.onWritable = func() { _ = q.PushControl(encodeWritable(res.ID)) }
	res.mu.Unlock()
	if err := q.PushWait(req.Context, encodeRequest(res.ID, h.Tag, req)); err != nil {
		h.Server.requestsRejected.Add(1)
		_ = res.Respond(http.StatusServiceUnavailable, nil, nil, true)
		return
	}
	if h.Streaming {
		req.GoBody(func() { pumpBodyToQueue(q, req, res, c) })
	}
}

// QueueRouteSpec is the JSON form of a routing table whose routes go to
// the event queue: {"routes":[{"method":"GET","pattern":"/x","tag":1,
// "streaming":false}],"fallback":0}. A missing or null fallback means
// unmatched requests get 404/405. A route with "static" is answered by the
// server itself (StaticHandler), never queued: {"status":200,"head":
// "<base64 of name\0value\0...>","body":"<base64>"}, or with "file":"/path"
// instead of body.
type QueueRouteSpec struct {
	Routes []struct {
		Method       string `json:"method"`
		Pattern      string `json:"pattern"`
		Tag          uint32 `json:"tag"`
		Streaming    bool   `json:"streaming"`
		Datagrams    bool   `json:"datagrams"`
		WebTransport bool   `json:"webtransport"`
		Static       *struct {
			Status int    `json:"status"`
			Head   []byte `json:"head"` // base64 of "name\0value\0..." (DecodeHeaders)
			Body   []byte `json:"body"` // base64
			File   string `json:"file"` // instead of body: a file read at each request
		} `json:"static"`
	} `json:"routes"`
	Fallback          *uint32 `json:"fallback"`
	FallbackStreaming bool    `json:"fallbackStreaming"`
}

// staticHandler makes the handler of a route's "static" object.
func staticHandler(streamsOrFlows bool, status int, head, body []byte, file string) (*StaticHandler, error) {
	if streamsOrFlows {
		return nil, fmt.Errorf("%w: a static route cannot stream or carry datagrams or sessions", ErrInvalidArgument)
	}
	fields, err := DecodeHeaders(head)
	if err != nil {
		return nil, fmt.Errorf("%w: head is not name\\0value\\0 pairs", ErrInvalidArgument)
	}
	if file == "" {
		return NewStaticHandler(status, fields, body)
	}
	if len(body) > 0 {
		return nil, fmt.Errorf("%w: a static file has no body", ErrInvalidArgument)
	}
	return NewStaticFileHandler(status, fields, file)
}

// QueueRoutes builds a routing table from a QueueRouteSpec in JSON.
func (s *Server) QueueRoutes(spec []byte) (*Routes, error) {
	var rs QueueRouteSpec
	if err := json.Unmarshal(spec, &rs); err != nil {
		return nil, fmt.Errorf("%w: route spec: %v", ErrInvalidArgument, err)
	}
	var b RouterBuilder[Handler]
	for _, r := range rs.Routes {
		var h Handler = QueueHandler{Server: s, Tag: r.Tag, Streaming: r.Streaming, Datagrams: r.Datagrams, WebTransport: r.WebTransport}
		if st := r.Static; st != nil {
			var err error
			if h, err = staticHandler(r.Streaming || r.Datagrams || r.WebTransport, st.Status, st.Head, st.Body, st.File); err != nil {
				return nil, fmt.Errorf("%w: route %s %s: static: %v", ErrInvalidArgument, r.Method, r.Pattern, err)
			}
		}
		if err := b.Add(r.Method, r.Pattern, h); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidArgument, err)
		}
	}
	var fallback Handler
	if rs.Fallback != nil {
		fallback = QueueHandler{Server: s, Tag: *rs.Fallback, Streaming: rs.FallbackStreaming}
	}
	return NewRoutes(&b, fallback), nil
}
