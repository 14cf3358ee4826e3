//go:build linux

package server

import (
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// freeUDPPort is a UDP port of 127.0.0.1 that nothing holds now.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	udp := newLocalUDP(t)
	port := udp.LocalAddr().(*net.UDPAddr).Port
	udp.Close()
	return port
}

// workerSocketBound reports whether a worker holds its ID's socket.
func workerSocketBound(addr *net.UDPAddr, id int) bool {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: groupSocketName(addr, "worker/"+strconv.Itoa(id)), Net: "unix"})
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Two workers started at the same moment (by a service manager, or two
// crashed workers restarted together) must both start: the one that sets
// up the steering first must not wait for an answer from the other, which
// waits for the setup.
func TestReusePortWorkersStartTogether(t *testing.T) {
	port := freeUDPPort(t)
	addr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	// Hold the setup while both claim their IDs, so that they meet there.
	unlock, err := lockGroupSetup(addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for id := range 2 {
		cfg := Config{BindAddr: "127.0.0.1", Port: port, ReusePort: true, WorkerID: id}
		s, err := NewServer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Stop(true) })
		wg.Go(func() { errs[id] = s.Start() })
	}
	// Let both reach the setup (they may claim their IDs before it).
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if workerSocketBound(addr, 0) && workerSocketBound(addr, 1) {
			break
		}
	}
	unlock()
	wg.Wait()
	for id, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", id, err)
		}
	}
}
