package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// dialH3 opens a QUIC connection and an HTTP/3 client connection on it.
func dialH3(ctx context.Context, u *url.URL, datagrams bool) (*quic.Conn, *http3.ClientConn, error) {
	conf := &quic.Config{EnableDatagrams: datagrams}
	qc, err := quic.DialAddr(ctx, u.Host, tlsConfig(nextProtoH3), conf)
	if err != nil {
		return nil, nil, fmt.Errorf("dial %s: %w", u.Host, err)
	}
	cc := (&http3.Transport{EnableDatagrams: datagrams, QUICConfig: conf}).NewClientConn(qc)
	return qc, cc, nil
}

// cmdRequests: small requests (GET, or POST with a body) from -c workers
// over -conns connections, for -duration after -warmup, or -n requests.
// Each response must be 200 with the expected body length (-expect; for
// POST the body size).
func cmdRequests(_ context.Context, args []string) (*Result, error) {
	var c common
	var method string
	var conc, nconns, bodySize, expect int
	var limit int64
	fs := flag.NewFlagSet("requests", flag.ContinueOnError)
	c.register(fs, 3*time.Second)
	fs.StringVar(&method, "method", "GET", "GET or POST")
	fs.IntVar(&conc, "c", 1, "concurrent requests")
	fs.IntVar(&nconns, "conns", 1, "connections (the workers are spread over them)")
	fs.IntVar(&bodySize, "body", 0, "request body bytes (POST)")
	fs.IntVar(&expect, "expect", -1, "expected response body bytes (-1: 5 for GET, -body for POST)")
	fs.Int64Var(&limit, "n", 0, "stop after this many requests instead of -duration (no warmup)")
	u, err := c.parse(fs, args)
	if err != nil {
		return nil, err
	}
	if conc < 1 || nconns < 1 || bodySize < 0 {
		return nil, fmt.Errorf("-c and -conns must be >= 1, -body >= 0")
	}
	if expect < 0 {
		expect = 5
		if method == http.MethodPost {
			expect = bodySize
		}
	}
	ctx, cancel := withTimeout(&c)
	defer cancel()

	conns := make([]*http3.ClientConn, nconns)
	for i := range conns {
		qc, cc, err := dialH3(ctx, u, false)
		if err != nil {
			return nil, err
		}
		defer qc.CloseWithError(h3NoError, "")
		conns[i] = cc
	}
	body := bytes.Repeat([]byte{'b'}, bodySize)
	target := u.String()

	var (
		errs     errorLog
		done     atomic.Int64 // requests completed in the window
		issued   atomic.Int64 // requests started (count-bounded runs)
		bytesIn  atomic.Int64
		measure  atomic.Bool
		stopping atomic.Bool
		lats     = make([]latencies, conc)
		wg       sync.WaitGroup
	)
	one := func(cc *http3.ClientConn) (int64, error) {
		var rd io.Reader
		if method == http.MethodPost {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, target, rd)
		if err != nil {
			return 0, err
		}
		if method == http.MethodPost {
			req.ContentLength = int64(bodySize)
		}
		rsp, err := cc.RoundTrip(req)
		if err != nil {
			return 0, err
		}
		n, err := io.Copy(io.Discard, rsp.Body)
		rsp.Body.Close()
		if err != nil {
			return n, err
		}
		if rsp.StatusCode != 200 {
			return n, fmt.Errorf("status %d", rsp.StatusCode)
		}
		if n != int64(expect) {
			return n, fmt.Errorf("body of %d bytes, want %d", n, expect)
		}
		return n, nil
	}
	var win *window
	if limit > 0 {
		// Count-bounded: every request is measured, from the first.
		measure.Store(true)
		win = startWindow(c.pid)
	}
	for w := range conc {
		cc := conns[w%nconns]
		wg.Go(func() {
			for !stopping.Load() && ctx.Err() == nil {
				if limit > 0 && issued.Add(1) > limit {
					return
				}
				counted := measure.Load()
				t0 := time.Now()
				n, err := one(cc)
				if stopping.Load() && limit == 0 {
					return // finished after the window: not counted
				}
				if err != nil {
					if ctx.Err() == nil {
						errs.add(err)
					}
					if cc.Context().Err() != nil {
						return // the connection is gone
					}
					continue
				}
				if counted {
					lats[w] = append(lats[w], time.Since(t0))
					done.Add(1)
					bytesIn.Add(n)
				}
			}
		})
	}
	if limit == 0 {
		// Stragglers finishing after the window are not counted.
		win = c.timedWindow(ctx, &measure, func() { stopping.Store(true) })
	}
	wg.Wait()
	res := &Result{URL: target, Params: joinParams("method", method, "c", conc, "conns", nconns, "body", bodySize, "n", limit, "duration", c.duration.String())}
	ops, b := done.Load(), bytesIn.Load()
	if method == http.MethodPost {
		b *= 2 // both ways
	}
	if limit > 0 {
		win.finish(res, ops, b, c.settle)
	} else {
		finishStopped(win, res, ops, b)
	}
	errs.fill(res, lats)
	noteTimeout(ctx, res)
	return res, nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// cmdConns opens -n connections (-c at a time), makes one GET on each and
// closes it; the time per connection includes the handshake. With
// -duration, no connection is started after it (a soft cap: the run ends
// with every connection closed properly, fewer than -n).
func cmdConns(_ context.Context, args []string) (*Result, error) {
	var c common
	var n, conc int
	fs := flag.NewFlagSet("conns", flag.ContinueOnError)
	c.register(fs, 0)
	fs.IntVar(&n, "n", 10000, "connections to open and close")
	fs.IntVar(&conc, "c", 16, "connections at a time")
	u, err := c.parse(fs, args)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout(&c)
	defer cancel()
	target := u.String()
	var (
		errs errorLog
		next atomic.Int64
		done atomic.Int64
		lats = make([]latencies, conc)
		wg   sync.WaitGroup
	)
	win := startWindow(c.pid)
	var soft time.Time // no new connections after it (-duration), so every one is closed properly
	if c.duration > 0 {
		soft = time.Now().Add(c.duration)
	}
	for w := range conc {
		wg.Go(func() {
			for ctx.Err() == nil && (soft.IsZero() || time.Now().Before(soft)) && next.Add(1) <= int64(n) {
				t0 := time.Now()
				if err := oneConn(ctx, u, target); err != nil {
					if ctx.Err() == nil {
						errs.add(err)
					}
					continue
				}
				lats[w] = append(lats[w], time.Since(t0))
				done.Add(1)
			}
		})
	}
	wg.Wait()
	res := &Result{URL: target, Params: joinParams("n", n, "c", conc)}
	win.finish(res, done.Load(), 0, c.settle)
	errs.fill(res, lats)
	noteTimeout(ctx, res)
	return res, nil
}

func oneConn(ctx context.Context, u *url.URL, target string) error {
	qc, cc, err := dialH3(ctx, u, false)
	if err != nil {
		return err
	}
	defer qc.CloseWithError(h3NoError, "")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	rsp, err := cc.RoundTrip(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, rsp.Body)
	rsp.Body.Close()
	if err == nil && rsp.StatusCode != 200 {
		err = fmt.Errorf("status %d", rsp.StatusCode)
	}
	return err
}

// cmdFetch makes one GET and prints the body as the result's Body (for the
// runner's /stats reading).
func cmdFetch(_ context.Context, args []string) (*Result, error) {
	var c common
	fs := flag.NewFlagSet("fetch", flag.ContinueOnError)
	c.register(fs, 0)
	u, err := c.parse(fs, args)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout(&c)
	defer cancel()
	qc, cc, err := dialH3(ctx, u, false)
	if err != nil {
		return nil, err
	}
	defer qc.CloseWithError(h3NoError, "")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	rsp, err := cc.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer rsp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(rsp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if rsp.StatusCode != 200 {
		return nil, fmt.Errorf("status %d: %.200s", rsp.StatusCode, b)
	}
	return &Result{URL: u.String(), Ops: 1, Body: json.RawMessage(b)}, nil
}
