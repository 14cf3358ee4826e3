package main

/*
#include <stdlib.h>
#include "bridge.h"
*/
import "C"

import (
	"unsafe"

	"github.com/zig-h3/h3bun/bridge"
	"github.com/zig-h3/h3bun/server"
)

var versionString = C.CString("0.1.0 (quic-go v0.64.1)")

//export zig_h3_version
func zig_h3_version() *C.char { return versionString }

//export zig_h3_server_new
func zig_h3_server_new(cfg *C.zig_h3_server_config) *C.zig_h3_server {
	var c server.Config
	if cfg != nil {
		c = server.Config{
			CertPath:           goStringOrEmpty(cfg.cert_path),
			KeyPath:            goStringOrEmpty(cfg.key_path),
			BindAddr:           goStringOrEmpty(cfg.bind_addr),
			Port:               int(cfg.bind_port),
			EnableDatagrams:    cfg.enable_dgram != 0,
			EnableWebTransport: cfg.enable_webtransport != 0,
			QlogDir:            goStringOrEmpty(cfg.qlog_dir),
			LogLevel:           int(cfg.log_level),
		}
	}
	s, err := bridge.NewServer(c)
	if err != nil {
		result(err)
		return nil
	}
	return (*C.zig_h3_server)(handlePointer(s.Handle))
}

func goStringOrEmpty(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

//export zig_h3_server_free
func zig_h3_server_free(h *C.zig_h3_server) C.int {
	s, code := take(bridge.Servers, handleOf(unsafe.Pointer(h)), "server")
	if s == nil {
		return code
	}
	s.Close()
	return C.ZIG_H3_OK
}

//export zig_h3_server_start
func zig_h3_server_start(h *C.zig_h3_server) C.int {
	s, code := lookupServer(h)
	if s == nil {
		return code
	}
	return result(s.Start())
}

//export zig_h3_server_stop
func zig_h3_server_stop(h *C.zig_h3_server, force C.uint8_t) C.int {
	s, code := lookupServer(h)
	if s == nil {
		return code
	}
	return result(s.Stop(force != 0))
}

//export zig_h3_server_stop_async
func zig_h3_server_stop_async(h *C.zig_h3_server, force C.uint8_t) C.int {
	s, code := lookupServer(h)
	if s == nil {
		return code
	}
	return result(s.StopAsync(force != 0))
}

//export zig_h3_server_port
func zig_h3_server_port(h *C.zig_h3_server) C.int {
	s, code := lookupServer(h)
	if s == nil {
		return code
	}
	return C.int(s.Port())
}

//export zig_h3_server_certificate_hash
func zig_h3_server_certificate_hash(h *C.zig_h3_server, out *C.uint8_t) C.int {
	s, code := lookupServer(h)
	if s == nil {
		return code
	}
	if out == nil {
		return invalid("out32 is NULL")
	}
	sum := s.CertificateHash()
	copy(unsafe.Slice((*byte)(unsafe.Pointer(out)), len(sum)), sum[:])
	if s.DevCertificate() {
		return 1
	}
	return 0
}

//export zig_h3_server_route
func zig_h3_server_route(h *C.zig_h3_server, method, pattern *C.char, cb C.zig_h3_request_cb,
	dgramCb C.zig_h3_datagram_cb, wtCb C.zig_h3_wt_session_cb, user unsafe.Pointer) C.int {
	s, code := lookupServer(h)
	if s == nil {
		return code
	}
	if method == nil || pattern == nil || cb == nil {
		return invalid("method, pattern and callback must not be NULL")
	}
	r := cRoute{b: s, cb: cb, dgram: dgramCb, wt: wtCb, user: user}
	return result(s.Route(C.GoString(method), C.GoString(pattern), r.route(r)))
}

//export zig_h3_server_set_log
func zig_h3_server_set_log(h *C.zig_h3_server, cb C.zig_h3_log_cb, user unsafe.Pointer) C.int {
	s, code := lookupServer(h)
	if s == nil {
		return code
	}
	if cb == nil {
		s.SetLog(nil)
		return C.ZIG_H3_OK
	}
	s.SetLog(func(_ int, line string) {
		cs := C.CString(line)
		defer C.free(unsafe.Pointer(cs))
		C.zig_h3_call_log_cb(cb, user, cs)
	})
	return C.ZIG_H3_OK
}

//export zig_h3_server_stats
func zig_h3_server_stats(h *C.zig_h3_server, out *C.struct_zig_h3_server_stats) C.int {
	s, code := lookupServer(h)
	if s == nil {
		return code
	}
	if out == nil {
		return invalid("out is NULL")
	}
	st := s.Stats()
	out.connections_total = C.uint64_t(st.ConnectionsTotal)
	out.connections_active = C.uint64_t(st.ConnectionsActive)
	out.requests_total = C.uint64_t(st.RequestsTotal)
	out.uptime_ms = C.int64_t(st.UptimeMs)
	return C.ZIG_H3_OK
}

//export zig_h3_server_counters
func zig_h3_server_counters(h *C.zig_h3_server, out *C.uint64_t, n C.size_t) C.int {
	s, code := lookupServer(h)
	if s == nil {
		return code
	}
	if out == nil && n > 0 {
		return invalid("out is NULL")
	}
	st := s.Stats()
	all := [C.ZIG_H3_COUNTER_COUNT]uint64{
		C.ZIG_H3_COUNTER_CONNECTIONS_TOTAL:   st.ConnectionsTotal,
		C.ZIG_H3_COUNTER_CONNECTIONS_ACTIVE:  st.ConnectionsActive,
		C.ZIG_H3_COUNTER_REQUESTS_TOTAL:      st.RequestsTotal,
		C.ZIG_H3_COUNTER_UPTIME_MS:           uint64(st.UptimeMs),
		C.ZIG_H3_COUNTER_REQUESTS_ACTIVE:     st.RequestsActive,
		C.ZIG_H3_COUNTER_REQUESTS_REJECTED:   st.RequestsRejected,
		C.ZIG_H3_COUNTER_EVENTS_DROPPED:      st.EventsDropped,
		C.ZIG_H3_COUNTER_DATAGRAMS_RECEIVED:  st.DatagramsReceived,
		C.ZIG_H3_COUNTER_DATAGRAMS_SENT:      st.DatagramsSent,
		C.ZIG_H3_COUNTER_DATAGRAMS_DROPPED:   st.DatagramsDropped,
		C.ZIG_H3_COUNTER_SESSIONS_ACTIVE:     st.SessionsActive,
		C.ZIG_H3_COUNTER_REQUESTS_TIMED_OUT:  st.RequestsTimedOut,
		C.ZIG_H3_COUNTER_CONNECTIONS_REFUSED: st.ConnectionsRefused,
		C.ZIG_H3_COUNTER_GOROUTINES:          st.Goroutines,
		C.ZIG_H3_COUNTER_REQUESTS_HTTP1:      st.RequestsHTTP1,
		C.ZIG_H3_COUNTER_REQUESTS_HTTP2:      st.RequestsHTTP2,
		C.ZIG_H3_COUNTER_REQUESTS_HTTP3:      st.RequestsHTTP3,
	}
	k := len(all)
	if uint64(n) < uint64(k) {
		k = int(n)
	}
	if k > 0 {
		copy(unsafe.Slice((*uint64)(unsafe.Pointer(out)), k), all[:])
	}
	return C.int(k)
}

// cRoute calls a C request callback. The request is laid out in one C
// allocation freed when the callback returns.
type cRoute struct {
	b     *bridge.Server
	cb    C.zig_h3_request_cb
	dgram C.zig_h3_datagram_cb   // may be NULL
	wt    C.zig_h3_wt_session_cb // may be NULL
	user  unsafe.Pointer
}

// route is the server route of r answered by h (r itself, or a streaming
// route built on it).
func (r cRoute) route(h server.Handler) server.Route {
	rt := server.Route{Handler: h, Finished: r.b.FinishStreamResponse}
	if r.dgram != nil {
		rt.Datagrams = r.datagramSink
	}
	if r.wt != nil {
		rt.Sessions = r.serveSession
	}
	return rt
}

// datagramSink calls the route's datagram callback with a request struct
// that lives as long as the response.
func (r cRoute) datagramSink(req *server.Request, res *server.Response) func([]byte) {
	creq := newCRequest(req)
	go func() {
		<-res.Done()
		C.free(unsafe.Pointer(creq))
	}()
	resp := (*C.zig_h3_response)(handlePointer(bridge.ResponseHandle(res)))
	return func(b []byte) {
		p, n := bytesPointer(b)
		C.zig_h3_call_datagram_cb(r.dgram, r.user, creq, resp, p, n)
	}
}

// serveSession calls the route's session callback; the session is accepted
// or rejected with zig_h3_wt_accept / zig_h3_wt_reject, then or later.
func (r cRoute) serveSession(req *server.Request, sess *server.Session) {
	s := r.b.OpenSession(sess)
	creq := newCRequest(req)
	defer C.free(unsafe.Pointer(creq))
	C.zig_h3_call_wt_session_cb(r.wt, r.user, creq, (*C.zig_h3_wt_session)(handlePointer(s.Handle)))
}

// ServeRequest implements server.Handler.
func (r cRoute) ServeRequest(req *server.Request, res *server.Response) {
	h := r.b.OpenStreamResponse(req, res).Handle
	creq := newCRequest(req)
	defer C.free(unsafe.Pointer(creq))
	C.zig_h3_call_request_cb(r.cb, r.user, creq, (*C.zig_h3_response)(handlePointer(h)))
	if r.dgram != nil {
		res.FlushHead() // the datagram flow starts with the head
	}
}

// newCRequest copies req into a single C allocation: the struct, then the
// header array, then the strings and the body.
func newCRequest(req *server.Request) *C.zig_h3_request {
	const reqSize = C.sizeof_zig_h3_request
	const hdrSize = C.sizeof_zig_h3_header
	size := reqSize + len(req.Header)*hdrSize + len(req.Method) + len(req.Path) + len(req.Authority) + len(req.ConnID) + len(req.Body)
	for _, f := range req.Header {
		size += len(f.Name) + len(f.Value)
	}
	base := C.malloc(C.size_t(size))
	mem := unsafe.Slice((*byte)(base), size)
	creq := (*C.zig_h3_request)(base)
	*creq = C.zig_h3_request{}
	off := reqSize + len(req.Header)*hdrSize
	put := func(b []byte) (*C.char, C.size_t) {
		if len(b) == 0 {
			return (*C.char)(base), 0 // non-NULL, empty
		}
		p := (*C.char)(unsafe.Pointer(&mem[off]))
		off += copy(mem[off:], b)
		return p, C.size_t(len(b))
	}
	putString := func(s string) (*C.char, C.size_t) { return put(unsafe.Slice(unsafe.StringData(s), len(s))) }
	creq.method, creq.method_len = putString(req.Method)
	creq.path, creq.path_len = putString(req.Path)
	creq.authority, creq.authority_len = putString(req.Authority)
	if len(req.Header) > 0 {
		hdrs := unsafe.Slice((*C.zig_h3_header)(unsafe.Pointer(&mem[reqSize])), len(req.Header))
		for i, f := range req.Header {
			hdrs[i].name, hdrs[i].name_len = putString(f.Name)
			hdrs[i].value, hdrs[i].value_len = putString(f.Value)
		}
		creq.headers, creq.headers_len = &hdrs[0], C.size_t(len(hdrs))
	}
	creq.stream_id = C.uint64_t(req.StreamID)
	if len(req.ConnID) > 0 {
		p, n := put(req.ConnID)
		creq.conn_id, creq.conn_id_len = (*C.uint8_t)(unsafe.Pointer(p)), n
	}
	if len(req.Body) > 0 {
		p, n := put(req.Body)
		creq.body, creq.body_len = (*C.uint8_t)(unsafe.Pointer(p)), n
	}
	return creq
}

//export zig_h3_server_set_options
func zig_h3_server_set_options(h *C.zig_h3_server, spec *C.char, n C.size_t) C.int {
	return withSpec(h, spec, n, (*bridge.Server).SetOptions)
}

// withSpec resolves a server handle and a non-empty (spec, n) argument,
// then calls f with them.
func withSpec(h *C.zig_h3_server, spec *C.char, n C.size_t, f func(*bridge.Server, []byte) error) C.int {
	s, code := lookupServer(h)
	if s == nil {
		return code
	}
	b, ok := bytesArg(unsafe.Pointer(spec), n)
	if !ok || b == nil {
		return invalid("spec is NULL or empty")
	}
	return result(f(s, b))
}
