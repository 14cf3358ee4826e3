package client

import (
	"io"
	"net/http"
	"testing"

	"github.com/zig-h3/h3bun/client/clienttest"
)

func TestQUICDatagrams(t *testing.T) {
	t.Parallel()
	s := clienttest.NewServer(t)
	for _, tc := range []struct {
		name, alpn string
	}{
		{"own-alpn", clienttest.ALPN},
		{"h3-raw", "h3"}, // GET / makes the server echo raw datagrams
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := clienttest.Context(t)
			qconn, err := DialQUIC(ctx, s.Addr, tc.alpn, insecure)
			if err != nil {
				t.Fatal(err)
			}
			defer qconn.CloseWithError(0, "")
			if tc.alpn == "h3" {
				conn := NewConnRawDatagrams(qconn, insecure)
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+s.Addr+"/", nil)
				rsp, err := conn.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(rsp.Body)
				rsp.Body.Close()
				if rsp.StatusCode != 200 || string(body) != "ok" {
					t.Fatalf("GET /: %d %q", rsp.StatusCode, body)
				}
			}
			max := MaxDatagramPayloadSize(qconn)
			if max < 1000 || max > 1500 {
				t.Errorf("MaxDatagramPayloadSize %d", max)
			}
			if err := qconn.SendDatagram(make([]byte, max+1)); !IsDatagramTooLarge(err) {
				t.Errorf("sending %d bytes: %v", max+1, err)
			}
			echoDatagram(t, ctx, qconn, make([]byte, max))
		})
	}
}
