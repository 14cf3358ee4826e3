package client

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// insecure is the Config of tests that do not test verification.
var insecure = &Config{InsecureSkipVerify: true, EnableDatagrams: true}

// echoDatagram sends b on d and waits for it to come back, sending again
// every 100 ms (datagrams may be lost).
func echoDatagram(t *testing.T, ctx context.Context, d Datagrammer, b []byte) {
	t.Helper()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for rctx.Err() == nil {
			if err := d.SendDatagram(b); err != nil {
				t.Errorf("SendDatagram: %v", err)
				return
			}
			select {
			case <-time.After(100 * time.Millisecond):
			case <-rctx.Done():
			}
		}
	}()
	got, err := d.ReceiveDatagram(ctx)
	if err != nil {
		t.Fatalf("ReceiveDatagram: %v", err)
	}
	if !bytes.Equal(got, b) {
		t.Fatalf("echo %q, want %q", got, b)
	}
}

// contextWithTimeout is context.WithTimeout.
var contextWithTimeout = context.WithTimeout
