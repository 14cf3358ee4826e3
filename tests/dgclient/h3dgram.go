package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zig-h3/h3bun/client"
)

// h3DgramOptions configures the h3-dgram scenario.
type h3DgramOptions struct {
	url, method string
	n, requests int
	pacing
}

// h3DgramRequest is the result of one request. Foreign counts echoes that
// carried another request's datagram; Error is set when the request
// failed after the connection was up.
type h3DgramRequest struct {
	Status   int    `json:"status"`
	StreamID int64  `json:"streamId"`
	Sent     int    `json:"sent"`
	Received int    `json:"received"`
	Matched  int    `json:"matched"`
	Foreign  int    `json:"foreign"`
	Error    string `json:"error,omitempty"`
}

// h3DgramResult is what h3-dgram prints.
type h3DgramResult struct {
	Requests []*h3DgramRequest `json:"requests"`
}

// cmdH3Dgram parses the h3-dgram flags and runs the scenario.
func cmdH3Dgram(ctx context.Context, args []string) (any, error) {
	o := h3DgramOptions{}
	fs := flag.NewFlagSet("h3-dgram", flag.ContinueOnError)
	fs.StringVar(&o.url, "url", "", "request URL (https://host:port/path)")
	fs.StringVar(&o.method, "method", http.MethodPost, "request method")
	fs.IntVar(&o.n, "n", 50, "datagrams to send on each request")
	fs.IntVar(&o.requests, "requests", 2, "concurrent requests on the one connection")
	addPacingFlags(fs, &o.pacing)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if o.url == "" || o.n < 0 || o.requests < 1 {
		return nil, fmt.Errorf("%w: need -url, -n >= 0, -requests >= 1", errUsage)
	}
	return runH3Dgram(ctx, o)
}

// runH3Dgram opens one HTTP/3 connection with HTTP/3 datagrams enabled
// and runs o.requests requests on it at once. Each request sends its head
// (no body: http3.RequestStream.SendRequestHeader refuses one, so a POST
// carries "content-length: 0") and keeps the request stream open while it
// exchanges datagrams "r<i>-<k>" with the server, which should echo each
// one on the same stream. Then each stream is closed (FIN) and the rest of
// the responses read, briefly.
func runH3Dgram(ctx context.Context, o h3DgramOptions) (*h3DgramResult, error) {
	u, err := url.Parse(o.url)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%w: bad -url %q", errUsage, o.url)
	}
	conn, err := client.DialH3(ctx, u.Host, &client.Config{InsecureSkipVerify: true, EnableDatagrams: true})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.RequireH3Datagrams(ctx); err != nil {
		return nil, err
	}

	res := &h3DgramResult{Requests: make([]*h3DgramRequest, o.requests)}
	streams := make([]*client.RequestStream, o.requests)
	var wg sync.WaitGroup
	for i := range o.requests {
		res.Requests[i] = &h3DgramRequest{StreamID: -1}
		wg.Go(func() {
			str, err := runH3DgramRequest(ctx, conn, u, o, i, res.Requests[i])
			if err != nil {
				res.Requests[i].Error = err.Error()
			}
			streams[i] = str
		})
	}
	wg.Wait()
	if err := context.Cause(conn.Context()); err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("connection closed: %w", err)
	}
	finishStreams(ctx, streams)
	return res, nil
}

// runH3DgramRequest runs request i: head, response head, then datagrams.
// It returns the request stream (nil if it could not be opened), still
// open, for finishStreams.
func runH3DgramRequest(ctx context.Context, conn *client.Conn, u *url.URL, o h3DgramOptions, i int, r *h3DgramRequest) (*client.RequestStream, error) {
	str, err := conn.OpenRequestStream(ctx)
	if err != nil {
		return nil, err
	}
	r.StreamID = str.StreamID()
	req, err := http.NewRequestWithContext(ctx, o.method, u.String(), nil)
	if err != nil {
		return str, err
	}
	rsp, err := str.SendRequest(ctx, req)
	if err != nil {
		return str, err
	}
	r.Status = rsp.StatusCode

	seen := make([]bool, o.n)
	prefix := "r" + strconv.Itoa(i) + "-"
	sendDone := make(chan struct{})
	var sendErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(sendDone)
		r.Sent, sendErr = sendPaced(ctx, o.n, o.gap(),
			func(k int) error { return str.SendDatagram([]byte(prefix + strconv.Itoa(k))) },
			client.IsDatagramTooLarge)
	})
	recvErr := receiveUntil(ctx, str.ReceiveDatagram, sendDone, o.idle, func(b []byte) bool {
		r.Received++
		req, k, ok := parseH3Payload(string(b))
		switch {
		case !ok:
		case req != i:
			r.Foreign++
		case k < o.n && !seen[k]:
			seen[k] = true
			r.Matched++
		}
		return r.Matched == o.n
	})
	wg.Wait()
	if sendErr != nil {
		return str, fmt.Errorf("sending datagrams: %w", sendErr)
	}
	if recvErr != nil {
		return str, fmt.Errorf("receiving datagrams: %w", recvErr)
	}
	return str, nil
}

// parseH3Payload parses "r<i>-<k>".
func parseH3Payload(s string) (i, k int, ok bool) {
	rest, found := strings.CutPrefix(s, "r")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(rest, "-")
	if !found {
		return 0, 0, false
	}
	i, err1 := strconv.Atoi(a)
	k, err2 := strconv.Atoi(b)
	return i, k, err1 == nil && err2 == nil && i >= 0 && k >= 0
}

// finishStreams finishes each request, reading what is left of the
// responses for up to a second (less if ctx ends sooner), so the server
// sees the requests end before the connection closes.
func finishStreams(ctx context.Context, streams []*client.RequestStream) {
	deadline := time.Now().Add(time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	var wg sync.WaitGroup
	for _, str := range streams {
		if str == nil {
			continue
		}
		wg.Go(func() { str.Finish(deadline) })
	}
	wg.Wait()
}
