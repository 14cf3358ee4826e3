package bridge

import (
	"encoding/json"
	"fmt"

	"github.com/zig-h3/h3bun/server"
)

// RouteSpec is the JSON form of a routing table whose routes go to the
// event queue (zig_h3_server_set_event_routes): {"routes":[{"method":"GET",
// "pattern":"/x","tag":1,"streaming":false}],"fallback":0}. A missing or
// null fallback means unmatched requests get 404/405. A route with "static"
// is answered by the server itself (server.StaticHandler), never queued:
// {"status":200,"head":"<base64 of name\0value\0...>","body":"<base64>"},
// or with "file":"/path" instead of body.
type RouteSpec struct {
	Routes            []RouteSpecEntry `json:"routes"`
	Fallback          *uint32          `json:"fallback"`
	FallbackStreaming bool             `json:"fallbackStreaming"`
}

// RouteSpecEntry is one route of a RouteSpec: an event route, or a static
// one answered by the server.
type RouteSpecEntry struct {
	Method  string `json:"method"`
	Pattern string `json:"pattern"`
	EventRoute
	Static *StaticSpec `json:"static"`
}

// route makes the server route of e on b, whose event queue is q.
func (e *RouteSpecEntry) route(b *Server, q *EventQueue) (server.Route, error) {
	switch {
	case e.Static == nil:
		return e.EventRoute.route(b, q), nil
	case e.Streaming || e.Datagrams || e.WebTransport:
		return server.Route{}, fmt.Errorf("static: a static route cannot stream or carry datagrams or sessions")
	}
	rt, err := e.Static.route()
	if err != nil {
		return rt, fmt.Errorf("static: %v", err)
	}
	return rt, nil
}

// StaticSpec is the "static" object of a route: a response fixed in advance.
type StaticSpec struct {
	Status int    `json:"status"`
	Head   []byte `json:"head"` // base64 of "name\0value\0..." (DecodeHeaders)
	Body   []byte `json:"body"` // base64
	File   string `json:"file"` // instead of body: a file read at each request
}

// route makes the server route of a static spec.
func (st *StaticSpec) route() (server.Route, error) {
	fields, err := DecodeHeaders(st.Head)
	if err != nil {
		return server.Route{}, fmt.Errorf("%w: head is not name\\0value\\0 pairs", server.ErrInvalidArgument)
	}
	var h *server.StaticHandler
	switch {
	case st.File == "":
		h, err = server.NewStaticHandler(st.Status, fields, st.Body)
	case len(st.Body) > 0:
		err = fmt.Errorf("%w: a static file has no body", server.ErrInvalidArgument)
	default:
		h, err = server.NewStaticFileHandler(st.Status, fields, st.File)
	}
	if err != nil {
		return server.Route{}, err
	}
	return h.Route(), nil
}

// EventRoutes builds a routing table from a RouteSpec in JSON, creating
// the event queue if needed.
func (b *Server) EventRoutes(spec []byte) (*server.Routes, error) {
	var rs RouteSpec
	if err := json.Unmarshal(spec, &rs); err != nil {
		return nil, fmt.Errorf("%w: route spec: %v", server.ErrInvalidArgument, err)
	}
	q, err := b.EventQueue()
	if err != nil {
		return nil, err
	}
	var rb server.RouterBuilder[*server.Route]
	for _, r := range rs.Routes {
		rt, err := r.route(b, q)
		if err != nil {
			return nil, fmt.Errorf("%w: route %s %s: %v", server.ErrInvalidArgument, r.Method, r.Pattern, err)
		}
		if err := rb.Add(r.Method, r.Pattern, &rt); err != nil {
			return nil, fmt.Errorf("%w: %v", server.ErrInvalidArgument, err)
		}
	}
	var fallback *server.Route
	if rs.Fallback != nil {
		rt := EventRoute{Tag: *rs.Fallback, Streaming: rs.FallbackStreaming}.route(b, q)
		fallback = &rt
	}
	return server.NewRoutes(&rb, fallback), nil
}

// SetEventRoutes replaces the routing table with the routes of spec (see
// RouteSpec), creating the event queue if needed; allowed before and after
// Start.
func (b *Server) SetEventRoutes(spec []byte) error {
	routes, err := b.EventRoutes(spec)
	if err != nil {
		return err
	}
	b.SetRoutes(routes)
	return nil
}
