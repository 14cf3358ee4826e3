package main

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// HTTP/3 error codes (RFC 9114).
const (
	h3NoError          = 0x100
	h3RequestCancelled = 0x10c
)

// newRawH3Conn makes conn an HTTP/3 client connection that does not enable
// HTTP/3 datagrams (our SETTINGS lack SETTINGS_H3_DATAGRAM), while keeping
// every QUIC datagram of the connection for the application.
//
// quic-go's http3 client starts reading all QUIC datagrams of the
// connection as HTTP/3 datagrams as soon as the SERVER's SETTINGS enable
// them, even when the client itself did not (rawConn.handleControlStream
// looks only at the peer's setting), and drops those it cannot assign to a
// request stream. So the server's unidirectional streams (control, QPACK
// encoder/decoder) are drained here instead of being handed to http3.
// Requests still work: http3 needs the server's SETTINGS only for Extended
// CONNECT.
func newRawH3Conn(conn *quic.Conn) *http3.ClientConn {
	cc := (&http3.Transport{}).NewRawClientConn(conn)
	go func() {
		for {
			str, err := conn.AcceptUniStream(context.Background())
			if err != nil {
				return
			}
			go io.Copy(io.Discard, str)
		}
	}()
	return cc.ClientConn
}

// getStatus makes a GET request for path on cc and returns its status,
// after reading the body.
func getStatus(ctx context.Context, cc *http3.ClientConn, host, path string) (int, error) {
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
