package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"
	"github.com/zig-h3/h3bun/client/clienttest"
	"github.com/zig-h3/h3bun/client/internal/denotest"
)

// The tests against Deno's QUIC and WebTransport stack
// (tests/fixtures/deno-*.ts), an implementation this project did not
// write. Its WebTransport server enables neither RESET_STREAM_AT nor
// SETTINGS_WT_ENABLED (only the ENABLE_WEBTRANSPORT of the earlier drafts),
// and it never sends a FIN on its streams: the tests read the bytes they
// expect and never wait for the end of a stream.

// pinned is the Config that accepts exactly the certificate of s.
func pinned(s *denotest.Server) *Config {
	return &Config{ServerCertificateHashes: [][sha256.Size]byte{s.CertHash}, EnableDatagrams: true}
}

func TestDenoWebTransport(t *testing.T) {
	t.Parallel()
	s := denotest.Start(t, denotest.WebTransportServer)
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, ctx context.Context, sess *Session)
	}{
		{"datagram-echo", func(t *testing.T, ctx context.Context, sess *Session) {
			echoDatagram(t, ctx, sess, []byte("datagram to deno"))
		}},
		{"stream-echo-200kB", func(t *testing.T, ctx context.Context, sess *Session) {
			str, err := sess.OpenStreamSync(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer str.CancelRead(0)
			echoIncrementally(t, ctx, str, str, 200_000)
		}},
		{"uni-stream-echo", func(t *testing.T, ctx context.Context, sess *Session) {
			out, err := sess.OpenUniStreamSync(ctx)
			if err != nil {
				t.Fatal(err)
			}
			in := make(chan io.Reader, 1)
			go func() {
				str, err := sess.AcceptUniStream(ctx)
				if err != nil {
					t.Errorf("AcceptUniStream: %v", err)
					in <- strings.NewReader("")
					return
				}
				if deadline, ok := ctx.Deadline(); ok {
					str.SetReadDeadline(deadline)
				}
				in <- str
			}()
			echoIncrementally(t, ctx, out, readerOf(in), 20_000)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := clienttest.Context(t)
			rsp, sess, err := DialWebTransport(ctx, "https://"+s.Addr+"/echo", nil, pinned(s))
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			if rsp.StatusCode != 200 {
				t.Fatalf("status %d", rsp.StatusCode)
			}
			if sess.QUICConn().ConnectionState().SupportsStreamResetPartialDelivery.Remote {
				t.Error("Deno now enables RESET_STREAM_AT: the fallback is no longer what this test exercises")
			}
			tc.run(t, ctx, sess)
		})
	}
}

// readerOf is a reader that reads from the reader ch delivers, once it
// comes (the stream echoing a unidirectional stream exists only once the
// server has read from that one).
func readerOf(ch <-chan io.Reader) io.Reader {
	return &lazyReader{ch: ch}
}

type lazyReader struct {
	ch <-chan io.Reader
	r  io.Reader
}

func (l *lazyReader) Read(p []byte) (int, error) {
	if l.r == nil {
		l.r = <-l.ch
	}
	return l.r.Read(p)
}

// echoIncrementally writes n bytes on w (closing it after) while it reads
// the echo from r as it comes, and checks the n bytes that come back. It
// does not wait for the end of r.
func echoIncrementally(t *testing.T, ctx context.Context, w io.WriteCloser, r io.Reader, n int) {
	t.Helper()
	if d, ok := w.(interface{ SetDeadline(time.Time) error }); ok {
		if deadline, ok := ctx.Deadline(); ok {
			d.SetDeadline(deadline)
		}
	}
	want := make([]byte, n)
	for i := range want {
		want[i] = byte(i*7 + i/251)
	}
	wrote := make(chan error, 1)
	go func() {
		for off := 0; off < n; off += 16 << 10 {
			if _, err := w.Write(want[off:min(off+16<<10, n)]); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- w.Close()
	}()
	got := make([]byte, n)
	reads := 0
	for off := 0; off < n; reads++ {
		m, err := r.Read(got[off:])
		off += m
		if err != nil {
			t.Fatalf("read %d of %d bytes: %v", off, n, err)
		}
	}
	if err := <-wrote; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the echo differs from what was sent")
	}
	t.Logf("%d bytes echoed in %d reads", n, reads)
}

// Each option of the patched webtransport-go (third_party/README.md) is
// needed against Deno: upstream's behaviour, or either option alone, is
// refused with a RequirementsNotMetError; both, as DialWebTransport sets
// them, open the session.
func TestDenoWebTransportNeedsPatch(t *testing.T) {
	t.Parallel()
	s := denotest.Start(t, denotest.WebTransportServer)
	for _, tc := range []struct {
		name    string
		tr      *webtransport.Transport
		wantErr string // "": the session opens
	}{
		{"upstream", &webtransport.Transport{}, "partial delivery"},
		{"plain-reset-only", &webtransport.Transport{AllowPlainStreamReset: true}, "didn't enable WebTransport"},
		{"draft06-only", &webtransport.Transport{AllowDraft06Servers: true}, "partial delivery"},
		{"both", newWebTransportTransport(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := clienttest.Context(t)
			conf := &quic.Config{EnableDatagrams: true, EnableStreamResetPartialDelivery: true}
			conn, err := dial(ctx, s.Addr, pinned(s).TLS(http3.NextProtoH3), conf)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseWithError(0, "")
			cc, err := tc.tr.NewClientConn(conn)
			if err != nil {
				t.Fatal(err)
			}
			_, sess, err := cc.Dial(ctx, "https://"+s.Addr+"/echo", nil)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				sess.CloseWithError(0, "")
				return
			}
			if err == nil {
				sess.CloseWithError(0, "")
				t.Fatal("the session was opened")
			}
			if _, ok := errors.AsType[*webtransport.RequirementsNotMetError](err); !ok || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want a RequirementsNotMetError about %q", err, tc.wantErr)
			}
		})
	}
}

func TestDenoQUICDatagrams(t *testing.T) {
	t.Parallel()
	s := denotest.Start(t, denotest.QUICServer)
	ctx := clienttest.Context(t)
	conn, err := DialQUIC(ctx, s.Addr, denotest.ALPN, pinned(s))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseWithError(0, "")
	for _, tc := range []struct{ name, payload string }{
		{"short", "raw datagram to deno"},
		{"1000-bytes", strings.Repeat("d", 1000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			echoDatagram(t, ctx, conn, []byte(tc.payload))
		})
	}
}
