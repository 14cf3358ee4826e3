package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"
)

// maxServerStreamText bounds what wt-server-streams reads from a stream.
const maxServerStreamText = 1 << 20

// wtServerStreamsResult is what wt-server-streams prints: the text the
// server sent on its bidirectional and on its unidirectional stream.
type wtServerStreamsResult struct {
	Bidi string `json:"bidi"`
	Uni  string `json:"uni"`
}

// cmdWTServerStreams parses the wt-server-streams flags and runs it.
func cmdWTServerStreams(ctx context.Context, args []string) (any, error) {
	t := wtTarget{}
	fs := flag.NewFlagSet("wt-server-streams", flag.ContinueOnError)
	addTargetFlags(fs, &t)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	return runWTServerStreams(ctx, t)
}

// runWTServerStreams dials a session on which the server opens one
// bidirectional and one unidirectional stream. It accepts both at once and
// reads each to EOF; on the bidirectional one it first writes "pong" and
// closes its side. Before closing the session it waits up to 300 ms (less
// if the server closes it), so that "pong" is delivered. A stream that does
// not come, or fails, is an error.
func runWTServerStreams(ctx context.Context, t wtTarget) (*wtServerStreamsResult, error) {
	_, sess, err := dialWT(ctx, t)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	res := &wtServerStreamsResult{}
	var bidiErr, uniErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		str, err := sess.AcceptStream(ctx)
		if err != nil {
			bidiErr = fmt.Errorf("accepting the bidirectional stream: %w", err)
			return
		}
		setDeadline(ctx, str)
		if _, err := str.Write([]byte("pong")); err != nil {
			bidiErr = fmt.Errorf("writing pong: %w", err)
			return
		}
		str.Close()
		res.Bidi, bidiErr = readText(str)
	})
	wg.Go(func() {
		str, err := sess.AcceptUniStream(ctx)
		if err != nil {
			uniErr = fmt.Errorf("accepting the unidirectional stream: %w", err)
			return
		}
		setDeadline(ctx, str)
		res.Uni, uniErr = readText(str)
	})
	wg.Wait()
	if bidiErr != nil {
		return nil, bidiErr
	}
	if uniErr != nil {
		return nil, uniErr
	}
	linger(ctx, sess.Context().Done(), 300*time.Millisecond) // "pong" must leave
	return res, nil
}

// readText reads r to EOF (at most maxServerStreamText bytes).
func readText(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxServerStreamText))
	if err != nil {
		return "", fmt.Errorf("reading: %w", err)
	}
	return string(b), nil
}
