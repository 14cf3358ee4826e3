package main

import (
	"context"
	"time"
)

// receiveFunc receives one datagram; it returns an error when ctx ends or
// the connection, stream or session it reads from is gone.
type receiveFunc func(ctx context.Context) ([]byte, error)

// receiveUntil passes each datagram from recv to handle until handle
// returns true (everything expected arrived), ctx ends, or (once sendDone is
// closed) nothing arrived for idle. It returns nil in those cases and recv's
// error if recv fails first.
func receiveUntil(ctx context.Context, recv receiveFunc, sendDone <-chan struct{}, idle time.Duration, handle func([]byte) bool) error {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type item struct {
		b   []byte
		err error
	}
	items := make(chan item)
	go func() {
		for {
			b, err := recv(rctx)
			select {
			case items <- item{b, err}:
			case <-rctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	timer := time.NewTimer(idle)
	timer.Stop()
	var idleC <-chan time.Time // armed once sending is done
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sendDone:
			sendDone = nil
			timer.Reset(idle)
			idleC = timer.C
		case <-idleC:
			return nil
		case it := <-items:
			if it.err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return it.err
			}
			if handle(it.b) {
				return nil
			}
			if idleC != nil {
				timer.Reset(idle)
			}
		}
	}
}

// sendPaced calls send for i in [0, n) with gap between calls (none for
// 0), stopping early when ctx ends. It returns how many sends succeeded;
// skip reports a send error that only skips that datagram (for example
// one too large to send); any other error stops and is returned.
func sendPaced(ctx context.Context, n int, gap time.Duration, send func(i int) error, skip func(error) bool) (int, error) {
	sent := 0
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			return sent, nil
		}
		if err := send(i); err != nil {
			if skip != nil && skip(err) {
				continue
			}
			if ctx.Err() != nil {
				return sent, nil
			}
			return sent, err
		}
		sent++
		if gap > 0 && i+1 < n {
			select {
			case <-time.After(gap):
			case <-ctx.Done():
			}
		}
	}
	return sent, nil
}
