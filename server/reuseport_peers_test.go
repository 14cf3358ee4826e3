//go:build linux

package server

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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

// fakePeer holds worker ID id's socket on addr's port and answers every
// worker that asks with msg and the descriptors fds.
func fakePeer(t *testing.T, addr *net.UDPAddr, id int, msg string, fds ...int) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: groupSocketName(addr, "worker/"+strconv.Itoa(id)), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			var oob []byte
			if len(fds) > 0 {
				oob = unix.UnixRights(fds...)
			}
			_, _, _ = c.WriteMsgUnix([]byte(msg), oob, nil)
			c.Close()
		}
	}()
}

// A worker ID's socket is an abstract unix socket, which any user of the
// machine may bind: a joining worker must not take the steering (or a map)
// from a process of another user, which cannot be in the group (the
// kernel keeps other users out of it): here a squatter of worker ID 1's
// socket announces a steering the joining worker 0 disagrees with.
func TestReusePortPeerOfAnotherUser(t *testing.T) {
	port := freeUDPPort(t)
	addr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	fakePeer(t, addr, 1, fmt.Sprintf("h3bun-steering v1 %s 9 0", steeringCBPF))
	groupUID = func() int { return os.Geteuid() + 1 } // the fake peer is another user
	t.Cleanup(func() { groupUID = os.Geteuid })
	s, err := NewServer(Config{BindAddr: "127.0.0.1", Port: port, ReusePort: true, WorkerID: 0})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(true) })
	if err := s.Start(); err != nil {
		t.Fatalf("Start next to a squatter of another user: %v", err)
	}
}

// openFDs counts the descriptors of the process.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	return len(entries)
}

// A peer's answer with more descriptors than the one map is refused, and
// the descriptors received are closed.
func TestReusePortPeerAnswerClosesExtraFDs(t *testing.T) {
	port := freeUDPPort(t)
	addr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	f1, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f1.Close()
	f2, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	fakePeer(t, addr, 0, fmt.Sprintf("h3bun-steering v1 %s 2 0", steeringEBPF), int(f1.Fd()), int(f2.Fd()))
	before := openFDs(t)
	for range 5 {
		if _, found, err := askPeers(addr, 1); err == nil && found {
			t.Fatal("an answer with two descriptors was taken")
		}
	}
	if after := openFDs(t); after > before {
		t.Fatalf("%d descriptors open after 5 answers with two each, %d before", after, before)
	}
}

// Steering may be called while the server stops (go test -race).
func TestReusePortSteeringWhileStopping(t *testing.T) {
	s := startWorker(t, Config{}, 0, 0)
	stopped := make(chan struct{})
	go func() { s.Stop(true); close(stopped) }()
	for i := 0; ; i++ {
		_ = s.Steering()
		select {
		case <-stopped:
			if got := s.Steering(); got != "" {
				t.Fatalf("steering %q after Stop", got)
			}
			return
		default:
		}
		if i > 1e6 {
			t.Fatal("Stop did not return")
		}
	}
}
