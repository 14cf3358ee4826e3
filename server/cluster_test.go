package server

import (
	"bytes"
	"testing"
)

func TestClusterKeys(t *testing.T) {
	secret := []byte("0123456789abcdef")
	a, b := deriveClusterKeys(secret), deriveClusterKeys(bytes.Clone(secret))
	if a == nil || *a != *b {
		t.Fatal("the same secret gives other keys")
	}
	if c := deriveClusterKeys([]byte("0123456789abcdeF")); c.statelessReset == a.statelessReset || c.sessionTicket == a.sessionTicket || c.addressToken == a.addressToken {
		t.Fatal("another secret shares a key")
	}
	if a.statelessReset == a.sessionTicket || [32]byte(a.addressToken) == a.sessionTicket || [32]byte(a.addressToken) == [32]byte(a.statelessReset) {
		t.Fatal("two keys of one secret are equal")
	}
	if deriveClusterKeys(nil) != nil {
		t.Fatal("keys without a secret")
	}
}

// TestTransportKeys: the QUIC transport gets the cluster's keys with a
// secret, and no stateless reset key without one.
func TestTransportKeys(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secret []byte
	}{
		{"no secret", nil},
		{"secret", []byte("a secret of sixteen bytes or more")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _ := startServer(t, Config{ClusterSecret: tc.secret}, nil)
			keys := deriveClusterKeys(tc.secret)
			tr := s.transport
			switch {
			case keys == nil && tr.StatelessResetKey != nil:
				t.Fatal("a stateless reset key without a secret")
			case keys != nil && (tr.StatelessResetKey == nil || *tr.StatelessResetKey != keys.statelessReset):
				t.Fatal("not the cluster's stateless reset key")
			case keys != nil && (tr.TokenGeneratorKey == nil || *tr.TokenGeneratorKey != keys.addressToken):
				t.Fatal("not the cluster's address token key")
			}
		})
	}
}
