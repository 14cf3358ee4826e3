package main

/*
#include <string.h>
#include "bridge.h"
*/
import "C"

import (
	"time"
	"unsafe"

	"github.com/zig-h3/h3bun/bridge"
)

// maxHostLen bounds the NUL-terminated strings of zig_h3_client_connect.
const maxHostLen = 4096

func lookupClient(h *C.zig_h3_client) (*bridge.Client, C.int) {
	return lookup(bridge.Clients, handleOf(unsafe.Pointer(h)), "client")
}

// cStringArg reads a NUL-terminated string of at most max bytes; ok is
// false when p is NULL or longer.
func cStringArg(p *C.char, max int) (string, bool) {
	if p == nil {
		return "", false
	}
	n := int(C.strnlen(p, C.size_t(max+1)))
	if n > max {
		return "", false
	}
	return C.GoStringN(p, C.int(n)), true
}

func millis(ms C.uint32_t) time.Duration { return time.Duration(ms) * time.Millisecond }

//export zig_h3_client_new
func zig_h3_client_new(cfg *C.zig_h3_client_config) *C.zig_h3_client {
	c := bridge.ClientConfig{VerifyPeer: true}
	if cfg != nil {
		c = bridge.ClientConfig{
			VerifyPeer:         cfg.verify_peer != 0,
			EnableDatagrams:    cfg.enable_dgram != 0,
			EnableWebTransport: cfg.enable_webtransport != 0,
			Debug:              cfg.enable_debug_logging != 0,
			IdleTimeout:        millis(cfg.idle_timeout_ms),
			RequestTimeout:     millis(cfg.request_timeout_ms),
			ConnectTimeout:     millis(cfg.connect_timeout_ms),
		}
	}
	return (*C.zig_h3_client)(handlePointer(bridge.NewClient(c).Handle))
}

//export zig_h3_client_free
func zig_h3_client_free(h *C.zig_h3_client) C.int {
	c, code := take(bridge.Clients, handleOf(unsafe.Pointer(h)), "client")
	if c == nil {
		return code
	}
	c.Free()
	return C.ZIG_H3_OK
}

//export zig_h3_client_set_options
func zig_h3_client_set_options(h *C.zig_h3_client, spec *C.char, n C.size_t) C.int {
	c, code := lookupClient(h)
	if c == nil {
		return code
	}
	b, ok := bytesArg(unsafe.Pointer(spec), n)
	if !ok || b == nil {
		return invalid("spec is NULL or empty")
	}
	return result(c.SetOptions(b))
}

//export zig_h3_client_connect
func zig_h3_client_connect(h *C.zig_h3_client, host *C.char, port C.uint16_t, sni *C.char) C.int {
	c, code := lookupClient(h)
	if c == nil {
		return code
	}
	hostName, ok := cStringArg(host, maxHostLen)
	if !ok || hostName == "" || port == 0 {
		return invalid("host is NULL, empty or too long, or port is 0")
	}
	var sniName string
	if sni != nil {
		if sniName, ok = cStringArg(sni, maxHostLen); !ok {
			return invalid("sni is too long")
		}
	}
	return result(c.Connect(hostName, int(port), sniName))
}

//export zig_h3_client_close
func zig_h3_client_close(h *C.zig_h3_client, errCode C.uint32_t, reason *C.uint8_t, n C.size_t) C.int {
	c, code := lookupClient(h)
	if c == nil {
		return code
	}
	b, ok := bytesArg(unsafe.Pointer(reason), n)
	if !ok {
		return invalid("reason is NULL with a non-zero length")
	}
	return result(c.Close(uint32(errCode), string(b)))
}

//export zig_h3_client_event_fd
func zig_h3_client_event_fd(h *C.zig_h3_client) C.int {
	c, code := lookupClient(h)
	if c == nil {
		return code
	}
	q, err := c.EventQueue()
	if err != nil {
		return result(err)
	}
	return C.int(q.FD())
}

// clientQueue returns the client's event queue if it has one.
func clientQueue(h *C.zig_h3_client) (*bridge.EventQueue, C.int) {
	c, code := lookupClient(h)
	if c == nil {
		return nil, code
	}
	q, err := c.ExistingEventQueue()
	if err != nil {
		return nil, result(err)
	}
	return q, C.ZIG_H3_OK
}

// zigh3_go_client_drain is zig_h3_client_drain's Go path (see
// zigh3_go_server_drain).
//
//export zigh3_go_client_drain
func zigh3_go_client_drain(h *C.zig_h3_client, buf *C.uint8_t, capacity C.size_t) C.int64_t {
	q, code := clientQueue(h)
	if q == nil {
		return C.int64_t(code)
	}
	return drain(q, buf, capacity)
}

//export zig_h3_client_event_size
func zig_h3_client_event_size(h *C.zig_h3_client) C.int64_t {
	q, code := clientQueue(h)
	if q == nil {
		return C.int64_t(code)
	}
	return C.int64_t(q.NextSize())
}

//export zig_h3_client_poll
func zig_h3_client_poll(h *C.zig_h3_client) C.int {
	c, code := lookupClient(h)
	if c == nil {
		return code
	}
	return C.int(min(c.Pending(), 1<<31-1))
}

//export zig_h3_client_run_once
func zig_h3_client_run_once(h *C.zig_h3_client) C.int {
	_, code := lookupClient(h)
	return code // the library's own threads drive the connection
}

//export zig_h3_client_send_datagram
func zig_h3_client_send_datagram(h *C.zig_h3_client, data *C.uint8_t, n C.size_t) C.int {
	c, code := lookupClient(h)
	if c == nil {
		return code
	}
	return sendDatagram(c, data, n)
}

//export zig_h3_client_max_datagram_size
func zig_h3_client_max_datagram_size(h *C.zig_h3_client) C.int {
	c, code := lookupClient(h)
	if c == nil {
		return code
	}
	return C.int(c.MaxDatagramSize())
}

func init() {
	// A free called from a client callback does not wait for the
	// callbacks running: one of them is its caller.
	bridge.InClientCallback = func() bool { return C.zig_h3_in_client_callback() != 0 }
}
