package main

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/quicvarint"
)

// HTTP/3 wire constants (RFC 9114, RFC 9297).
const (
	streamTypeControl    = 0x00
	frameTypeSettings    = 0x04
	settingH3Datagram    = 0x33
	h3NoError            = 0x100
	h3RequestCancelled   = 0x10c
	maxSettingsFrameSize = 16 << 10
)

// newRawH3Conn makes conn an HTTP/3 client connection that does not enable
// HTTP/3 datagrams (our SETTINGS lack SETTINGS_H3_DATAGRAM), while keeping
// every QUIC datagram of the connection for the application.
//
// quic-go's http3 client starts reading all QUIC datagrams of the
// connection as HTTP/3 datagrams as soon as the SERVER's SETTINGS enable
// them, even when the client itself did not (rawConn.handleControlStream
// looks only at the peer's setting), and drops those it cannot assign to a
// request stream. So the server's unidirectional streams are read here
// instead of being handed to http3: the control stream's SETTINGS are parsed
// (whether they enable HTTP/3 datagrams is sent to settings, if not nil
// and ready: give it a buffer) and everything else
// is drained. Requests still work: http3 needs the server's SETTINGS only
// for Extended CONNECT.
func newRawH3Conn(conn *quic.Conn, settings chan<- bool) *http3.ClientConn {
	cc := (&http3.Transport{}).NewRawClientConn(conn)
	go func() {
		for {
			str, err := conn.AcceptUniStream(context.Background())
			if err != nil {
				return
			}
			go readServerUniStream(str, settings)
		}
	}()
	return cc.ClientConn
}

// readServerUniStream reads one unidirectional stream from the server: a
// control stream's first frame is parsed as SETTINGS; the rest of it, and
// any other stream (QPACK encoder/decoder), is discarded.
func readServerUniStream(str *quic.ReceiveStream, settings chan<- bool) {
	defer io.Copy(io.Discard, str)
	r := quicvarint.NewReader(str)
	typ, err := quicvarint.Read(r)
	if err != nil || typ != streamTypeControl {
		return
	}
	dgram, err := readSettingsFrame(r)
	if err == nil && settings != nil {
		select {
		case settings <- dgram:
		default:
		}
	}
}

// readSettingsFrame reads a SETTINGS frame from r and reports whether it
// enables HTTP/3 datagrams.
func readSettingsFrame(r quicvarint.Reader) (bool, error) {
	ft, err := quicvarint.Read(r)
	if err != nil {
		return false, err
	}
	if ft != frameTypeSettings {
		return false, fmt.Errorf("first control frame has type %#x, not SETTINGS", ft)
	}
	length, err := quicvarint.Read(r)
	if err != nil {
		return false, err
	}
	if length > maxSettingsFrameSize {
		return false, fmt.Errorf("SETTINGS frame of %d bytes", length)
	}
	payload := make([]byte, length)
	if _, err := io.ReadFull(r, payload); err != nil {
		return false, err
	}
	dgram := false
	for len(payload) > 0 {
		id, n, err := quicvarint.Parse(payload)
		if err != nil {
			return false, err
		}
		payload = payload[n:]
		val, n, err := quicvarint.Parse(payload)
		if err != nil {
			return false, err
		}
		payload = payload[n:]
		if id == settingH3Datagram {
			dgram = val == 1
		}
	}
	return dgram, nil
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
