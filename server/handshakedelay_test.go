package server

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go/quicvarint"
)

// handshakeDelayProxy relays UDP between one client and a server on
// 127.0.0.1, and holds back for a while every datagram that carries a
// Handshake or 1-RTT packet, both ways: the client stays in 0-RTT until
// the server's flight arrives, and the server's handshake completes only
// once the client's Finished arrives, at least twice the hold after the
// client's first packets; Initial and 0-RTT packets go through at once.
// What the server does with 0-RTT data before its handshake completes
// then shows, whatever the speed of the machine.
type handshakeDelayProxy struct {
	conn   *net.UDPConn
	server *net.UDPAddr
	hold   time.Duration

	mu         sync.Mutex
	client     *net.UDPAddr
	held       int      // datagrams held back so far
	serverCIDs [][]byte // source connection IDs of the server's long header packets
}

// startHandshakeDelayProxy relays to the server's port; the client dials
// the proxy's Addr.
func startHandshakeDelayProxy(t *testing.T, serverPort int, hold time.Duration) *handshakeDelayProxy {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &handshakeDelayProxy{conn: conn, server: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: serverPort}, hold: hold}
	var wg sync.WaitGroup
	wg.Go(p.relay)
	t.Cleanup(func() {
		conn.Close()
		wg.Wait()
	})
	return p
}

// Addr is where the client sends.
func (p *handshakeDelayProxy) Addr() string { return p.conn.LocalAddr().String() }

// Port is the port of Addr.
func (p *handshakeDelayProxy) Port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

// Held is the number of datagrams held back so far.
func (p *handshakeDelayProxy) Held() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}

func (p *handshakeDelayProxy) relay() {
	buf := make([]byte, 2048)
	for {
		n, from, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		b := append([]byte(nil), buf[:n]...)
		hold := carriesHandshakeOr1RTT(b)
		p.mu.Lock()
		to := p.server
		if from.Port == p.server.Port && from.IP.Equal(p.server.IP) {
			to = p.client
			if scid := longHeaderSourceCID(b); scid != nil {
				p.serverCIDs = append(p.serverCIDs, scid)
			}
		} else {
			p.client = from
		}
		if hold {
			p.held++
		}
		p.mu.Unlock()
		if to == nil {
			continue
		}
		if !hold {
			_, _ = p.conn.WriteToUDP(b, to)
			continue
		}
		time.AfterFunc(p.hold, func() { _, _ = p.conn.WriteToUDP(b, to) })
	}
}

// ServerCIDs returns the source connection IDs of the server's long header
// packets so far: the connection IDs it chose.
func (p *handshakeDelayProxy) ServerCIDs() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.serverCIDs...)
}

// longHeaderSourceCID is the source connection ID of a datagram's first
// packet when it has a long header.
func longHeaderSourceCID(b []byte) []byte {
	if len(b) < 7 || b[0]&0x80 == 0 {
		return nil
	}
	p := 6 + int(b[5])
	if p >= len(b) || p+1+int(b[p]) > len(b) {
		return nil
	}
	return append([]byte(nil), b[p+1:p+1+int(b[p])]...)
}

// QUIC versions 1 and 2 number the long header packet types differently.
const quicVersion2 = 0x6b3343cf

// carriesHandshakeOr1RTT reports whether a datagram holds a Handshake
// packet or a short header (1-RTT) packet among its coalesced packets.
func carriesHandshakeOr1RTT(b []byte) bool {
	for len(b) > 6 {
		if b[0]&0x80 == 0 {
			return true // a short header packet fills the rest of the datagram
		}
		typ := b[0] >> 4 & 3 // not under header protection
		version := uint32(b[1])<<24 | uint32(b[2])<<16 | uint32(b[3])<<8 | uint32(b[4])
		initial, handshake := typ == 0, typ == 2
		if version == quicVersion2 {
			initial, handshake = typ == 1, typ == 3
		}
		if handshake {
			return true
		}
		p := 5
		p += 1 + int(b[p]) // destination connection ID
		if p >= len(b) {
			return false
		}
		p += 1 + int(b[p]) // source connection ID
		if p >= len(b) {
			return false
		}
		if initial {
			tokenLen, n, err := quicvarint.Parse(b[p:])
			if err != nil {
				return false
			}
			p += n + int(tokenLen)
		}
		if p >= len(b) {
			return false
		}
		length, n, err := quicvarint.Parse(b[p:])
		if err != nil {
			return false
		}
		p += n + int(length)
		if p > len(b) {
			return false
		}
		b = b[p:]
	}
	return false
}
