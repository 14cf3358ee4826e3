package denotest

import "syscall"

// sysProcAttr puts the server in a process group of its own (its PID) and
// kills it if the test binary dies first (a go test timeout, for instance).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
