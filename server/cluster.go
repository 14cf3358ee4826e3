package server

import (
	"crypto/hkdf"
	"crypto/sha256"

	"github.com/quic-go/quic-go"
)

// MinClusterSecret is the shortest Config.ClusterSecret, in bytes.
const MinClusterSecret = 16

// clusterKeys are the keys every worker of a cluster derives from the
// shared Config.ClusterSecret, so that any of them can take over what
// another started:
//   - the stateless reset key: a worker that receives a packet for a
//     connection it does not know (its worker stopped or crashed) answers with
//     the stateless reset the client was promised, and the client learns
//     at once that the connection is gone;
//   - the address token key: a token from NEW_TOKEN or Retry issued by one
//     worker validates the client's address at any other;
//   - the TLS session ticket key: any worker resumes a session another
//     issued, with 0-RTT.
type clusterKeys struct {
	statelessReset quic.StatelessResetKey
	addressToken   quic.TokenGeneratorKey
	sessionTicket  [32]byte
}

// clusterKeySalt versions the derivation: a new one gives new keys.
const clusterKeySalt = "h3bun cluster keys v1"

// deriveClusterKeys derives the keys from the secret with HKDF-SHA256
// (RFC 5869), one label per key; nil without a secret.
func deriveClusterKeys(secret []byte) *clusterKeys {
	if len(secret) == 0 {
		return nil
	}
	var k clusterKeys
	derive := func(out []byte, label string) {
		key, err := hkdf.Key(sha256.New, secret, []byte(clusterKeySalt), label, len(out))
		if err != nil {
			panic(err) // only for lengths over 255 * 32 bytes
		}
		copy(out, key)
	}
	derive(k.statelessReset[:], "stateless reset")
	derive(k.addressToken[:], "address token")
	derive(k.sessionTicket[:], "tls session ticket")
	return &k
}
