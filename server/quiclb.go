package server

import (
	"crypto/rand"
	"fmt"

	"github.com/quic-go/quic-go"
)

// QUIC-LB connection IDs (draft-ietf-quic-load-balancers-21, the
// unencrypted "plaintext" configuration): a connection ID names the server
// that issued it, so that whoever routes packets (the kernel's socket
// selection for the workers on one port, a layer-4 load balancer in front
// of many machines) sends every packet of a connection to its server, also
// after the client's address changed.
//
//	QUIC-LB Connection ID {
//	  First Octet {
//	    Config Rotation (3),   // Config.QUICLBConfigRotation, never 0b111
//	    CID Length (5),        // the length after this octet (self-description)
//	  },
//	  Server ID (8..80),       // Config.QUICLBServerID, or the worker ID
//	  Nonce (72..),            // [worker ID (8), with both], random (64)
//	}
//
// With both a QUIC-LB server ID (the machine, for the load balancer) and
// ReusePort, the worker's byte follows the server ID: the load balancer
// counts it as part of the nonce, as the draft's "Server Process
// Demultiplexing" section suggests, and the kernel reads it on the machine.

// Limits of the QUIC-LB configuration.
const (
	// MaxQUICLBServerID is the longest Config.QUICLBServerID: with the
	// worker's byte and the nonce, a connection ID fills QUIC v1's 20 bytes.
	MaxQUICLBServerID = 10
	// MaxQUICLBConfigRotation is the highest config rotation codepoint
	// (0b111 marks unroutable connection IDs).
	MaxQUICLBConfigRotation = 6
	// MaxWorkerID is the highest Config.WorkerID: one byte of the
	// connection ID.
	MaxWorkerID = 255
	// quicLBNonceLen is the random part of every connection ID: 64 bits
	// make a collision between the connection IDs of one server unlikely.
	quicLBNonceLen = 8
)

// quicLBGenerator makes QUIC-LB plaintext connection IDs: a fixed prefix
// (first octet, server ID, worker byte) and a random nonce.
type quicLBGenerator struct {
	prefix []byte
	length int
}

var _ quic.ConnectionIDGenerator = (*quicLBGenerator)(nil)

// newQUICLBGenerator makes the generator for a configuration rotation
// codepoint, a server ID (with the worker byte when it has one) and a
// nonce length.
func newQUICLBGenerator(configRotation int, serverID []byte, nonceLen int) *quicLBGenerator {
	length := 1 + len(serverID) + nonceLen
	prefix := append([]byte{byte(configRotation)<<5 | byte(length-1)}, serverID...)
	return &quicLBGenerator{prefix: prefix, length: length}
}

// GenerateConnectionID makes a new connection ID: the prefix and fresh
// random bytes (the draft requires a nonce with no observable relation to
// earlier ones).
func (g *quicLBGenerator) GenerateConnectionID() (quic.ConnectionID, error) {
	b := make([]byte, g.length)
	copy(b, g.prefix)
	if _, err := rand.Read(b[len(g.prefix):]); err != nil {
		return quic.ConnectionID{}, err
	}
	return quic.ConnectionIDFromBytes(b), nil
}

// ConnectionIDLen is the fixed length of the connection IDs.
func (g *quicLBGenerator) ConnectionIDLen() int { return g.length }

// connectionIDGenerator is the generator the configuration asks for: QUIC-LB
// connection IDs with ReusePort (the worker byte) or a QUIC-LB server ID;
// nil (quic-go's random ones) otherwise.
func (c *Config) connectionIDGenerator() *quicLBGenerator {
	if !c.ReusePort && len(c.QUICLBServerID) == 0 {
		return nil
	}
	return newQUICLBGenerator(c.QUICLBConfigRotation, c.routingID(), quicLBNonceLen)
}

// routingID is what follows the first octet before the nonce: the QUIC-LB
// server ID, then the worker byte with ReusePort.
func (c *Config) routingID() []byte {
	id := append([]byte(nil), c.QUICLBServerID...)
	if c.ReusePort {
		id = append(id, byte(c.WorkerID))
	}
	return id
}

// workerIDOffset is where a packet's worker byte is with ReusePort: after
// the short header's first byte, the connection ID's first octet and the
// QUIC-LB server ID.
func (c *Config) workerIDOffset() int { return 2 + len(c.QUICLBServerID) }

// QUICLBServerIDOf reads a QUIC-LB plaintext connection ID as a load
// balancer configured with the given server ID length would: the config
// rotation codepoint and the server ID. ok is false for a connection ID
// too short to hold them or marked unroutable (0b111).
func QUICLBServerIDOf(cid []byte, serverIDLen int) (configRotation int, serverID []byte, ok bool) {
	if serverIDLen < 1 || len(cid) < 1+serverIDLen+4 || cid[0]>>5 == 7 {
		return 0, nil, false
	}
	return int(cid[0] >> 5), cid[1 : 1+serverIDLen], true
}

// validateQUICLB checks the connection ID settings.
func (c *Config) validateQUICLB() error {
	if len(c.QUICLBServerID) > MaxQUICLBServerID {
		return configError("quicLbServerId must have at most %d bytes", MaxQUICLBServerID)
	}
	if c.QUICLBConfigRotation < 0 || c.QUICLBConfigRotation > MaxQUICLBConfigRotation {
		return configError("quicLbConfigRotation must be 0-%d", MaxQUICLBConfigRotation)
	}
	if c.ReusePort && !reusePortSupported {
		return configError("reusePort needs Linux")
	}
	if c.WorkerID < 0 || c.WorkerID > MaxWorkerID {
		return configError("workerId %d is outside 0-%d", c.WorkerID, MaxWorkerID)
	}
	if c.Workers < 0 || c.Workers > MaxWorkerID+1 {
		return configError("workers must be 1-%d", MaxWorkerID+1)
	}
	if c.Workers > 0 && c.WorkerID >= c.Workers {
		return configError("workerId %d is not below workers (%d)", c.WorkerID, c.Workers)
	}
	return nil
}

// String describes a connection ID layout for logs.
func (g *quicLBGenerator) String() string {
	return fmt.Sprintf("QUIC-LB plaintext, %d bytes, prefix %x", g.length, g.prefix)
}
