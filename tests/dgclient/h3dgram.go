package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
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
	conf := &quic.Config{EnableDatagrams: true}
	conn, err := quic.DialAddr(ctx, u.Host, tlsConfig(http3.NextProtoH3), conf)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	defer conn.CloseWithError(h3NoError, "")
	cc := (&http3.Transport{EnableDatagrams: true, QUICConfig: conf}).NewClientConn(conn)
	select {
	case <-cc.ReceivedSettings():
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the server's SETTINGS: %w", ctx.Err())
	case <-conn.Context().Done():
		return nil, fmt.Errorf("waiting for the server's SETTINGS: %w", context.Cause(conn.Context()))
	}
	if !cc.Settings().EnableDatagrams {
		return nil, errors.New("the server's SETTINGS do not enable HTTP/3 datagrams")
	}

	res := &h3DgramResult{Requests: make([]*h3DgramRequest, o.requests)}
	streams := make([]*http3.RequestStream, o.requests)
	var wg sync.WaitGroup
	for i := range o.requests {
		res.Requests[i] = &h3DgramRequest{StreamID: -1}
		wg.Go(func() {
			str, err := runH3DgramRequest(ctx, cc, u, o, i, res.Requests[i])
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
func runH3DgramRequest(ctx context.Context, cc *http3.ClientConn, u *url.URL, o h3DgramOptions, i int, r *h3DgramRequest) (*http3.RequestStream, error) {
	str, err := cc.OpenRequestStream(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening the request stream: %w", err)
	}
	r.StreamID = int64(str.StreamID())
	req, err := http.NewRequestWithContext(ctx, o.method, u.String(), nil)
	if err != nil {
		return str, err
	}
	if err := str.SendRequestHeader(req); err != nil {
		return str, fmt.Errorf("sending the request head: %w", err)
	}
	// ReadResponse takes no context: -timeout reaches it as a read deadline.
	unblock := context.AfterFunc(ctx, func() { _ = str.SetReadDeadline(time.Now()) })
	rsp, err := str.ReadResponse()
	if !unblock() && err != nil {
		err = fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	if err != nil {
		return str, fmt.Errorf("reading the response head: %w", err)
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
			isTooLarge)
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

// finishStreams closes the request side of each stream and reads what is
// left of the responses, for up to a second (less if ctx ends sooner), so
// the server sees the requests end before the connection closes.
func finishStreams(ctx context.Context, streams []*http3.RequestStream) {
	deadline := time.Now().Add(time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	var wg sync.WaitGroup
	for _, str := range streams {
		if str == nil {
			continue
		}
		str.Close()
		wg.Go(func() {
			str.SetReadDeadline(deadline)
			if _, err := io.Copy(io.Discard, str); err != nil {
				str.CancelRead(h3RequestCancelled)
			}
		})
	}
	wg.Wait()
}
