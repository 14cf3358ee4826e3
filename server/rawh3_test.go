package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/quic-go/qpack"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/quicvarint"
)

// Hand-made HTTP/3 for tests that send what a well-behaved client never
// would: frames are built byte by byte on a plain QUIC connection.

// rawDeadline bounds every raw exchange.
const rawDeadline = 5 * time.Second

// dialRaw opens a QUIC connection with ALPN h3 to the server and sends a
// control stream with an empty SETTINGS frame.
func dialRaw(t testing.TB, s *Server) *quic.Conn {
	t.Helper()
	return dialRawPort(t, s.Port())
}

// dialRawPort is dialRaw to a port of 127.0.0.1.
func dialRawPort(t testing.TB, port int) *quic.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rawDeadline)
	defer cancel()
	tlsConf := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}}
	qc, err := quic.DialAddr(ctx, fmt.Sprintf("127.0.0.1:%d", port), tlsConf, &quic.Config{KeepAlivePeriod: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { qc.CloseWithError(0, "") })
	ctrl, err := qc.OpenUniStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ctrl.Write([]byte{0x00, 0x04, 0x00}); err != nil { // control stream, SETTINGS {}
		t.Fatal(err)
	}
	return qc
}

// frame is an HTTP/3 frame: type, length, payload.
func frame(typ uint64, payload []byte) []byte {
	b := quicvarint.Append(nil, typ)
	b = quicvarint.Append(b, uint64(len(payload)))
	return append(b, payload...)
}

// headers is a HEADERS frame of name, value pairs, QPACK-encoded.
func headers(fields ...string) []byte {
	var buf bytes.Buffer
	enc := qpack.NewEncoder(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		_ = enc.WriteField(qpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return frame(0x01, buf.Bytes())
}

// data is a DATA frame.
func data(s string) []byte { return frame(0x00, []byte(s)) }

// request is the HEADERS frame of a request with the usual pseudo-headers
// followed by more fields.
func request(method, path string, more ...string) []byte {
	return headers(append([]string{":method", method, ":scheme", "https", ":authority", "localhost", ":path", path}, more...)...)
}

// rawResult is how the server answered a raw request: the response status
// (0: none), the body, and the stream error code when the stream was reset
// (-1: not reset).
type rawResult struct {
	status int
	fields []string // the names of the head's other fields
	body   string
	reset  int64
	err    error // another error (a timeout)
}

func (r rawResult) String() string {
	return fmt.Sprintf("status %d, body %q, reset %#x, err %v", r.status, r.body, r.reset, r.err)
}

// rawRequest opens a stream, writes b, then FIN (fin) or FIN once the
// response head arrived, and reads the response.
func rawRequest(t testing.TB, qc *quic.Conn, b []byte, fin bool) rawResult {
	t.Helper()
	str := openRaw(t, qc, b)
	if fin {
		str.Close()
		return readResponse(str, nil)
	}
	return readResponse(str, func() { str.Close() })
}

// openRaw opens a stream, with a deadline of rawDeadline, and writes b.
func openRaw(t testing.TB, qc *quic.Conn, b []byte) *quic.Stream {
	t.Helper()
	// Waits (bounded) for stream credit: the server returns it once earlier
	// streams are done, which may be just after their resets arrived.
	ctx, cancel := context.WithTimeout(context.Background(), rawDeadline)
	defer cancel()
	str, err := qc.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = str.SetDeadline(time.Now().Add(rawDeadline))
	if _, err := str.Write(b); err != nil {
		t.Fatal(err)
	}
	return str
}

// readResponse reads a response's frames until the stream ends, calling
// onHead (if not nil) once the head arrived.
func readResponse(str *quic.Stream, onHead func()) rawResult {
	res := rawResult{reset: -1}
	r := quicvarint.NewReader(str)
	for {
		typ, err := quicvarint.Read(r)
		var length uint64
		if err == nil {
			length, err = quicvarint.Read(r)
		}
		payload := make([]byte, length)
		if err == nil {
			_, err = io.ReadFull(str, payload)
		}
		if err != nil {
			return res.ended(err)
		}
		switch typ {
		case 0x01:
			if res.status == 0 {
				res.status, res.fields = decodeHead(payload)
				if onHead != nil {
					onHead()
				}
			}
		case 0x00:
			res.body += string(payload)
		}
	}
}

// ended records how reading a response ended.
func (r rawResult) ended(err error) rawResult {
	var serr *quic.StreamError
	switch {
	case errors.As(err, &serr):
		r.reset = int64(serr.ErrorCode)
	case err != io.EOF:
		r.err = err
	}
	return r
}

// decodeHead returns the status of a response head (-1: none) and the
// names of its other fields.
func decodeHead(block []byte) (status int, names []string) {
	status = -1
	next := qpack.NewDecoder().Decode(block)
	for {
		f, err := next()
		if err != nil {
			return status, names
		}
		if f.Name == ":status" {
			status, _ = strconv.Atoi(f.Value)
		} else {
			names = append(names, f.Name)
		}
	}
}
