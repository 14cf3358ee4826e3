package client

import (
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"testing"

	"github.com/quic-go/quic-go"
	"github.com/zig-h3/h3bun/client/clienttest"
)

func TestConfigTLS(t *testing.T) {
	t.Parallel()
	s := clienttest.NewServer(t)
	for _, tc := range []struct {
		name    string
		cfg     *Config
		wantErr error // nil: the handshake must succeed; errAny: any error
	}{
		{"insecure", &Config{InsecureSkipVerify: true}, nil},
		{"pinned", &Config{ServerCertificateHashes: [][sha256.Size]byte{{1}, s.CertificateHash()}}, nil},
		{"wrong-pin", &Config{ServerCertificateHashes: [][sha256.Size]byte{{1}}}, ErrCertificateNotPinned},
		{"roots", &Config{TLSConfig: &tls.Config{RootCAs: s.CertPool()}}, nil},
		{"unknown-authority", nil, errAny},
		{"insecure-over-pin", &Config{InsecureSkipVerify: true, ServerCertificateHashes: [][sha256.Size]byte{{1}}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn, err := DialQUIC(clienttest.Context(t), s.Addr, clienttest.ALPN, tc.cfg)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatal(err)
			case tc.wantErr == nil:
				conn.CloseWithError(0, "")
			case err == nil:
				conn.CloseWithError(0, "")
				t.Fatal("the handshake succeeded")
			case tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// errAny stands for any error in a test table.
var errAny = errors.New("any error")

func TestConfigQUIC(t *testing.T) {
	t.Parallel()
	base := &quic.Config{MaxIncomingStreams: -1}
	for _, tc := range []struct {
		name          string
		cfg           *Config
		wantDatagrams bool
		wantStreams   int64
	}{
		{"nil", nil, false, 0},
		{"datagrams", &Config{EnableDatagrams: true}, true, 0},
		{"base", &Config{QUICConfig: base}, false, -1},
		{"base-datagrams", &Config{QUICConfig: base, EnableDatagrams: true}, true, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.cfg.QUIC()
			if got.EnableDatagrams != tc.wantDatagrams || got.MaxIncomingStreams != tc.wantStreams {
				t.Errorf("got %+v", got)
			}
			if got == base {
				t.Error("the base config is not cloned")
			}
		})
	}
	if base.EnableDatagrams {
		t.Error("the base config was modified")
	}
}

func TestConfigALPN(t *testing.T) {
	t.Parallel()
	base := &tls.Config{NextProtos: []string{"x"}, ServerName: "example"}
	got := (&Config{TLSConfig: base}).TLS("h3")
	if len(got.NextProtos) != 1 || got.NextProtos[0] != "h3" || got.ServerName != "example" {
		t.Errorf("got NextProtos %v, ServerName %q", got.NextProtos, got.ServerName)
	}
	if base.NextProtos[0] != "x" {
		t.Error("the base config was modified")
	}
}
