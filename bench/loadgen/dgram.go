package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zig-h3/h3bun/client"
)

// dgramOptions configures the datagram echo scenarios.
type dgramOptions struct {
	common
	window int
	size   int
	flows  int
	loss   time.Duration
}

func (o *dgramOptions) register(fs *flag.FlagSet) {
	o.common.register(fs, 3*time.Second)
	fs.IntVar(&o.window, "window", 32, "datagrams in flight per flow")
	fs.IntVar(&o.size, "size", 100, "datagram payload bytes (>= 12)")
	fs.DurationVar(&o.loss, "loss", 200*time.Millisecond, "a datagram not echoed within this is lost")
}

// cmdH3Dgram: HTTP/3 datagrams (RFC 9297) on -flows POST requests of one
// connection, each keeping -window datagrams in flight; the server echoes
// them on the same request stream.
func cmdH3Dgram(_ context.Context, args []string) (*Result, error) {
	var o dgramOptions
	fs := flag.NewFlagSet("h3dgram", flag.ContinueOnError)
	o.register(fs)
	fs.IntVar(&o.flows, "flows", 4, "concurrent requests (datagram flows) on the connection")
	u, err := o.parse(fs, args)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout(&o.common)
	defer cancel()
	conn, err := dialH3(ctx, u, true)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.RequireH3Datagrams(ctx); err != nil {
		return nil, err
	}
	flows := make([]client.Datagrammer, o.flows)
	for i := range flows {
		str, err := openFlow(ctx, conn, u.String())
		if err != nil {
			return nil, err
		}
		defer str.Cancel()
		flows[i] = str
	}
	res := runDgramEcho(ctx, &o, flows)
	res.URL = u.String()
	res.Params = joinParams("flows", o.flows, "window", o.window, "size", o.size, "duration", o.duration.String())
	return res, nil
}

// openFlow starts a POST request to target whose stream carries the
// datagrams of one flow.
func openFlow(ctx context.Context, conn *client.Conn, target string) (*client.RequestStream, error) {
	str, err := conn.OpenRequestStream(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, nil)
	if err == nil {
		var rsp *http.Response
		if rsp, err = str.SendRequest(ctx, req); err == nil && rsp.StatusCode != 200 {
			err = fmt.Errorf("status %d", rsp.StatusCode)
		}
	}
	if err != nil {
		str.Cancel()
		return nil, err
	}
	return str, nil
}

// cmdWTDgram: datagrams on one WebTransport session, -window in flight;
// the server echoes them.
func cmdWTDgram(_ context.Context, args []string) (*Result, error) {
	var o dgramOptions
	fs := flag.NewFlagSet("wtdgram", flag.ContinueOnError)
	o.register(fs)
	u, err := o.parse(fs, args)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout(&o.common)
	defer cancel()
	sess, err := dialWT(ctx, u.String())
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	res := runDgramEcho(ctx, &o, []client.Datagrammer{sess})
	res.URL = u.String()
	res.Params = joinParams("window", o.window, "size", o.size, "duration", o.duration.String())
	return res, nil
}

// dgramRun is the state of a datagram echo run that its flows share.
type dgramRun struct {
	*dgramOptions
	size      int // payload bytes, >= 12
	errs      errorLog
	echoed    atomic.Int64
	sent      atomic.Int64
	lost      atomic.Int64
	measuring atomic.Bool
	lats      []latencies
}

// dgramFlow is one flow of a run: datagram "<flow:4><seq:8>..." numbered
// by seq, at most window of them in flight (tokens).
type dgramFlow struct {
	run    *dgramRun
	index  int
	d      client.Datagrammer
	tokens chan struct{}

	mu       sync.Mutex
	inflight map[uint64]time.Time // seq -> when sent
}

// runDgramEcho keeps o.window datagrams in flight on each flow for
// o.warmup + o.duration and measures the echoes of the second part: rate,
// round-trip percentiles, loss.
func runDgramEcho(ctx context.Context, o *dgramOptions, flows []client.Datagrammer) *Result {
	r := &dgramRun{dgramOptions: o, size: max(o.size, 12), lats: make([]latencies, len(flows))}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	for fi, d := range flows {
		f := &dgramFlow{run: r, index: fi, d: d, tokens: make(chan struct{}, o.window), inflight: map[uint64]time.Time{}}
		for range o.window {
			f.tokens <- struct{}{}
		}
		wg.Go(func() { f.send(runCtx) })
		wg.Go(func() { f.receive(runCtx) })
		wg.Go(func() { f.reapLost(runCtx) })
	}
	win := o.timedWindow(ctx, &r.measuring, func() { r.measuring.Store(false) })
	stop()
	wg.Wait()
	res := &Result{}
	ops := r.echoed.Load()
	finishStopped(win, res, ops, ops*int64(r.size)*2)
	res.Sent, res.Lost = r.sent.Load(), r.lost.Load()
	r.errs.fill(res, r.lats)
	return res
}

// release returns a token: one more datagram may be in flight.
func (f *dgramFlow) release() {
	select {
	case f.tokens <- struct{}{}:
	default:
	}
}

// send sends the next datagram whenever a token is free.
func (f *dgramFlow) send(ctx context.Context) {
	buf := make([]byte, f.run.size)
	binary.BigEndian.PutUint32(buf, uint32(f.index))
	for seq := uint64(0); ; seq++ {
		select {
		case <-f.tokens:
		case <-ctx.Done():
			return
		}
		binary.BigEndian.PutUint64(buf[4:], seq)
		f.mu.Lock()
		f.inflight[seq] = time.Now()
		f.mu.Unlock()
		if err := f.d.SendDatagram(buf); err != nil {
			if ctx.Err() == nil {
				f.run.errs.add(fmt.Errorf("send: %w", err))
			}
			return
		}
		if f.run.measuring.Load() {
			f.run.sent.Add(1)
		}
	}
}

// receive takes the echoes, measures their round trips and frees their
// tokens.
func (f *dgramFlow) receive(ctx context.Context) {
	for {
		b, err := f.d.ReceiveDatagram(ctx)
		if err != nil {
			if ctx.Err() == nil {
				f.run.errs.add(fmt.Errorf("receive: %w", err))
			}
			return
		}
		if len(b) < 12 || binary.BigEndian.Uint32(b) != uint32(f.index) {
			f.run.errs.add(errors.New("foreign datagram"))
			continue
		}
		seq := binary.BigEndian.Uint64(b[4:])
		f.mu.Lock()
		t0, ok := f.inflight[seq]
		delete(f.inflight, seq)
		f.mu.Unlock()
		if !ok {
			continue // late: already counted lost
		}
		if f.run.measuring.Load() {
			f.run.lats[f.index] = append(f.run.lats[f.index], time.Since(t0))
			f.run.echoed.Add(1)
		}
		f.release()
	}
}

// reapLost counts the datagrams not echoed within -loss as lost and frees
// their tokens.
func (f *dgramFlow) reapLost(ctx context.Context) {
	t := time.NewTicker(f.run.loss / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			f.mu.Lock()
			for seq, t0 := range f.inflight {
				if now.Sub(t0) > f.run.loss {
					delete(f.inflight, seq)
					if f.run.measuring.Load() {
						f.run.lost.Add(1)
					}
					f.release()
				}
			}
			f.mu.Unlock()
		}
	}
}
