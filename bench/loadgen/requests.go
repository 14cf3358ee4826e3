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

	"github.com/zig-h3/h3bun/client"
)

// dialH3 opens an HTTP/3 connection to the host of u.
func dialH3(ctx context.Context, u *url.URL, datagrams bool) (*client.Conn, error) {
	cfg := *dialConfig
	cfg.EnableDatagrams = datagrams
	return client.DialH3(ctx, u.Host, &cfg)
}

// requestsOptions configures the requests scenario.
type requestsOptions struct {
	common
	method                 string
	conc, nconns, bodySize int
	expect                 int
	limit                  int64
	u                      *url.URL
	target                 string
	body                   []byte
}

// requestsRun is the state of a requests run that its workers share.
type requestsRun struct {
	*requestsOptions
	errs     errorLog
	done     atomic.Int64 // requests completed in the window
	issued   atomic.Int64 // requests started (count-bounded runs)
	bytesIn  atomic.Int64
	measure  atomic.Bool
	stopping atomic.Bool
	lats     []latencies
}

// cmdRequests: small requests (GET, or POST with a body) from -c workers
// over -conns connections, for -duration after -warmup, or -n requests.
// Each response must be 200 with the expected body length (-expect; for
// POST the body size).
func cmdRequests(_ context.Context, args []string) (*Result, error) {
	o, err := parseRequests(args)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout(&o.common)
	defer cancel()
	conns := make([]*client.Conn, o.nconns)
	for i := range conns {
		if conns[i], err = dialH3(ctx, o.u, false); err != nil {
			return nil, err
		}
		defer conns[i].Close()
	}
	r := &requestsRun{requestsOptions: o, lats: make([]latencies, o.conc)}
	var win *window
	if o.limit > 0 {
		// Count-bounded: every request is measured, from the first.
		r.measure.Store(true)
		win = startWindow(o.pid)
	}
	var wg sync.WaitGroup
	for w := range o.conc {
		wg.Go(func() { r.worker(ctx, w, conns[w%o.nconns]) })
	}
	if o.limit == 0 {
		// Stragglers finishing after the window are not counted.
		win = o.timedWindow(ctx, &r.measure, func() { r.stopping.Store(true) })
	}
	wg.Wait()
	return r.result(ctx, win), nil
}

// parseRequests parses the flags of the requests scenario.
func parseRequests(args []string) (*requestsOptions, error) {
	o := &requestsOptions{}
	fs := flag.NewFlagSet("requests", flag.ContinueOnError)
	o.register(fs, 3*time.Second)
	fs.StringVar(&o.method, "method", "GET", "GET or POST")
	fs.IntVar(&o.conc, "c", 1, "concurrent requests")
	fs.IntVar(&o.nconns, "conns", 1, "connections (the workers are spread over them)")
	fs.IntVar(&o.bodySize, "body", 0, "request body bytes (POST)")
	fs.IntVar(&o.expect, "expect", -1, "expected response body bytes (-1: 5 for GET, -body for POST)")
	fs.Int64Var(&o.limit, "n", 0, "stop after this many requests instead of -duration (no warmup)")
	u, err := o.parse(fs, args)
	if err != nil {
		return nil, err
	}
	if o.conc < 1 || o.nconns < 1 || o.bodySize < 0 {
		return nil, fmt.Errorf("-c and -conns must be >= 1, -body >= 0")
	}
	if o.expect < 0 {
		o.expect = 5
		if o.method == http.MethodPost {
			o.expect = o.bodySize
		}
	}
	o.u, o.target, o.body = u, u.String(), bytes.Repeat([]byte{'b'}, o.bodySize)
	return o, nil
}

// worker makes requests on conn until the run stops.
func (r *requestsRun) worker(ctx context.Context, w int, conn *client.Conn) {
	for !r.stopping.Load() && ctx.Err() == nil {
		if r.limit > 0 && r.issued.Add(1) > r.limit {
			return
		}
		counted := r.measure.Load()
		t0 := time.Now()
		n, err := r.one(ctx, conn)
		if r.stopping.Load() && r.limit == 0 {
			return // finished after the window: not counted
		}
		if err != nil {
			if ctx.Err() == nil {
				r.errs.add(err)
			}
			if conn.Context().Err() != nil {
				return // the connection is gone
			}
			continue
		}
		if counted {
			r.lats[w] = append(r.lats[w], time.Since(t0))
			r.done.Add(1)
			r.bytesIn.Add(n)
		}
	}
}

// one makes one request and checks its response.
func (r *requestsRun) one(ctx context.Context, conn *client.Conn) (int64, error) {
	var rd io.Reader
	if r.method == http.MethodPost {
		rd = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.target, rd)
	if err != nil {
		return 0, err
	}
	if r.method == http.MethodPost {
		req.ContentLength = int64(r.bodySize)
	}
	return roundTripOK(conn, req, int64(r.expect))
}

// roundTripOK makes req, reads the response body and checks that the
// status is 200 and, if want >= 0, that the body has want bytes.
func roundTripOK(rt http.RoundTripper, req *http.Request, want int64) (int64, error) {
	rsp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, rsp.Body)
	rsp.Body.Close()
	switch {
	case err != nil:
		return n, fmt.Errorf("after %d bytes: %w", n, err)
	case rsp.StatusCode != 200:
		return n, fmt.Errorf("status %d", rsp.StatusCode)
	case want >= 0 && n != want:
		return n, fmt.Errorf("body of %d bytes, want %d", n, want)
	}
	return n, nil
}

// result fills the result of the run from its window.
func (r *requestsRun) result(ctx context.Context, win *window) *Result {
	res := &Result{URL: r.target, Params: joinParams("method", r.method, "c", r.conc, "conns", r.nconns, "body", r.bodySize, "n", r.limit, "duration", r.duration.String())}
	ops, b := r.done.Load(), r.bytesIn.Load()
	if r.method == http.MethodPost {
		b *= 2 // both ways
	}
	if r.limit > 0 {
		win.finish(res, ops, b, r.settle)
	} else {
		finishStopped(win, res, ops, b)
	}
	r.errs.fill(res, r.lats)
	noteTimeout(ctx, res)
	return res
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

// connTimeout bounds one connection of the conns scenario (handshake, GET,
// close): one that hangs is an error, and the others go on.
const connTimeout = 10 * time.Second

func oneConn(ctx context.Context, u *url.URL, target string) error {
	ctx, cancel := context.WithTimeout(ctx, connTimeout)
	defer cancel()
	conn, err := dialH3(ctx, u, false)
	if err != nil {
		return err
	}
	defer conn.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	_, err = roundTripOK(conn, req, -1)
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
	conn, err := dialH3(ctx, u, false)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	rsp, err := conn.RoundTrip(req)
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
