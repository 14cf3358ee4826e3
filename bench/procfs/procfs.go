// Package procfs reads the process and machine counters the benchmark
// measures from /proc: bench/loadgen per measured window, bench/runner per
// server and for the whole machine.
package procfs

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// ClockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat and
// of the counters in /proc/stat (100 on every Linux architecture Go
// supports).
const ClockTicks = 100

// CPU returns utime+stime of the whole process pid (all threads, also
// exited ones).
func CPU(pid int) (time.Duration, bool) {
	return statCPU("/proc/" + strconv.Itoa(pid) + "/stat")
}

// MainThreadCPU returns utime+stime of the main thread of pid (the thread
// whose id is pid): in a Bun server, the JavaScript thread, apart from the
// threads of the runtime and of the library.
func MainThreadCPU(pid int) (time.Duration, bool) {
	p := strconv.Itoa(pid)
	return statCPU("/proc/" + p + "/task/" + p + "/stat")
}

// statCPU reads utime+stime from a stat file of /proc.
func statCPU(path string) (time.Duration, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	// The command name is in parentheses and may contain spaces: fields
	// are counted after the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, _ := strconv.ParseInt(string(f[11]), 10, 64)
	st, _ := strconv.ParseInt(string(f[12]), 10, 64)
	return time.Duration(ut+st) * time.Second / ClockTicks, true
}

// Mem returns VmRSS and VmHWM of pid in bytes; ok is false when there is
// no RSS to read (the process is gone).
func Mem(pid int) (rss, hwm int64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, false
	}
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if v, found := bytes.CutPrefix(line, []byte("VmRSS:")); found {
			rss = kib(v)
		} else if v, found := bytes.CutPrefix(line, []byte("VmHWM:")); found {
			hwm = kib(v)
		}
	}
	return rss, hwm, rss > 0
}

func kib(v []byte) int64 {
	f := bytes.Fields(v)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(string(f[0]), 10, 64)
	return n << 10
}

// Machine returns the busy and total CPU time of the whole machine (all
// cores) so far from /proc/stat, in ClockTicks. Total is user, nice,
// system, idle, iowait, irq, softirq and steal; busy is all of them but
// idle and iowait (steal counts as busy: another guest had the CPU).
// guest and guest_nice are left out: they are already counted in user and
// nice.
func Machine() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	f := bytes.Fields(line)
	if len(f) < 5 || string(f[0]) != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:min(len(f), 9)] { // user .. steal
		n, _ := strconv.ParseInt(string(v), 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}
