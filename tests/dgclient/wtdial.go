package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/quic-go/webtransport-go"
	"github.com/zig-h3/h3bun/client"
)

// wtTarget is the session every WebTransport scenario dials: -url and
// -origin (sent as the Origin header when not empty).
type wtTarget struct {
	url, origin string
}

// addTargetFlags registers -url and -origin on fs.
func addTargetFlags(fs *flag.FlagSet, t *wtTarget) {
	fs.StringVar(&t.url, "url", "", "WebTransport URL (https://host:port/path)")
	fs.StringVar(&t.origin, "origin", "", "Origin header (none if empty)")
}

// check validates the target flags.
func (t wtTarget) check() error {
	u, err := url.Parse(t.url)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%w: bad -url %q", errUsage, t.url)
	}
	return nil
}

// linger waits for d, or less if done is closed or ctx ends first. quic-go
// sends CONNECTION_CLOSE at once, dropping stream data not sent yet, so
// the client lingers before closing the connection when the server has not
// acknowledged its last bytes by answering them.
func linger(ctx context.Context, done <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-done:
	case <-ctx.Done():
	}
}

// dialWT opens the session (client.DialWebTransport, certificates not
// verified). On a dial error the CONNECT response (nil if there was none)
// is returned with it.
func dialWT(ctx context.Context, t wtTarget) (*http.Response, *client.Session, error) {
	hdr := http.Header{}
	if t.origin != "" {
		hdr.Set("Origin", t.origin)
	}
	return client.DialWebTransport(ctx, t.url, hdr, &client.Config{InsecureSkipVerify: true})
}

// wtRejectResult is what wt-reject prints.
type wtRejectResult struct {
	Status int    `json:"status"`
	Error  string `json:"error"`
}

// cmdWTReject parses the wt-reject flags and runs the scenario.
func cmdWTReject(ctx context.Context, args []string) (any, error) {
	t := wtTarget{}
	fs := flag.NewFlagSet("wt-reject", flag.ContinueOnError)
	addTargetFlags(fs, &t)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	return runWTReject(ctx, t)
}

// runWTReject dials a session the server should reject. Any CONNECT
// response is a result (a 2xx one too: status 200, error "", and the
// session is closed again); a dial that got no response is an error.
func runWTReject(ctx context.Context, t wtTarget) (*wtRejectResult, error) {
	rsp, sess, err := dialWT(ctx, t)
	if err == nil {
		sess.Close()
		return &wtRejectResult{Status: rsp.StatusCode}, nil
	}
	if rsp == nil {
		return nil, err
	}
	return &wtRejectResult{Status: rsp.StatusCode, Error: err.Error()}, nil
}

// wtCloseResult is what wt-close prints; Code and Reason only when the
// server closed the session.
type wtCloseResult struct {
	ClosedBy string  `json:"closedBy"`
	Code     *uint32 `json:"code,omitempty"`
	Reason   *string `json:"reason,omitempty"`
}

// cmdWTClose parses the wt-close flags and runs the scenario.
func cmdWTClose(ctx context.Context, args []string) (any, error) {
	t := wtTarget{}
	var mode, reason string
	var code uint
	fs := flag.NewFlagSet("wt-close", flag.ContinueOnError)
	addTargetFlags(fs, &t)
	fs.StringVar(&mode, "mode", "", "server: wait for the server to close; client: close it")
	fs.UintVar(&code, "code", 7, "session error code (client mode)")
	fs.StringVar(&reason, "reason", "bye", "session close reason (client mode)")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	switch {
	case mode == "server":
		return runWTCloseServer(ctx, t)
	case mode == "client" && code <= 1<<32-1:
		return runWTCloseClient(ctx, t, webtransport.SessionErrorCode(code), reason)
	}
	return nil, fmt.Errorf("%w: -mode server|client, -code < 2^32", errUsage)
}

// runWTCloseServer sends the datagram "close" (again every 200 ms, as
// datagrams may be lost) until the server closes the session, and returns
// the code and reason of its WT_CLOSE_SESSION capsule.
func runWTCloseServer(ctx context.Context, t wtTarget) (*wtCloseResult, error) {
	_, sess, err := dialWT(ctx, t)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	go func() {
		for {
			if err := sess.SendDatagram([]byte("close")); err != nil {
				return
			}
			select {
			case <-time.After(200 * time.Millisecond):
			case <-sess.Context().Done():
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		// AcceptStream returns the session's close error; the session's
		// Context has no cause.
		str, err := sess.AcceptStream(ctx)
		if err == nil {
			str.CancelRead(0)
			str.CancelWrite(0)
			continue
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("the server did not close the session: %w", ctx.Err())
		}
		sessErr, ok := errors.AsType[*webtransport.SessionError](err)
		if !ok {
			return nil, fmt.Errorf("the session ended without WT_CLOSE_SESSION: %w", err)
		}
		code := uint32(sessErr.ErrorCode)
		return &wtCloseResult{ClosedBy: "server", Code: &code, Reason: &sessErr.Message}, nil
	}
}

// runWTCloseClient closes the session itself 100 ms after it started,
// then keeps the connection open for another 300 ms (or until the server
// closes it) so that the capsule reaches the server.
func runWTCloseClient(ctx context.Context, t wtTarget, code webtransport.SessionErrorCode, reason string) (*wtCloseResult, error) {
	_, sess, err := dialWT(ctx, t)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	select {
	case <-time.After(100 * time.Millisecond):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := sess.CloseWithError(code, reason); err != nil {
		return nil, err
	}
	linger(ctx, sess.QUICConn().Context().Done(), 300*time.Millisecond)
	return &wtCloseResult{ClosedBy: "client"}, nil
}
