package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zig-h3/h3bun/client"
)

// dialWT opens a WebTransport session at target.
func dialWT(ctx context.Context, target string) (*client.Session, error) {
	rsp, sess, err := client.DialWebTransport(ctx, target, nil, dialConfig)
	if err != nil && rsp != nil {
		return nil, fmt.Errorf("status %d: %w", rsp.StatusCode, err)
	}
	return sess, err
}

// cmdWTStream: -c workers on one session each open a bidirectional stream,
// write -size bytes, close their side and read the echo to its end, over
// and over, for -duration after -warmup. Ops are stream echoes; MB/s
// counts the bytes of both directions.
func cmdWTStream(_ context.Context, args []string) (*Result, error) {
	var c common
	var conc, size int
	fs := flag.NewFlagSet("wtstream", flag.ContinueOnError)
	c.register(fs, 3*time.Second)
	fs.IntVar(&conc, "c", 8, "concurrent streams")
	fs.IntVar(&size, "size", 64<<10, "bytes echoed per stream")
	u, err := c.parse(fs, args)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout(&c)
	defer cancel()
	sess, err := dialWT(ctx, u.String())
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i)
	}
	var (
		errs      errorLog
		done      atomic.Int64
		measuring atomic.Bool
		stopping  atomic.Bool
		lats      = make([]latencies, conc)
		wg        sync.WaitGroup
	)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	for w := range conc {
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			for !stopping.Load() {
				counted := measuring.Load()
				t0 := time.Now()
				err := echoStream(runCtx, sess, payload, buf)
				if stopping.Load() {
					return
				}
				if err != nil {
					errs.add(err)
					if sess.Context().Err() != nil {
						return
					}
					continue
				}
				if counted {
					lats[w] = append(lats[w], time.Since(t0))
					done.Add(1)
				}
			}
		})
	}
	win := c.timedWindow(ctx, &measuring, func() { stopping.Store(true) })
	stop()
	wg.Wait()
	res := &Result{URL: u.String(), Params: joinParams("c", conc, "size", size, "duration", c.duration.String())}
	ops := done.Load()
	finishStopped(win, res, ops, ops*int64(size)*2)
	errs.fill(res, lats)
	return res, nil
}

func echoStream(ctx context.Context, sess *client.Session, payload, buf []byte) error {
	str, err := sess.OpenStreamSync(ctx)
	if err != nil {
		return fmt.Errorf("open stream: %w", err)
	}
	if d, ok := ctx.Deadline(); ok {
		_ = str.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { str.CancelRead(0); str.CancelWrite(0) })
	defer stop()
	werr := make(chan error, 1)
	go func() {
		_, err := str.Write(payload)
		if err == nil {
			err = str.Close()
		}
		werr <- err
	}()
	var n int
	for {
		k, err := str.Read(buf)
		n += k
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read after %d bytes: %w", n, err)
		}
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if n != len(payload) {
		return fmt.Errorf("echoed %d bytes, want %d", n, len(payload))
	}
	return nil
}
