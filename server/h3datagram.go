package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/quicvarint"
)

// HTTP/3 datagrams (RFC 9297) belong to one request stream. On a route
// with Route.Datagrams, once the response head is sent
// the stream is taken over from net/http's ResponseWriter: the body goes on
// as DATA frames, datagrams flow both ways, and the end of the response
// (FIN) ends the flow. The flow id is the quarter stream id (stream id / 4).

// settingsWait bounds how long a datagram route waits for the peer's
// SETTINGS (normally long there: they come before any request).
const settingsWait = 2 * time.Second

// h3Datagrams is the datagram side of one response.
type h3Datagrams struct {
	srv     *Server
	deliver func(payload []byte) // called for each datagram received
	mu      sync.Mutex
	str     *http3.Stream
	cancel  context.CancelFunc
	recv    sync.WaitGroup // the receiving goroutine
}

// takeOver hijacks the request stream after the head was written, when the
// peer enabled HTTP/3 datagrams, and starts receiving. It returns nil when
// datagrams are not available (the response then goes on normally).
func (d *h3Datagrams) takeOver(ctx context.Context, w http.ResponseWriter) *http3.Stream {
	settings, ok := w.(http3.Settingser)
	streamer, ok2 := w.(http3.HTTPStreamer)
	if !ok || !ok2 {
		return nil
	}
	select {
	case <-settings.ReceivedSettings():
	case <-time.After(settingsWait):
		return nil
	case <-ctx.Done():
		return nil
	}
	if !settings.Settings().EnableDatagrams {
		return nil
	}
	str := streamer.HTTPStream() // flushes the head
	rctx, cancel := context.WithCancel(ctx)
	d.mu.Lock()
	d.str, d.cancel = str, cancel
	d.mu.Unlock()
	d.recv.Go(func() {
		for {
			b, err := str.ReceiveDatagram(rctx)
			if err != nil {
				return
			}
			d.srv.counters.datagramsReceived.Add(1)
			d.deliver(b)
		}
	})
	return str
}

// stop ends receiving and returns once deliver can no longer be called (a
// datagram ReceiveDatagram returned just before the cancel is delivered
// first), so what deliver uses may be freed when the response finishes.
func (d *h3Datagrams) stop() {
	d.mu.Lock()
	if d.cancel != nil {
		d.cancel()
	}
	d.str = nil
	d.mu.Unlock()
	d.recv.Wait()
}

// SendDatagram sends an HTTP/3 datagram on the response's request stream.
// It fails with ErrState before the response head is sent (or when the
// peer did not enable HTTP/3 datagrams), ErrDatagramTooLarge over the
// current maximum, ErrClosed after the response ended.
func (r *Response) SendDatagram(payload []byte) error {
	d := r.dgram
	if d == nil {
		return fmt.Errorf("%w: not an HTTP/3 datagram route", ErrState)
	}
	d.mu.Lock()
	str := d.str
	d.mu.Unlock()
	if str == nil {
		r.mu.Lock()
		finished := r.finished
		r.mu.Unlock()
		if finished {
			return ErrClosed
		}
		return fmt.Errorf("%w: no datagram flow (head not sent yet, or the peer did not enable HTTP/3 datagrams)", ErrState)
	}
	if err := datagramError(str.SendDatagram(payload)); err != nil {
		return err
	}
	d.srv.counters.datagramsSent.Add(1)
	return nil
}

// MaxDatagramSize returns the largest HTTP/3 datagram payload the response's
// flow can send now (0 without a flow).
func (r *Response) MaxDatagramSize() int {
	d := r.dgram
	if d == nil {
		return 0
	}
	d.mu.Lock()
	str := d.str
	d.mu.Unlock()
	if str == nil {
		return 0
	}
	return h3DatagramMax(r.req)
}

// h3DatagramMax is the largest HTTP/3 datagram payload on req's stream:
// the connection's QUIC datagram maximum less the quarter stream id that
// prefixes each datagram (a varint of 1-8 bytes). 0 if the connection is gone.
func h3DatagramMax(req *Request) int {
	if req.conn == nil || req.conn.qc == nil {
		return 0
	}
	return max(0, req.conn.MaxDatagramSize()-quicvarint.Len(req.StreamID/4))
}
