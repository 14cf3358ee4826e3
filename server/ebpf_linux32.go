//go:build linux && !(amd64 || arm64 || riscv64 || ppc64le || ppc64 || s390x || loong64 || mips64 || mips64le)

package server

import "errors"

// On 32-bit systems the steering is the classic program only (see
// steering_linux.go).

const ebpfAvailable = false

var errNoEBPF = errors.New("eBPF steering needs a 64-bit system")

func attachEBPF(sockFD, workerOffset, configRotation int) (int, error) { return -1, errNoEBPF }

func putWorkerSocket(mapFD, workerID, sockFD int) error { return errNoEBPF }
