package server

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// The unencrypted test vector of draft-ietf-quic-load-balancers-21
// (section "Load Balancer Test Vectors"): config rotation 0, server ID
// c4605e, nonce 4504cc4f, the length self-encoded.
func TestQUICLBDraftTestVector(t *testing.T) {
	cid, _ := hex.DecodeString("07c4605e4504cc4f")
	sid, _ := hex.DecodeString("c4605e")
	g := newQUICLBGenerator(0, sid, 4)
	id, err := g.GenerateConnectionID()
	if err != nil {
		t.Fatal(err)
	}
	if g.ConnectionIDLen() != len(cid) || id.Len() != len(cid) || !bytes.Equal(id.Bytes()[:4], cid[:4]) {
		t.Fatalf("generated %x, want %x followed by a 4-byte nonce", id.Bytes(), cid[:4])
	}
	rotation, got, ok := QUICLBServerIDOf(cid, 3)
	if !ok || rotation != 0 || !bytes.Equal(got, sid) {
		t.Fatalf("QUICLBServerIDOf = %d %x %v", rotation, got, ok)
	}
}

func TestQUICLBConnectionIDLayout(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		prefix string // first octet, server ID, worker byte
		length int
		lbSID  int // the server ID length a load balancer is configured with
	}{
		{"reusePort, worker 5", Config{ReusePort: true, WorkerID: 5}, "09" + "05", 10, 1},
		{"reusePort, worker 255, rotation 6", Config{ReusePort: true, WorkerID: 255, QUICLBConfigRotation: 6}, "c9" + "ff", 10, 1},
		{"server ID only", Config{QUICLBServerID: []byte{0xab, 0xcd}}, "0a" + "abcd", 11, 2},
		{"server ID and worker 7, rotation 2", Config{QUICLBServerID: []byte{0xab, 0xcd}, ReusePort: true, WorkerID: 7, QUICLBConfigRotation: 2}, "4b" + "abcd" + "07", 12, 2},
		{"longest server ID", Config{QUICLBServerID: bytes.Repeat([]byte{1}, MaxQUICLBServerID), ReusePort: true, WorkerID: 3}, "13" + "01010101010101010101" + "03", 20, MaxQUICLBServerID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.validate(); err != nil {
				t.Fatal(err)
			}
			g := tc.cfg.connectionIDGenerator()
			if g == nil || g.ConnectionIDLen() != tc.length {
				t.Fatalf("generator %v, want length %d", g, tc.length)
			}
			prefix, _ := hex.DecodeString(tc.prefix)
			seen := map[string]bool{}
			for range 1000 {
				id, err := g.GenerateConnectionID()
				if err != nil {
					t.Fatal(err)
				}
				b := id.Bytes()
				if len(b) != tc.length || !bytes.HasPrefix(b, prefix) {
					t.Fatalf("connection ID %x: want %d bytes starting with %x", b, tc.length, prefix)
				}
				if int(b[0]&0x1f) != len(b)-1 {
					t.Fatalf("connection ID %x: the first octet does not encode the length %d", b, len(b)-1)
				}
				if seen[string(b)] {
					t.Fatalf("connection ID %x issued twice", b)
				}
				seen[string(b)] = true
				rotation, sid, ok := QUICLBServerIDOf(b, tc.lbSID)
				if !ok || rotation != tc.cfg.QUICLBConfigRotation || !bytes.Equal(sid, prefix[1:1+tc.lbSID]) {
					t.Fatalf("a load balancer reads %d %x %v from %x", rotation, sid, ok, b)
				}
				if tc.cfg.ReusePort {
					// A short header packet: one byte, then the connection ID.
					packet := append([]byte{0x40}, b...)
					if packet[tc.cfg.workerIDOffset()] != byte(tc.cfg.WorkerID) {
						t.Fatalf("packet %x: worker byte at %d is not %d", packet, tc.cfg.workerIDOffset(), tc.cfg.WorkerID)
					}
				}
			}
		})
	}
	if g := (&Config{}).connectionIDGenerator(); g != nil {
		t.Fatalf("without ReusePort or a server ID: %v, want quic-go's own connection IDs", g)
	}
}

func TestQUICLBUnroutableAndShort(t *testing.T) {
	for _, tc := range []struct {
		name string
		cid  string
	}{
		{"config rotation 0b111", "e7c4605e4504cc4f"},
		{"too short for the nonce", "07c4605e4504cc"},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cid, _ := hex.DecodeString(tc.cid)
			if _, _, ok := QUICLBServerIDOf(cid, 3); ok {
				t.Fatal("read as routable")
			}
		})
	}
}

func TestQUICLBConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"server ID too long", Config{QUICLBServerID: make([]byte, MaxQUICLBServerID+1)}},
		{"rotation 7", Config{QUICLBConfigRotation: 7}},
		{"negative rotation", Config{QUICLBConfigRotation: -1}},
		{"worker 256", Config{ReusePort: true, WorkerID: 256}},
		{"negative worker", Config{ReusePort: true, WorkerID: -1}},
		{"worker not below workers", Config{ReusePort: true, WorkerID: 2, Workers: 2}},
		{"too many workers", Config{ReusePort: true, Workers: 257}},
		{"short cluster secret", Config{ClusterSecret: []byte("short")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.validate(); !errors.Is(err, ErrConfig) {
				t.Fatalf("validate = %v, want ErrConfig", err)
			}
		})
	}
}

// TestServerIssuesQUICLBConnectionIDs: the connection IDs a server
// chooses, as seen on the wire, carry its QUIC-LB server ID.
func TestServerIssuesQUICLBConnectionIDs(t *testing.T) {
	sid := []byte{0x5e, 0x77}
	s, _, _ := startServer(t, Config{QUICLBServerID: sid, QUICLBConfigRotation: 1}, func(s *Server) {
		mustRoute(t, s, "GET", "/", func(req *Request, res *Response) { res.End(nil) })
	})
	proxy := startHandshakeDelayProxy(t, s.Port(), 0)
	qc := dialRawPort(t, proxy.Port())
	if res := rawRequest(t, qc, request("GET", "/"), true); res.status != 200 {
		t.Fatalf("GET: %v", res)
	}
	cids := proxy.ServerCIDs()
	if len(cids) == 0 {
		t.Fatal("no long header packet from the server")
	}
	for _, cid := range cids {
		rotation, got, ok := QUICLBServerIDOf(cid, len(sid))
		if !ok || rotation != 1 || !bytes.Equal(got, sid) || len(cid) != 1+len(sid)+quicLBNonceLen {
			t.Fatalf("server connection ID %x: rotation %d, server ID %x", cid, rotation, got)
		}
	}
}
