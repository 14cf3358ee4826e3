//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || ppc64 || s390x || loong64 || mips64 || mips64le)

package server

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The eBPF steering program and its worker map, through bpf(2) (see
// steering_linux.go). bpf(2) takes structs whose pointers are 64-bit
// fields: this file is for 64-bit systems.

// ebpfAvailable: this system can load the eBPF program (given the
// privilege).
const ebpfAvailable = true

// Numbers of bpf(2) the x/sys/unix package does not define (linux/bpf.h).
const (
	bpfFuncSkbLoadBytes      = 26 // BPF_FUNC_skb_load_bytes
	bpfFuncSkSelectReuseport = 82 // BPF_FUNC_sk_select_reuseport
	skPass                   = 1  // SK_PASS
	bpfLdImm64               = unix.BPF_LD | unix.BPF_DW | unix.BPF_IMM
	// steeringMapSize is the number of worker slots: one per worker ID.
	steeringMapSize = MaxWorkerID + 1
)

// bpfInsn is struct bpf_insn.
type bpfInsn struct {
	code   uint8
	regs   uint8 // dst in the low 4 bits, src in the high 4
	offset int16
	imm    int32
}

func insn(code uint8, dst, src uint8, off int16, imm int32) bpfInsn {
	return bpfInsn{code: code, regs: src<<4 | dst, offset: off, imm: imm}
}

// Registers.
const (
	r0, r1, r2, r3, r4, r6 = 0, 1, 2, 3, 4, 6
	r10                    = 10 // the frame pointer
)

// ebpfSteeringProgram is the socket selection program, with the map's fd:
//
//	if skb_load_bytes(ctx, 8 /* UDP header */, buf, n) != 0 -> hash
//	if buf[0] & 0x80 (long header)                         -> hash
//	if buf[1] >> 5 != configRotation                       -> hash
//	key = buf[workerOffset]
//	sk_select_reuseport(ctx, map, &key, 0)  (no such worker -> hash)
//	return SK_PASS
func ebpfSteeringProgram(mapFD int, workerOffset, configRotation int) []bpfInsn {
	const buf, key = -16, -20 // stack offsets: 13 bytes at most, then the u32 key
	n := int32(workerOffset + 1)
	prog := []bpfInsn{
		insn(unix.BPF_ALU64|unix.BPF_MOV|unix.BPF_X, r6, r1, 0, 0),
		insn(unix.BPF_ALU64|unix.BPF_MOV|unix.BPF_K, r2, 0, 0, 8),
		insn(unix.BPF_ALU64|unix.BPF_MOV|unix.BPF_X, r3, r10, 0, 0),
		insn(unix.BPF_ALU64|unix.BPF_ADD|unix.BPF_K, r3, 0, 0, buf),
		insn(unix.BPF_ALU64|unix.BPF_MOV|unix.BPF_K, r4, 0, 0, n),
		insn(unix.BPF_JMP|unix.BPF_CALL, 0, 0, 0, bpfFuncSkbLoadBytes),
		insn(unix.BPF_JMP|unix.BPF_JNE|unix.BPF_K, r0, 0, 14, 0), // -> pass
		insn(unix.BPF_LDX|unix.BPF_MEM|unix.BPF_B, r1, r10, buf, 0),
		insn(unix.BPF_JMP|unix.BPF_JSET|unix.BPF_K, r1, 0, 12, 0x80), // -> pass
		insn(unix.BPF_LDX|unix.BPF_MEM|unix.BPF_B, r1, r10, buf+1, 0),
		insn(unix.BPF_ALU64|unix.BPF_RSH|unix.BPF_K, r1, 0, 0, 5),
		insn(unix.BPF_JMP|unix.BPF_JNE|unix.BPF_K, r1, 0, 9, int32(configRotation)), // -> pass
		insn(unix.BPF_LDX|unix.BPF_MEM|unix.BPF_B, r1, r10, int16(buf+workerOffset), 0),
		insn(unix.BPF_STX|unix.BPF_MEM|unix.BPF_W, r10, r1, key, 0),
		insn(unix.BPF_ALU64|unix.BPF_MOV|unix.BPF_X, r1, r6, 0, 0),
		insn(bpfLdImm64, r2, unix.BPF_PSEUDO_MAP_FD, 0, int32(mapFD)),
		insn(0, 0, 0, 0, 0), // the upper half of the 64-bit immediate
		insn(unix.BPF_ALU64|unix.BPF_MOV|unix.BPF_X, r3, r10, 0, 0),
		insn(unix.BPF_ALU64|unix.BPF_ADD|unix.BPF_K, r3, 0, 0, key),
		insn(unix.BPF_ALU64|unix.BPF_MOV|unix.BPF_K, r4, 0, 0, 0),
		insn(unix.BPF_JMP|unix.BPF_CALL, 0, 0, 0, bpfFuncSkSelectReuseport),
		// pass:
		insn(unix.BPF_ALU64|unix.BPF_MOV|unix.BPF_K, r0, 0, 0, skPass),
		insn(unix.BPF_JMP|unix.BPF_EXIT, 0, 0, 0, 0),
	}
	return prog
}

// bpf calls bpf(2) with an attribute struct.
func bpf(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	fd, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// bpfMapCreateAttr is the BPF_MAP_CREATE part of union bpf_attr.
type bpfMapCreateAttr struct {
	mapType, keySize, valueSize, maxEntries, mapFlags uint32
}

// bpfProgLoadAttr is the BPF_PROG_LOAD part of union bpf_attr, up to
// expected_attach_type. The kernel's 64-bit pointer fields are Go pointers
// (this file is for 64-bit systems): the garbage collector and the stack
// copier see them, so what they point to stays put and alive.
type bpfProgLoadAttr struct {
	progType, insnCnt           uint32
	insns, license              unsafe.Pointer
	logLevel, logSize           uint32
	logBuf                      unsafe.Pointer
	kernVersion, progFlags      uint32
	progName                    [16]byte
	progIfindex, expectedAttach uint32
}

// bpfMapElemAttr is the BPF_MAP_*_ELEM part of union bpf_attr.
type bpfMapElemAttr struct {
	mapFD, _   uint32
	key, value unsafe.Pointer
	flags      uint64
}

// newSteeringMap creates the worker slots: a REUSEPORT_SOCKARRAY keyed by
// worker ID.
func newSteeringMap() (int, error) {
	attr := bpfMapCreateAttr{mapType: unix.BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, keySize: 4, valueSize: 8, maxEntries: steeringMapSize}
	fd, err := bpf(unix.BPF_MAP_CREATE, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		return -1, fmt.Errorf("creating the worker map: %w", err)
	}
	return fd, nil
}

// loadSteeringProgram loads the eBPF program; the verifier's log comes
// with a refusal.
func loadSteeringProgram(mapFD, workerOffset, configRotation int) (int, error) {
	prog := ebpfSteeringProgram(mapFD, workerOffset, configRotation)
	license := []byte("MIT\x00") // the helpers used are not GPL-only
	logBuf := make([]byte, 1<<16)
	attr := bpfProgLoadAttr{
		progType:       unix.BPF_PROG_TYPE_SK_REUSEPORT,
		insnCnt:        uint32(len(prog)),
		insns:          unsafe.Pointer(&prog[0]),
		license:        unsafe.Pointer(&license[0]),
		logLevel:       1,
		logSize:        uint32(len(logBuf)),
		logBuf:         unsafe.Pointer(&logBuf[0]),
		expectedAttach: unix.BPF_SK_REUSEPORT_SELECT,
	}
	copy(attr.progName[:], "h3bun_steer")
	fd, err := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		if n := bytesIndexZero(logBuf); n > 0 && !errors.Is(err, unix.EPERM) {
			return -1, fmt.Errorf("loading the steering program: %w: %s", err, logBuf[:n])
		}
		return -1, fmt.Errorf("loading the steering program: %w", err)
	}
	return fd, nil
}

func bytesIndexZero(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}

// putWorkerSocket puts a UDP socket (bound, in the group) into the map at
// the worker's ID.
func putWorkerSocket(mapFD, workerID, sockFD int) error {
	key, value := uint32(workerID), uint64(sockFD)
	attr := bpfMapElemAttr{mapFD: uint32(mapFD), key: unsafe.Pointer(&key), value: unsafe.Pointer(&value)}
	_, err := bpf(unix.BPF_MAP_UPDATE_ELEM, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		return fmt.Errorf("adding worker %d to the worker map: %w", workerID, err)
	}
	return nil
}

// attachEBPF makes a new map and program and attaches the program to the
// group through sockFD; it returns the map (the program lives on in the
// group).
func attachEBPF(sockFD, workerOffset, configRotation int) (mapFD int, err error) {
	mapFD, err = newSteeringMap()
	if err != nil {
		return -1, err
	}
	progFD, err := loadSteeringProgram(mapFD, workerOffset, configRotation)
	if err != nil {
		unix.Close(mapFD)
		return -1, err
	}
	defer unix.Close(progFD)
	if err := unix.SetsockoptInt(sockFD, unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_EBPF, progFD); err != nil {
		unix.Close(mapFD)
		return -1, fmt.Errorf("attaching the steering program: %w", err)
	}
	return mapFD, nil
}
