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

// flow is one datagram echo channel: an HTTP/3 request stream or a
// WebTransport session.
type flow struct {
	send func([]byte) error
	recv func(context.Context) ([]byte, error)
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
	qc, cc, err := dialH3(ctx, u, true)
	if err != nil {
		return nil, err
	}
	defer qc.CloseWithError(h3NoError, "")
	select {
	case <-cc.ReceivedSettings():
	case <-ctx.Done():
		return nil, errors.New("no SETTINGS from the server")
	}
	if !cc.Settings().EnableDatagrams {
		return nil, errors.New("the server's SETTINGS do not enable HTTP/3 datagrams")
	}
	flows := make([]flow, o.flows)
	for i := range flows {
		str, err := cc.OpenRequestStream(ctx)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
		if err != nil {
			return nil, err
		}
		if err := str.SendRequestHeader(req); err != nil {
			return nil, fmt.Errorf("request head: %w", err)
		}
		// ReadResponse takes no context: -timeout reaches it as a read deadline.
		unblock := context.AfterFunc(ctx, func() { _ = str.SetReadDeadline(time.Now()) })
		rsp, err := str.ReadResponse()
		if !unblock() && err != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		if err != nil {
			return nil, fmt.Errorf("response head: %w", err)
		}
		if rsp.StatusCode != 200 {
			return nil, fmt.Errorf("status %d", rsp.StatusCode)
		}
		flows[i] = flow{send: str.SendDatagram, recv: str.ReceiveDatagram}
		defer str.CancelRead(0x10c) // H3_REQUEST_CANCELLED
	}
	res := runDgramEcho(ctx, &o, flows)
	res.URL = u.String()
	res.Params = joinParams("flows", o.flows, "window", o.window, "size", o.size, "duration", o.duration.String())
	return res, nil
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
	defer sess.close()
	res := runDgramEcho(ctx, &o, []flow{{send: sess.SendDatagram, recv: sess.ReceiveDatagram}})
	res.URL = u.String()
	res.Params = joinParams("window", o.window, "size", o.size, "duration", o.duration.String())
	return res, nil
}

// runDgramEcho keeps o.window datagrams in flight on each flow for
// o.warmup + o.duration and measures the echoes of the second part: rate,
// round-trip percentiles, loss.
func runDgramEcho(ctx context.Context, o *dgramOptions, flows []flow) *Result {
	size := max(o.size, 12)
	var (
		errs      errorLog
		echoed    atomic.Int64
		sent      atomic.Int64
		lost      atomic.Int64
		measuring atomic.Bool
		lats      = make([]latencies, len(flows))
		wg        sync.WaitGroup
	)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	for fi, f := range flows {
		tokens := make(chan struct{}, o.window)
		for range o.window {
			tokens <- struct{}{}
		}
		var mu sync.Mutex
		inflight := map[uint64]time.Time{}
		release := func() {
			select {
			case tokens <- struct{}{}:
			default:
			}
		}
		// sender
		wg.Go(func() {
			buf := make([]byte, size)
			binary.BigEndian.PutUint32(buf, uint32(fi))
			for seq := uint64(0); ; seq++ {
				select {
				case <-tokens:
				case <-runCtx.Done():
					return
				}
				binary.BigEndian.PutUint64(buf[4:], seq)
				mu.Lock()
				inflight[seq] = time.Now()
				mu.Unlock()
				if err := f.send(buf); err != nil {
					if runCtx.Err() == nil {
						errs.add(fmt.Errorf("send: %w", err))
					}
					return
				}
				if measuring.Load() {
					sent.Add(1)
				}
			}
		})
		// receiver
		wg.Go(func() {
			for {
				b, err := f.recv(runCtx)
				if err != nil {
					if runCtx.Err() == nil {
						errs.add(fmt.Errorf("receive: %w", err))
					}
					return
				}
				if len(b) < 12 || binary.BigEndian.Uint32(b) != uint32(fi) {
					errs.add(errors.New("foreign datagram"))
					continue
				}
				seq := binary.BigEndian.Uint64(b[4:])
				mu.Lock()
				t0, ok := inflight[seq]
				delete(inflight, seq)
				mu.Unlock()
				if !ok {
					continue // late: already counted lost
				}
				if measuring.Load() {
					lats[fi] = append(lats[fi], time.Since(t0))
					echoed.Add(1)
				}
				release()
			}
		})
		// loss reaper
		wg.Go(func() {
			t := time.NewTicker(o.loss / 4)
			defer t.Stop()
			for {
				select {
				case <-runCtx.Done():
					return
				case now := <-t.C:
					mu.Lock()
					for seq, t0 := range inflight {
						if now.Sub(t0) > o.loss {
							delete(inflight, seq)
							if measuring.Load() {
								lost.Add(1)
							}
							release()
						}
					}
					mu.Unlock()
				}
			}
		})
	}
	win := o.timedWindow(ctx, &measuring, func() { measuring.Store(false) })
	stop()
	wg.Wait()
	res := &Result{}
	ops := echoed.Load()
	finishStopped(win, res, ops, ops*int64(size)*2)
	res.Sent, res.Lost = sent.Load(), lost.Load()
	errs.fill(res, lats)
	return res
}
