//go:build linux

package server

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Socket selection for the SO_REUSEPORT group of a port (ReusePort): a
// program the kernel runs for every datagram that reaches the port, to pick
// the socket (the worker) that receives it.
//
// The kernel offers two kinds (socket(7), SO_ATTACH_REUSEPORT_CBPF/EBPF):
//   - a classic BPF program returns an index into the group's socket
//     array. The array is in join order, and when a socket leaves, the last
//     one moves into its slot: the index of a worker is its ID only while
//     the workers joined in ID order and none left.
//   - an eBPF program of type BPF_PROG_TYPE_SK_REUSEPORT picks the socket
//     from a BPF_MAP_TYPE_REUSEPORT_SOCKARRAY map that each worker fills
//     at its own ID (bpf_sk_select_reuseport); the kernel empties a slot
//     when its socket closes. Worker IDs are then what they say, whatever
//     the order of joins and leaves. It needs the bpf(2) system call with
//     CAP_BPF (or CAP_SYS_ADMIN): the program type and the map type are
//     not open to unprivileged users, even where unprivileged eBPF is.
//
// The eBPF program is used when the kernel allows it, the classic one
// otherwise. Both leave long header packets (new connections) to the
// kernel's hash of the 4-tuple, and send a short header packet to the
// worker its destination connection ID names (the byte at
// Config.workerIDOffset), provided the connection ID's config rotation is
// ours; unknown workers and foreign packets also fall back to the hash.

// steering says how the group of a port steers packets.
type steering string

const (
	steeringEBPF steering = "ebpf"
	steeringCBPF steering = "cbpf"
)

// cbpfSteeringProgram is the classic program: the kernel runs it on the
// UDP payload and takes what it returns as an index into the group's
// socket array (an index past the end: the hash).
func cbpfSteeringProgram(workerOffset, configRotation int) []unix.SockFilter {
	const hash = 0xffffffff
	return []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_B | unix.BPF_ABS, K: 0},
		{Code: unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K, Jt: 5, Jf: 0, K: 0x80}, // long header -> hash
		{Code: unix.BPF_LD | unix.BPF_B | unix.BPF_ABS, K: 1},
		{Code: unix.BPF_ALU | unix.BPF_RSH | unix.BPF_K, K: 5},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 2, K: uint32(configRotation)},
		{Code: unix.BPF_LD | unix.BPF_B | unix.BPF_ABS, K: uint32(workerOffset)},
		{Code: unix.BPF_RET | unix.BPF_A},
		{Code: unix.BPF_RET | unix.BPF_K, K: hash},
	}
}

// attachCBPF attaches the classic program to the group through sockFD.
func attachCBPF(sockFD, workerOffset, configRotation int) error {
	prog := cbpfSteeringProgram(workerOffset, configRotation)
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.SetsockoptSockFprog(sockFD, unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, &fprog); err != nil {
		return fmt.Errorf("attaching the classic steering program: %w", err)
	}
	return nil
}
