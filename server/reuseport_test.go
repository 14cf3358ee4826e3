//go:build linux

package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// Several servers of this process on one port with ReusePort, as worker
// processes would be: the steering is the kernel's, whatever owns the
// sockets.

// startWorker starts a worker answering GET /worker with its ID.
func startWorker(t *testing.T, cfg Config, id, port int) *Server {
	t.Helper()
	cfg.BindAddr, cfg.Port, cfg.ReusePort, cfg.WorkerID = "127.0.0.1", port, true, id
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mustRoute(t, s, "GET", "/worker", func(req *Request, res *Response) { res.End([]byte(strconv.Itoa(id))) })
	if err := s.Start(); err != nil {
		t.Fatalf("worker %d: %v", id, err)
	}
	t.Cleanup(func() { s.Stop(true) })
	return s
}

// startWorkers starts n workers on one port, in ID order.
func startWorkers(t *testing.T, cfg Config, n int) []*Server {
	t.Helper()
	workers := []*Server{startWorker(t, cfg, 0, 0)}
	for id := 1; id < n; id++ {
		workers = append(workers, startWorker(t, cfg, id, workers[0].Port()))
	}
	return workers
}

// workerClient is one client connection with its own UDP socket.
type workerClient struct {
	tr *quic.Transport
	qc *quic.Conn
	cc *http3.ClientConn
}

func dialWorkers(t *testing.T, port int) *workerClient {
	t.Helper()
	tr := &quic.Transport{Conn: newLocalUDP(t)}
	t.Cleanup(func() { tr.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), rawDeadline)
	defer cancel()
	tlsConf := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}}
	qc, err := tr.Dial(ctx, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}, tlsConf, &quic.Config{MaxIdleTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { qc.CloseWithError(0, "") })
	return &workerClient{tr: tr, qc: qc, cc: (&http3.Transport{}).NewClientConn(qc)}
}

func newLocalUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return udp
}

// worker asks which worker answers on the connection.
func (c *workerClient) worker(timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://localhost/worker", nil)
	resp, err := c.cc.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// migrate moves the connection to a new local UDP socket: probe the new
// path, then switch to it.
func (c *workerClient) migrate(t *testing.T, timeout time.Duration) error {
	tr := &quic.Transport{Conn: newLocalUDP(t)}
	t.Cleanup(func() { tr.Close() })
	path, err := c.qc.AddPath(tr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := path.Probe(ctx); err != nil {
		return err
	}
	return path.Switch()
}

func TestReusePortSpreadsConnections(t *testing.T) {
	workers := startWorkers(t, Config{}, 2)
	for _, w := range workers {
		if w.Steering() != string(steeringEBPF) && w.Steering() != string(steeringCBPF) {
			t.Fatalf("steering %q", w.Steering())
		}
	}
	t.Logf("steering: %s; %s", workers[0].steeringInfo(), workers[1].steeringInfo())
	seen := map[string]int{}
	for range 40 {
		c := dialWorkers(t, workers[0].Port())
		w, err := c.worker(rawDeadline)
		if err != nil {
			t.Fatal(err)
		}
		seen[w]++
		c.qc.CloseWithError(0, "")
	}
	if seen["0"] == 0 || seen["1"] == 0 {
		t.Fatalf("connections from 40 client ports reached workers %v, want both", seen)
	}
	t.Logf("40 connections: %v", seen)
}

func TestReusePortWorkerIDTaken(t *testing.T) {
	workers := startWorkers(t, Config{}, 2)
	cfg := Config{BindAddr: "127.0.0.1", Port: workers[0].Port(), ReusePort: true, WorkerID: 1}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Start()
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "worker id 1 is already taken on port "+strconv.Itoa(workers[0].Port())) {
		t.Fatalf("a second worker 1: %v", err)
	}
	// The failed start left the group as it was.
	if w, err := dialWorkers(t, workers[0].Port()).worker(rawDeadline); err != nil || (w != "0" && w != "1") {
		t.Fatalf("after the refused worker: %q %v", w, err)
	}
}

// migrateAll opens n connections, notes their workers, migrates each to a
// new local socket and asks again; it returns how many kept working with
// the same worker.
func migrateAll(t *testing.T, port, n int, timeout time.Duration) (kept int, failures []string) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		c := dialWorkers(t, port)
		wg.Go(func() {
			fail := func(format string, args ...any) {
				mu.Lock()
				failures = append(failures, strconv.Itoa(i)+": "+fmt.Sprintf(format, args...))
				mu.Unlock()
			}
			before, err := c.worker(timeout)
			if err != nil {
				fail("before: %v", err)
				return
			}
			if err := c.migrate(t, timeout); err != nil {
				fail("migrating (worker %s): %v", before, err)
				return
			}
			for range 3 {
				after, err := c.worker(timeout)
				if err != nil || after != before {
					fail("after migrating: worker %q, was %s: %v", after, before, err)
					return
				}
			}
			mu.Lock()
			kept++
			mu.Unlock()
		})
	}
	wg.Wait()
	return kept, failures
}

func TestReusePortMigration(t *testing.T) {
	workers := startWorkers(t, Config{ClusterSecret: []byte("migration test cluster secret")}, 2)
	kept, failures := migrateAll(t, workers[0].Port(), 20, rawDeadline)
	if kept != 20 {
		t.Fatalf("%d of 20 migrated connections kept working with their worker (%s steering): %v", kept, workers[0].Steering(), failures)
	}
	t.Logf("20 of 20 migrated connections kept their worker (%s steering)", workers[0].Steering())
}

// TestReusePortGarbageDoesNotReset: short header packets with connection
// IDs no worker issued, naming each worker, an absent one, another config
// rotation, or random bytes, sent from the clients' own sockets and from a
// stranger's, reset no live connection, though the workers answer them
// with stateless resets (ClusterSecret: resets on).
func TestReusePortGarbageDoesNotReset(t *testing.T) {
	workers := startWorkers(t, Config{ClusterSecret: []byte("garbage test cluster secret")}, 2)
	port := workers[0].Port()
	var clients []*workerClient
	var owners []string
	for range 10 {
		c := dialWorkers(t, port)
		w, err := c.worker(rawDeadline)
		if err != nil {
			t.Fatal(err)
		}
		clients, owners = append(clients, c), append(owners, w)
	}
	stranger := newLocalUDP(t)
	serverAddr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	resets := 0
	buf := make([]byte, 2048)
	for _, tc := range []struct {
		name string
		cid  []byte // after the first byte
	}{
		{"worker 0", append([]byte{0x09, 0}, bytes.Repeat([]byte{0xa5}, 8)...)},
		{"worker 1", append([]byte{0x09, 1}, bytes.Repeat([]byte{0x5a}, 8)...)},
		{"absent worker 9", append([]byte{0x09, 9}, bytes.Repeat([]byte{0x11}, 8)...)},
		{"config rotation 0b111", append([]byte{0xe9, 1}, bytes.Repeat([]byte{0x22}, 8)...)},
		{"random", []byte{0x7f, 0x03, 0xc4, 0x19, 0x00, 0xfe, 0x42, 0x42, 0x08, 0x91}},
	} {
		packet := append([]byte{0x41}, tc.cid...)
		packet = append(packet, bytes.Repeat([]byte{0x33}, 100)...)
		// The stranger first: a worker queues few resets at a time.
		if _, err := stranger.WriteToUDP(packet, serverAddr); err != nil {
			t.Fatal(err)
		}
		_ = stranger.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, _, err := stranger.ReadFromUDP(buf); err == nil {
			resets++
		}
		for _, c := range clients {
			if _, err := c.tr.WriteTo(packet, serverAddr); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
		}
	}
	if resets == 0 {
		t.Fatal("no stateless reset came back: the test shows nothing")
	}
	for i, c := range clients {
		if w, err := c.worker(rawDeadline); err != nil || w != owners[i] {
			t.Fatalf("connection %d (worker %s) after the garbage: worker %q, %v", i, owners[i], w, err)
		}
	}
	t.Logf("%d stateless resets to the stranger; 10 live connections unaffected", resets)
}

// TestReusePortWorkerStops: when a worker stops, its connections end and
// the other's keep working; new connections all reach the one left; a new
// worker with the stopped one's ID takes its place.
func TestReusePortWorkerStops(t *testing.T) {
	workers := startWorkers(t, Config{}, 2)
	port := workers[0].Port()
	var clients []*workerClient
	var owners []string
	for len(clients) < 12 {
		c := dialWorkers(t, port)
		w, err := c.worker(rawDeadline)
		if err != nil {
			t.Fatal(err)
		}
		clients, owners = append(clients, c), append(owners, w)
	}
	if !strings.Contains(strings.Join(owners, ""), "0") || !strings.Contains(strings.Join(owners, ""), "1") {
		t.Fatalf("12 connections reached %v, want both workers", owners)
	}
	if err := workers[0].Stop(false); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		w, err := c.worker(2 * time.Second)
		switch {
		case owners[i] == "1" && (err != nil || w != "1"):
			t.Fatalf("connection %d of worker 1 after worker 0 stopped: %q, %v", i, w, err)
		case owners[i] == "0" && err == nil:
			t.Fatalf("connection %d of the stopped worker 0 still answered (%q)", i, w)
		}
	}
	for range 10 {
		if w, err := dialWorkers(t, port).worker(rawDeadline); err != nil || w != "1" {
			t.Fatalf("a new connection with worker 0 stopped: %q, %v", w, err)
		}
	}
	if workers[1].Steering() == string(steeringCBPF) {
		t.Log("classic steering (no CAP_BPF): a worker cannot come back without a restart of the group")
		return
	}
	startWorker(t, Config{}, 0, port)
	seen := map[string]bool{}
	for range 40 {
		w, err := dialWorkers(t, port).worker(rawDeadline)
		if err != nil {
			t.Fatal(err)
		}
		seen[w] = true
	}
	if !seen["0"] || !seen["1"] {
		t.Fatalf("after worker 0 came back, new connections reached %v", seen)
	}
	for i, c := range clients {
		if owners[i] == "1" {
			if w, err := c.worker(rawDeadline); err != nil || w != "1" {
				t.Fatalf("connection %d of worker 1 after worker 0 came back: %q, %v", i, w, err)
			}
		}
	}
}

// TestReusePortClassicSteering: the classic program (no CAP_BPF) steers
// too, while the workers joined in ID order; a worker that would not get
// the slot of its ID is refused.
func TestReusePortClassicSteering(t *testing.T) {
	forceClassicSteering = true
	t.Cleanup(func() { forceClassicSteering = false })
	workers := startWorkers(t, Config{}, 2)
	if got := workers[1].Steering(); got != string(steeringCBPF) {
		t.Fatalf("steering %q, want cbpf", got)
	}
	kept, failures := migrateAll(t, workers[0].Port(), 20, rawDeadline)
	if kept != 20 {
		t.Fatalf("%d of 20 migrated connections kept working with their worker: %v", kept, failures)
	}
	s, err := NewServer(Config{BindAddr: "127.0.0.1", Port: workers[0].Port(), ReusePort: true, WorkerID: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "ID order") {
		t.Fatalf("worker 3 after workers 0 and 1: %v", err)
	}
	startWorker(t, Config{}, 2, workers[0].Port()) // in order
}

// TestReusePortWorkersMustAgree: a worker whose connection IDs put the
// worker byte elsewhere (another QUIC-LB server ID length) is refused.
func TestReusePortWorkersMustAgree(t *testing.T) {
	workers := startWorkers(t, Config{}, 1)
	s, err := NewServer(Config{BindAddr: "127.0.0.1", Port: workers[0].Port(), ReusePort: true, WorkerID: 1, QUICLBServerID: []byte{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "must be the same") {
		t.Fatalf("a worker with another server ID length: %v", err)
	}
}

// TestReusePortWorkerCrash: a worker that vanishes without closing its
// connections (its socket closed under it, as a crash would) leaves its
// clients' packets to another worker, which answers with the stateless
// reset they were promised (the keys come from ClusterSecret): the clients
// learn at once that their connections are gone.
func TestReusePortWorkerCrash(t *testing.T) {
	workers := startWorkers(t, Config{ClusterSecret: []byte("crash test cluster secret")}, 2)
	var crashed []*workerClient
	for len(crashed) < 3 {
		c := dialWorkers(t, workers[0].Port())
		if w, err := c.worker(rawDeadline); err != nil {
			t.Fatal(err)
		} else if w == "0" {
			crashed = append(crashed, c)
		}
	}
	workers[0].udp.Close() // no CONNECTION_CLOSE goes out
	for i, c := range crashed {
		_, err := c.worker(rawDeadline)
		select { // the request fails as the reset arrives; the connection ends just after
		case <-c.qc.Context().Done():
		case <-time.After(rawDeadline):
		}
		var reset *quic.StatelessResetError
		if cause := context.Cause(c.qc.Context()); !errors.As(cause, &reset) {
			t.Fatalf("connection %d of the crashed worker: request error %v, connection ended by %v, want a stateless reset", i, err, cause)
		}
	}
}
