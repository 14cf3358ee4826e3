package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/zig-h3/h3bun/client"
)

// quicDgramOptions configures the quic-dgram scenario.
type quicDgramOptions struct {
	addr, alpn string
	n, size    int
	pacing
}

// quicDgramResult is what quic-dgram prints. MaxDatagramSize is the largest
// payload quic-go would send (from a DatagramTooLargeError), or -1;
// HTTPStatus is the status of the GET / made on an "h3" connection (0
// otherwise).
type quicDgramResult struct {
	Sent            int   `json:"sent"`
	Received        int   `json:"received"`
	Matched         int   `json:"matched"`
	MaxDatagramSize int64 `json:"maxDatagramSize"`
	HTTPStatus      int   `json:"httpStatus"`
}

// cmdQUICDgram parses the quic-dgram flags and runs the scenario.
func cmdQUICDgram(ctx context.Context, args []string) (any, error) {
	o := quicDgramOptions{}
	fs := flag.NewFlagSet("quic-dgram", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", "", "server address host:port")
	fs.StringVar(&o.alpn, "alpn", "h3", "ALPN to negotiate")
	fs.IntVar(&o.n, "n", 100, "datagrams to send")
	fs.IntVar(&o.size, "size", 64, "payload bytes per datagram (at least 8)")
	addPacingFlags(fs, &o.pacing)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if o.addr == "" || o.alpn == "" || o.n < 0 || o.size < 8 {
		return nil, fmt.Errorf("%w: need -addr, -alpn, -n >= 0, -size >= 8", errUsage)
	}
	return runQUICDgram(ctx, o)
}

// runQUICDgram dials addr with datagrams enabled and ALPN o.alpn. On "h3"
// it first sets the connection up as an HTTP/3 client that does not enable
// HTTP/3 datagrams and makes a GET / (the server should then treat QUIC
// datagrams as raw). It sends o.n unique datagrams and counts the echoes.
func runQUICDgram(ctx context.Context, o quicDgramOptions) (*quicDgramResult, error) {
	cfg := &client.Config{InsecureSkipVerify: true, EnableDatagrams: true, QUICConfig: &quic.Config{MaxIncomingStreams: -1}}
	conn, err := client.DialQUIC(ctx, o.addr, o.alpn, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.CloseWithError(0, "")
	if !conn.ConnectionState().SupportsDatagrams.Remote {
		return nil, errors.New("the server did not enable QUIC datagrams")
	}
	res := &quicDgramResult{}
	if o.alpn == http3.NextProtoH3 {
		cc := client.NewConnRawDatagrams(conn, cfg)
		defer cc.Close()
		if res.HTTPStatus, err = getStatus(ctx, cc, o.addr, "/"); err != nil {
			return nil, fmt.Errorf("GET /: %w", err)
		}
	}
	res.MaxDatagramSize = client.MaxDatagramPayloadSize(conn)

	seen := make([]bool, o.n)
	sendDone := make(chan struct{})
	var sendErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(sendDone)
		res.Sent, sendErr = sendPaced(ctx, o.n, o.gap(),
			func(i int) error { return conn.SendDatagram(quicPayload(i, o.size)) },
			client.IsDatagramTooLarge)
	})
	recvErr := receiveUntil(ctx, conn.ReceiveDatagram, sendDone, o.idle, func(b []byte) bool {
		res.Received++
		if i, ok := checkQUICPayload(b, o.n, o.size); ok && !seen[i] {
			seen[i] = true
			res.Matched++
		}
		return res.Matched == o.n
	})
	wg.Wait()
	if sendErr != nil {
		return nil, fmt.Errorf("sending datagrams: %w", sendErr)
	}
	if recvErr != nil {
		return nil, fmt.Errorf("receiving datagrams: %w", recvErr)
	}
	return res, nil
}

// quicPayload is datagram i: its index as 8 bytes big-endian, then size-8
// bytes that depend on i.
func quicPayload(i, size int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint64(b, uint64(i))
	for j := 8; j < size; j++ {
		b[j] = byte(i*7 + j)
	}
	return b
}

// checkQUICPayload returns the index of b if b is exactly one of the n
// datagrams of size bytes that quicPayload makes.
func checkQUICPayload(b []byte, n, size int) (int, bool) {
	if len(b) != size {
		return 0, false
	}
	i := binary.BigEndian.Uint64(b)
	if i >= uint64(n) {
		return 0, false
	}
	want := quicPayload(int(i), size)
	return int(i), string(b) == string(want)
}

// getStatus makes a GET request for path on cc and returns its status,
// after reading the body.
func getStatus(ctx context.Context, cc *client.Conn, host, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+path, nil)
	if err != nil {
		return 0, err
	}
	rsp, err := cc.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	defer rsp.Body.Close()
	if _, err := io.Copy(io.Discard, rsp.Body); err != nil {
		return 0, fmt.Errorf("reading the GET response body: %w", err)
	}
	return rsp.StatusCode, nil
}
