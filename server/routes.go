package server

import "fmt"

// Handler answers requests. ServeRequest runs on the request's own
// goroutine; everything in req stays valid until the response finishes.
type Handler interface {
	ServeRequest(req *Request, res *Response)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(req *Request, res *Response)

// ServeRequest calls f.
func (f HandlerFunc) ServeRequest(req *Request, res *Response) { f(req, res) }

// DatagramSink makes the receiver of the HTTP/3 datagrams of one request:
// it is called once the response is set up, and the function it returns
// is called with each datagram (payload valid only during the call).
type DatagramSink func(req *Request, res *Response) (deliver func(payload []byte))

// SessionHandler takes a WebTransport session request: it accepts or
// rejects sess, now or later (see Session).
type SessionHandler func(req *Request, sess *Session)

// Route is what the server does with the requests of one method and
// pattern: plain data, set once when the route is added.
type Route struct {
	// Handler answers the requests. Required.
	Handler Handler
	// StreamBody hands the request body to the handler as it arrives
	// (Request.ReadBody) instead of buffered in Request.Body. The handler
	// runs on the head.
	StreamBody bool
	// Datagrams, when set, makes the route exchange HTTP/3 datagrams
	// (RFC 9297) on each request: once the response head is sent, the
	// stream carries datagrams both ways until the response ends. The
	// request body streams (the client keeps the request open meanwhile).
	Datagrams DatagramSink
	// Sessions, when set, makes the route accept WebTransport sessions
	// (Extended CONNECT); the server needs Config.EnableWebTransport.
	Sessions SessionHandler
	// Finished, when set, is called once the serving of each request the
	// handler ran for has ended: after the response, and for a streaming
	// body after its pumps (Request.GoBody). For what a consumer keeps per
	// request.
	Finished func(req *Request, res *Response, outcome Outcome)
}

// streams reports whether the request body is read as it arrives.
func (r *Route) streams() bool { return r.StreamBody || r.Datagrams != nil }

// Routes is an immutable routing table: a router and an optional fallback
// for requests no route matches.
type Routes struct {
	router   *Router[*Route]
	fallback *Route
}

// NewRoutes builds a routing table from b and fallback (which may be nil).
func NewRoutes(b *RouterBuilder[*Route], fallback *Route) *Routes {
	return &Routes{router: b.Build(), fallback: fallback}
}

// match returns the route for a request, the fallback when none matches,
// or nil with the methods the path allows.
func (rs *Routes) match(method, path string) (*Route, Match[*Route]) {
	m := rs.router.Match(method, path)
	if m.Found {
		return m.Value, m
	}
	return rs.fallback, m
}

// checkRoute rejects a route without a handler.
func checkRoute(rt Route) error {
	if rt.Handler == nil {
		return fmt.Errorf("%w: nil handler", ErrInvalidArgument)
	}
	return nil
}

// Route adds a route; only before Start.
func (s *Server) Route(method, pattern string, rt Route) error {
	if err := checkRoute(rt); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateNew {
		return fmt.Errorf("%w: routes can be added only before start", ErrState)
	}
	if err := s.builder.Add(method, pattern, &rt); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	return nil
}

// HandleFunc adds a route with a buffered body answered by f; only before
// Start.
func (s *Server) HandleFunc(method, pattern string, f HandlerFunc) error {
	return s.Route(method, pattern, Route{Handler: f})
}

// SetFallback sets the route for requests no route matches; only before
// Start.
func (s *Server) SetFallback(rt Route) error {
	if err := checkRoute(rt); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateNew {
		return fmt.Errorf("%w: the fallback can be set only before start", ErrState)
	}
	s.fallback = &rt
	return nil
}

// SetRoutes replaces the whole routing table at any time, also while
// running: requests already dispatched keep their route.
func (s *Server) SetRoutes(r *Routes) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes.Store(r)
	if s.state == stateNew {
		s.builder = RouterBuilder[*Route]{}
		s.fallback = nil
	}
}
