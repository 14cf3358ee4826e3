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

// Callback mode: the original ABI's fetches, identified by their stream id.

// maxFetchHeaders bounds the header array of a zig_h3_fetch_options.
const maxFetchHeaders = 1 << 16

// bodyBits are the bits of zig_h3_fetch_options.stream_body.
const bodyBits = C.ZIG_H3_FETCH_RESPONSE_BODY_STREAMED | C.ZIG_H3_FETCH_REQUEST_BODY_STREAMED | C.ZIG_H3_FETCH_DATAGRAM_FLOW

// The fetch event types of bridge are those of the header (an index out
// of range does not compile).
var (
	_ = [1]struct{}{}[bridge.FetchEventHeaders-C.ZIG_H3_FETCH_EVENT_HEADERS]
	_ = [1]struct{}{}[bridge.FetchEventData-C.ZIG_H3_FETCH_EVENT_DATA]
	_ = [1]struct{}{}[bridge.FetchEventTrailers-C.ZIG_H3_FETCH_EVENT_TRAILERS]
	_ = [1]struct{}{}[bridge.FetchEventFinished-C.ZIG_H3_FETCH_EVENT_FINISHED]
	_ = [1]struct{}{}[bridge.FetchEventDatagram-C.ZIG_H3_FETCH_EVENT_DATAGRAM]
	_ = [1]struct{}{}[bridge.FetchEventStarted-C.ZIG_H3_FETCH_EVENT_STARTED]
	_ = [1]struct{}{}[bridge.FetchEventWritable-C.ZIG_H3_FETCH_EVENT_WRITABLE]
)

//export zig_h3_client_set_datagram_callback
func zig_h3_client_set_datagram_callback(h *C.zig_h3_client, cb C.zig_h3_client_datagram_cb, user unsafe.Pointer) C.int {
	c, code := lookupClient(h)
	if c == nil {
		return code
	}
	if cb == nil {
		c.SetDatagramHandler(nil)
		return C.ZIG_H3_OK
	}
	c.SetDatagramHandler(func(flow uint64, b []byte) {
		p, n := bytesPointer(b) // no Go pointers inside: C may borrow it for the call
		C.zig_h3_call_client_datagram_cb(cb, user, C.uint64_t(flow), p, n)
	})
	return C.ZIG_H3_OK
}

//export zig_h3_client_fetch
func zig_h3_client_fetch(h *C.zig_h3_client, opts *C.zig_h3_fetch_options, sidOut *C.uint64_t, cb C.zig_h3_fetch_cb, user unsafe.Pointer) C.int {
	c, code := lookupClient(h)
	if c == nil {
		return code
	}
	if opts == nil {
		return invalid("options is NULL")
	}
	r, o, msg := fetchOptions(opts)
	if msg != "" {
		return invalid(msg)
	}
	return startCallbackFetch(c, r, o, opts.event_cb, opts.event_user, cb, user, sidOut)
}

// fetchOptions reads a zig_h3_fetch_options; msg says what is wrong.
func fetchOptions(opts *C.zig_h3_fetch_options) (*bridge.FetchRequest, bridge.FetchOptions, string) {
	var o bridge.FetchOptions
	method, ok1 := stringArg(opts.method, opts.method_len)
	path, ok2 := stringArg(opts.path, opts.path_len)
	body, ok3 := bytesArg(unsafe.Pointer(opts.body), opts.body_len)
	if !ok1 || !ok2 || !ok3 {
		return nil, o, "method, path or body is NULL with a non-zero length"
	}
	if opts.stream_body&^bodyBits != 0 {
		return nil, o, "unknown stream_body bit"
	}
	fields, msg := headerArray(opts.headers, opts.headers_len)
	if msg != "" {
		return nil, o, msg
	}
	r, err := bridge.NewFetchRequest(method, path, fields)
	if err != nil {
		return nil, o, err.Error()
	}
	o = bridge.FetchOptions{Body: body, StreamBody: opts.stream_body&C.ZIG_H3_FETCH_REQUEST_BODY_STREAMED != 0,
		StreamResponse: opts.stream_body&C.ZIG_H3_FETCH_RESPONSE_BODY_STREAMED != 0,
		DatagramFlow:   opts.stream_body&C.ZIG_H3_FETCH_DATAGRAM_FLOW != 0, Collect: opts.collect_body != 0,
		Timeout: millis(opts.request_timeout_ms)}
	return r, o, ""
}

// headerArray reads n zig_h3_header (copied).
func headerArray(hdrs *C.zig_h3_header, n C.size_t) ([]server.HeaderField, string) {
	if n == 0 {
		return nil, ""
	}
	if hdrs == nil || n > maxFetchHeaders {
		return nil, "headers is NULL with a non-zero length, or too many headers"
	}
	fields := make([]server.HeaderField, 0, int(n))
	for _, h := range unsafe.Slice(hdrs, int(n)) {
		name, ok1 := stringArg(h.name, h.name_len)
		value, ok2 := stringArg(h.value, h.value_len)
		if !ok1 || !ok2 {
			return nil, "a header name or value is NULL with a non-zero length"
		}
		fields = append(fields, server.HeaderField{Name: name, Value: value})
	}
	return fields, ""
}

// startCallbackFetch starts a fetch whose events go to the C callbacks
// and writes its stream id to sidOut (may be NULL).
func startCallbackFetch(c *bridge.Client, r *bridge.FetchRequest, o bridge.FetchOptions, ecb C.zig_h3_fetch_event_cb,
	euser unsafe.Pointer, cb C.zig_h3_fetch_cb, user unsafe.Pointer, sidOut *C.uint64_t) C.int {
	if ecb != nil {
		o.Event = func(ev *bridge.FetchEvent) { callFetchEvent(ecb, euser, ev) }
	}
	if cb != nil {
		o.Done = func(res *bridge.FetchResult) { callFetchDone(cb, user, res) }
	}
	f, err := c.Fetch(r, o)
	if err != nil {
		return result(err)
	}
	if sidOut != nil {
		sid, _ := f.StreamID()
		*sidOut = C.uint64_t(sid)
	}
	return C.ZIG_H3_OK
}

//export zig_h3_client_fetch_simple
func zig_h3_client_fetch_simple(h *C.zig_h3_client, method, path *C.char, collect, streamBody C.uint8_t, timeoutMs C.uint32_t,
	ecb C.zig_h3_fetch_event_cb, euser unsafe.Pointer, cb C.zig_h3_fetch_cb, user unsafe.Pointer, sidOut *C.uint64_t) C.int {
	c, code := lookupClient(h)
	if c == nil {
		return code
	}
	m, ok1 := optionalCString(method)
	p, ok2 := optionalCString(path)
	if !ok1 || !ok2 {
		return invalid("method or path is too long")
	}
	if streamBody&^bodyBits != 0 {
		return invalid("unknown stream_body bit")
	}
	r, err := bridge.NewFetchRequest(m, p, nil)
	if err != nil {
		return result(err)
	}
	o := bridge.FetchOptions{StreamBody: streamBody&C.ZIG_H3_FETCH_REQUEST_BODY_STREAMED != 0,
		StreamResponse: streamBody&C.ZIG_H3_FETCH_RESPONSE_BODY_STREAMED != 0, Collect: collect != 0, Timeout: millis(timeoutMs),
		DatagramFlow: streamBody&C.ZIG_H3_FETCH_DATAGRAM_FLOW != 0}
	return startCallbackFetch(c, r, o, ecb, euser, cb, user, sidOut)
}

// optionalCString reads a NUL-terminated string that may be NULL ("").
func optionalCString(p *C.char) (string, bool) {
	if p == nil {
		return "", true
	}
	return cStringArg(p, 1<<16)
}

// fetchOfStream finds the callback-mode fetch on stream sid of client h.
func fetchOfStream(h *C.zig_h3_client, sid C.uint64_t) (*bridge.Fetch, C.int) {
	c, code := lookupClient(h)
	if c == nil {
		return nil, code
	}
	f, ok := c.FetchByStream(uint64(sid))
	if !ok {
		return nil, fail(C.ZIG_H3_ERR_STATE, "no fetch runs on that stream (unknown or finished)")
	}
	return f, C.ZIG_H3_OK
}

//export zig_h3_client_write_body
func zig_h3_client_write_body(h *C.zig_h3_client, sid C.uint64_t, data *C.uint8_t, n C.size_t, fin C.uint8_t) C.int64_t {
	f, code := fetchOfStream(h, sid)
	if f == nil {
		return C.int64_t(code)
	}
	return writeFetch(f, data, n, fin)
}

//export zig_h3_client_cancel_fetch
func zig_h3_client_cancel_fetch(h *C.zig_h3_client, sid C.uint64_t, errCode C.int32_t) C.int {
	f, code := fetchOfStream(h, sid)
	if f == nil {
		return code
	}
	if errCode < 0 {
		return invalid("negative error code")
	}
	f.Cancel(uint32(errCode))
	return C.ZIG_H3_OK
}

//export zig_h3_client_send_h3_datagram
func zig_h3_client_send_h3_datagram(h *C.zig_h3_client, sid C.uint64_t, data *C.uint8_t, n C.size_t) C.int {
	f, code := fetchOfStream(h, sid)
	if f == nil {
		return code
	}
	return sendDatagram(f, data, n)
}
