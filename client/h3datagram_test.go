package client

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/zig-h3/h3bun/client/clienttest"
)

func TestH3Datagrams(t *testing.T) {
	t.Parallel()
	s := clienttest.NewServer(t)
	for _, tc := range []struct {
		name       string
		cfg        *Config
		wantStatus int // the server refuses requests of a client without HTTP/3 datagrams
	}{
		{"enabled", insecure, 200},
		{"disabled", &Config{InsecureSkipVerify: true}, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := clienttest.Context(t)
			conn, err := DialH3(ctx, s.Addr, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if err := conn.RequireH3Datagrams(ctx); err != nil {
				t.Fatal(err)
			}
			ids := map[int64]bool{}
			for i := range 2 {
				str, err := conn.OpenRequestStream(ctx)
				if err != nil {
					t.Fatal(err)
				}
				ids[str.StreamID()] = true
				req, _ := http.NewRequest(http.MethodPost, "https://"+s.Addr+"/h3dg/echo", nil)
				rsp, err := str.SendRequest(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if rsp.StatusCode != tc.wantStatus {
					t.Fatalf("status %d", rsp.StatusCode)
				}
				if tc.wantStatus == 200 {
					echoDatagram(t, ctx, str, fmt.Appendf(nil, "request %d", i))
				}
				if err := str.Finish(time.Now().Add(time.Second)); err != nil {
					t.Errorf("Finish: %v", err)
				}
			}
			if len(ids) != 2 {
				t.Errorf("stream IDs %v", ids)
			}
		})
	}
}

func TestRequireH3DatagramsTimeout(t *testing.T) {
	t.Parallel()
	s := clienttest.NewServer(t)
	ctx := clienttest.Context(t)
	qconn, err := DialQUIC(ctx, s.Addr, "h3", insecure)
	if err != nil {
		t.Fatal(err)
	}
	conn := NewConnRawDatagrams(qconn, insecure) // never sees the SETTINGS
	defer conn.Close()
	short, cancel := contextWithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := conn.RequireH3Datagrams(short); err == nil {
		t.Error("got SETTINGS on a raw-datagram Conn")
	}
}
