//go:build unix && !linux

package denotest

import "syscall"

// sysProcAttr puts the server in a process group of its own (its PID).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
