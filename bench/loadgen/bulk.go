package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// cmdDownload makes -count GET requests one after the other on one
// connection and reads each body to its end; each must be -bytes long.
func cmdDownload(_ context.Context, args []string) (*Result, error) {
	return bulk("download", args)
}

// cmdUpload POSTs -count bodies of -bytes (generated while sending, never
// held in memory) one after the other on one connection; the server must
// answer with the byte count.
func cmdUpload(_ context.Context, args []string) (*Result, error) {
	return bulk("upload", args)
}

func bulk(kind string, args []string) (*Result, error) {
	var c common
	var size int64
	var count int
	fs := flag.NewFlagSet(kind, flag.ContinueOnError)
	c.register(fs, 0)
	fs.Int64Var(&size, "bytes", 100_000_000, "bytes per transfer")
	fs.IntVar(&count, "count", 1, "transfers, one after the other")
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
	target := u.String()

	var errs errorLog
	var ops, total int64
	lats := make([]latencies, 1)
	win := startWindow(c.pid)
	for range count {
		t0 := time.Now()
		n, err := transfer(ctx, kind, conn, target, size)
		if err != nil {
			errs.add(err)
			if conn.Context().Err() != nil || ctx.Err() != nil {
				break
			}
			continue
		}
		lats[0] = append(lats[0], time.Since(t0))
		ops++
		total += n
	}
	res := &Result{URL: target, Params: joinParams("bytes", size, "count", count)}
	win.finish(res, ops, total, c.settle)
	errs.fill(res, lats)
	return res, nil
}

// transfer makes one download or upload of size bytes.
func transfer(ctx context.Context, kind string, cc http.RoundTripper, target string, size int64) (int64, error) {
	var req *http.Request
	var err error
	if kind == "download" {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, target, io.NopCloser(&pattern{left: size}))
		if req != nil {
			req.ContentLength = size
		}
	}
	if err != nil {
		return 0, err
	}
	if kind == "download" {
		return roundTripOK(cc, req, size)
	}
	rsp, err := cc.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	defer rsp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(rsp.Body, 1<<10))
	if err != nil {
		return 0, err
	}
	if rsp.StatusCode != 200 {
		return 0, fmt.Errorf("status %d: %.100s", rsp.StatusCode, b)
	}
	got, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || got != size {
		return 0, fmt.Errorf("server counted %q bytes, want %d", b, size)
	}
	return size, nil
}

// pattern is an io.Reader of left bytes of 'u'.
type pattern struct{ left int64 }

var patternChunk = []byte(strings.Repeat("u", 64<<10))

func (p *pattern) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(b))
	n = min(n, p.left)
	for i := int64(0); i < n; {
		i += int64(copy(b[i:n], patternChunk))
	}
	p.left -= n
	return int(n), nil
}
