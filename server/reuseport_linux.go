//go:build linux

package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The workers of a port (Config.ReusePort) find each other through
// abstract unix sockets, which exist only as long as a process holds them
// open (a crashed worker leaves none behind) and are local to the network
// namespace, like the port:
//   - "@h3bun/reuseport/<ip:port>/worker/<id>" is held by the worker with
//     that ID while it runs: a second worker with the same ID cannot bind
//     it. The worker answers on it with how the group steers packets, and
//     with the eBPF worker map's descriptor (SCM_RIGHTS) to peers of its
//     own user, so that a new worker can enter its slot;
//   - "@h3bun/reuseport/<ip:port>/setup" is held while a worker claims its
//     ID and sets up its steering, so that two workers starting together
//     do not both attach a program (the last one attached would win,
//     without the other's map), and so that a worker holding its ID's
//     socket always answers. A process of another user holding a worker
//     ID's socket is no worker (the kernel keeps it out of the group): it
//     is not asked, but it makes that ID look taken.

// reusePortSetupWait bounds how long a worker waits for another's setup.
const reusePortSetupWait = 5 * time.Second

// reusePortSupported: ReusePort works on this system.
const reusePortSupported = true

// groupUID is the user whose workers form a group: the effective user of
// the process (a variable for tests).
var groupUID = os.Geteuid

// forceClassicSteering makes new groups use the classic program even
// where eBPF is allowed (tests of the fallback).
var forceClassicSteering = false

// reusePortGroup is a server's membership of its port's worker group.
type reusePortGroup struct {
	workerID int
	addr     *net.UDPAddr
	lock     *net.UnixListener // the worker ID's socket: held while serving
	steering steering
	offset   int           // where packets carry the worker ID (Config.workerIDOffset)
	rotation int           // the config rotation of the connection IDs
	mapFD    int           // the eBPF worker map; -1 with the classic program
	fallback string        // why the classic program is in use, if it is
	answered chan struct{} // closed when answerPeers returned; nil before it runs
}

// reusePortListenConfig sets SO_REUSEPORT on the sockets it makes.
var reusePortListenConfig = net.ListenConfig{
	Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); cerr != nil {
			return cerr
		}
		return err
	},
}

// listenUDP binds the UDP socket, with SO_REUSEPORT when reusePort.
func listenUDP(ip net.IP, port int, reusePort bool) (*net.UDPConn, error) {
	addr := &net.UDPAddr{IP: ip, Port: port}
	if !reusePort {
		return net.ListenUDP("udp", addr)
	}
	pc, err := reusePortListenConfig.ListenPacket(context.Background(), "udp", addr.String())
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

// listenTCP binds the TCP listener, with SO_REUSEPORT when reusePort: the
// kernel spreads TCP connections over the workers by its hash, which is
// right for TCP (a TCP connection never changes its address).
func listenTCP(ip net.IP, port int, reusePort bool) (net.Listener, error) {
	addr := &net.TCPAddr{IP: ip, Port: port}
	if !reusePort {
		return net.ListenTCP("tcp", addr)
	}
	return reusePortListenConfig.Listen(context.Background(), "tcp", addr.String())
}

func groupSocketName(addr *net.UDPAddr, what string) string {
	return "@h3bun/reuseport/" + addr.String() + "/" + what
}

// joinReusePortGroup claims the worker ID on udp's port and sets up the
// steering of packets to this worker.
func joinReusePortGroup(udp *net.UDPConn, cfg *Config) (*reusePortGroup, error) {
	addr := udp.LocalAddr().(*net.UDPAddr)
	g := &reusePortGroup{workerID: cfg.WorkerID, addr: addr, offset: cfg.workerIDOffset(), rotation: cfg.QUICLBConfigRotation,
		mapFD: -1}
	// The ID is claimed under the setup lock, and answered on before the
	// lock is released: a worker that holds its ID's socket always
	// answers, and a joining worker (which holds the setup lock while it
	// asks) never waits for one that waits for the setup.
	unlock, err := lockGroupSetup(addr)
	if err != nil {
		return nil, err
	}
	defer unlock()
	lock, err := net.ListenUnix("unix", &net.UnixAddr{Name: groupSocketName(addr, "worker/"+strconv.Itoa(cfg.WorkerID)), Net: "unix"})
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, configError("worker id %d is already taken on port %d", cfg.WorkerID, addr.Port)
	}
	if err != nil {
		return nil, fmt.Errorf("claiming worker id %d on port %d: %w", cfg.WorkerID, addr.Port, err)
	}
	g.lock = lock
	if err := g.steer(udp); err != nil {
		g.close()
		return nil, err
	}
	g.answered = make(chan struct{})
	go g.answerPeers()
	return g, nil
}

// lockGroupSetup holds the group's setup socket, waiting (bounded) while
// another worker holds it.
func lockGroupSetup(addr *net.UDPAddr) (unlock func(), err error) {
	deadline := time.Now().Add(reusePortSetupWait)
	for {
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: groupSocketName(addr, "setup"), Net: "unix"})
		if err == nil {
			return func() { ln.Close() }, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return nil, fmt.Errorf("waiting for the other workers on port %d: %w", addr.Port, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// steer enters the group's steering: the slot of the worker ID in the
// eBPF map a running peer hands over, or a new program when no worker
// runs. The group lock is held.
func (g *reusePortGroup) steer(udp *net.UDPConn) error {
	fd, err := socketFD(udp)
	if err != nil {
		return err
	}
	offset, rotation := g.offset, g.rotation
	peer, found, err := askPeers(g.addr, g.workerID)
	if err != nil {
		return err
	}
	if found {
		if peer.offset != offset || peer.rotation != rotation {
			if peer.mapFD >= 0 {
				unix.Close(peer.mapFD)
			}
			return configError("the workers on port %d read the worker ID at byte %d of a packet with config rotation %d; this one at byte %d with %d (quicLbServerId and quicLbConfigRotation must be the same for all)",
				g.addr.Port, peer.offset, peer.rotation, offset, rotation)
		}
		g.steering, g.mapFD = peer.steering, peer.mapFD
		if g.steering == steeringCBPF {
			return checkClassicOrder(g.addr, g.workerID, peer.workers)
		}
		if err := putWorkerSocket(g.mapFD, g.workerID, fd); err != nil {
			return fmt.Errorf("%w (the group steers with eBPF: every worker of a port needs CAP_BPF)", err)
		}
		return nil
	}
	if ebpfAvailable && !forceClassicSteering {
		mapFD, err := attachEBPF(fd, offset, rotation)
		if err == nil {
			g.steering, g.mapFD = steeringEBPF, mapFD
			return putWorkerSocket(mapFD, g.workerID, fd)
		}
		g.fallback = err.Error()
	} else {
		g.fallback = "eBPF steering not used on this system"
	}
	if err := checkClassicOrder(g.addr, g.workerID, nil); err != nil {
		return err
	}
	g.steering = steeringCBPF
	return attachCBPF(fd, offset, rotation)
}

// checkClassicOrder checks that a worker joining a group steered by the
// classic program gets the slot of its ID: the workers present must be
// exactly those below it (see steering_linux.go).
func checkClassicOrder(addr *net.UDPAddr, workerID int, present []int) error {
	inOrder := len(present) == workerID
	for i, id := range present {
		inOrder = inOrder && id == i
	}
	if inOrder {
		return nil
	}
	return configError("port %d steers packets with the classic program (eBPF needs CAP_BPF): workers must start in ID order from 0, and all be restarted when one stops; worker %d found workers %v running",
		addr.Port, workerID, present)
}

// socketFD is the descriptor of udp (still owned by it).
func socketFD(udp *net.UDPConn) (int, error) {
	rc, err := udp.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return -1, err
	}
	return fd, nil
}

// peerAnswer is what a running worker tells a joining one.
type peerAnswer struct {
	steering         steering
	offset, rotation int
	mapFD            int   // received with eBPF steering; -1 otherwise
	workers          []int // the worker IDs running, in order
}

// askPeers asks the first running worker it finds (IDs in order) how the
// group steers; found is false when no worker runs. It also lists the
// running workers (for the classic program's order).
func askPeers(addr *net.UDPAddr, self int) (peerAnswer, bool, error) {
	ans := peerAnswer{mapFD: -1}
	found := false
	for id := 0; id <= MaxWorkerID; id++ {
		if id == self {
			continue
		}
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: groupSocketName(addr, "worker/"+strconv.Itoa(id)), Net: "unix"})
		if err != nil {
			continue // no such worker
		}
		// Anyone may bind an abstract socket: a process of another user
		// is no worker of the group (the kernel keeps other users out of
		// it), and what it says is not listened to.
		if uid, err := peerUID(c); err != nil || uid != groupUID() {
			c.Close()
			continue
		}
		ans.workers = append(ans.workers, id)
		if !found {
			a, err := readPeerAnswer(c)
			if err != nil {
				c.Close()
				return ans, false, fmt.Errorf("asking worker %d on port %d: %w", id, addr.Port, err)
			}
			a.workers = ans.workers
			ans, found = a, true
		}
		c.Close()
	}
	return ans, found, nil
}

// peerUID is the user of the process at the other end of c (as it was
// when it bound or connected its socket).
func peerUID(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	var cred *unix.Ucred
	if cerr := raw.Control(func(fd uintptr) { cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) }); cerr != nil {
		return -1, cerr
	}
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}

// peerAnswerTimeout bounds the wait for a running worker's answer.
const peerAnswerTimeout = 2 * time.Second

// readPeerAnswer reads "h3bun-steering v1 <steering> <offset> <rotation>",
// with the map's descriptor for eBPF.
func readPeerAnswer(c *net.UnixConn) (peerAnswer, error) {
	ans := peerAnswer{mapFD: -1}
	_ = c.SetReadDeadline(time.Now().Add(peerAnswerTimeout))
	buf, oob := make([]byte, 128), make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return ans, err
	}
	if oobn > 0 {
		// Every descriptor received is ours to close, unless it is the
		// one map expected.
		var fds []int
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		for i := range msgs {
			if got, err := unix.ParseUnixRights(&msgs[i]); err == nil {
				fds = append(fds, got...)
			}
		}
		if len(fds) == 1 {
			ans.mapFD = fds[0]
		} else {
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
	}
	f := strings.Fields(string(buf[:n]))
	if len(f) == 5 && f[0] == "h3bun-steering" && f[1] == "v1" {
		ans.steering = steering(f[2])
		ans.offset, err = strconv.Atoi(f[3])
		if err == nil {
			ans.rotation, err = strconv.Atoi(f[4])
		}
		if err == nil && (ans.steering == steeringCBPF || ans.steering == steeringEBPF && ans.mapFD >= 0) {
			return ans, nil
		}
	}
	if ans.mapFD >= 0 {
		unix.Close(ans.mapFD)
	}
	return ans, fmt.Errorf("unexpected answer %q", buf[:n])
}

// answerPeers answers the workers that join after this one, until the
// group socket closes.
func (g *reusePortGroup) answerPeers() {
	defer close(g.answered)
	for {
		c, err := g.lock.AcceptUnix()
		if err != nil {
			return
		}
		g.answer(c)
		c.Close()
	}
}

// answer tells a peer how the group steers, with the map to a peer of the
// same user (another user could change the map).
func (g *reusePortGroup) answer(c *net.UnixConn) {
	_ = c.SetWriteDeadline(time.Now().Add(peerAnswerTimeout))
	if uid, err := peerUID(c); err != nil || uid != groupUID() {
		return
	}
	msg := fmt.Sprintf("h3bun-steering v1 %s %d %d", g.steering, g.offset, g.rotation)
	var oob []byte
	if g.mapFD >= 0 {
		oob = unix.UnixRights(g.mapFD)
	}
	_, _, _ = c.WriteMsgUnix([]byte(msg), oob, nil)
}

// close leaves the group: the worker ID is free again, and the map's
// descriptor closed (the kernel empties the worker's slot when its UDP
// socket closes).
func (g *reusePortGroup) close() {
	if g.lock != nil {
		g.lock.Close()
	}
	if g.answered != nil {
		<-g.answered // an answer in progress is bounded by its write deadline
	}
	if g.mapFD >= 0 {
		unix.Close(g.mapFD)
		g.mapFD = -1
	}
}

// String describes the steering for the log.
func (g *reusePortGroup) String() string {
	s := fmt.Sprintf("worker %d on port %d, %s steering", g.workerID, g.addr.Port, g.steering)
	if g.fallback != "" {
		s += " (" + g.fallback + ")"
	}
	return s
}
