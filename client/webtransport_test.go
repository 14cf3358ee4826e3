package client

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/quic-go/webtransport-go"
	"github.com/zig-h3/h3bun/client/clienttest"
)

func TestWebTransport(t *testing.T) {
	t.Parallel()
	s := clienttest.NewServer(t)
	for _, tc := range []struct {
		name, path string
		wantStatus int
		wantErr    bool
	}{
		{"echo", "/wt/echo", 200, false},
		{"reject", "/wt/reject", 403, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := clienttest.Context(t)
			hdr := http.Header{"Origin": {"http://" + s.Addr}}
			rsp, sess, err := DialWebTransport(ctx, "https://"+s.Addr+tc.path, hdr, &Config{InsecureSkipVerify: true})
			if rsp == nil || rsp.StatusCode != tc.wantStatus || (err != nil) != tc.wantErr {
				t.Fatalf("response %v, error %v", rsp, err)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "403") {
					t.Errorf("error %v", err)
				}
				return
			}
			defer sess.Close()
			echoDatagram(t, ctx, sess, []byte("wt datagram"))
			str, err := sess.OpenStreamSync(ctx)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(str, "wt stream")
			str.Close()
			if got, err := io.ReadAll(str); err != nil || string(got) != "wt stream" {
				t.Errorf("stream echo %q, %v", got, err)
			}
		})
	}
}

func TestSessionClose(t *testing.T) {
	t.Parallel()
	s := clienttest.NewServer(t)
	ctx := clienttest.Context(t)
	_, sess, err := DialWebTransport(ctx, "https://"+s.Addr+"/wt/close", nil, &Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.CloseWithError(7, "bye"); err != nil {
		t.Fatal(err)
	}
	select {
	case se := <-s.ClientCloses:
		if se.ErrorCode != 7 || se.Message != "bye" {
			t.Errorf("the server saw %d %q", se.ErrorCode, se.Message)
		}
	case <-ctx.Done():
		t.Error("the server saw no WT_CLOSE_SESSION")
	}
	sess.Close() // the session is closed already: only the connection goes
	<-sess.QUICConn().Context().Done()
	if _, err := sess.AcceptStream(ctx); !isSessionError(err) {
		t.Errorf("AcceptStream after Close: %v", err)
	}
}

// isSessionError reports whether err is a WebTransport session error.
func isSessionError(err error) bool {
	var se *webtransport.SessionError
	return errors.As(err, &se)
}
