package main

import (
	"bytes"
	"github.com/zig-h3/h3bun/bench/result"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// ProcUsage is what the server process used during a window (bench/result).
type ProcUsage = result.ProcUsage

// procSampler reads a process's CPU time and RSS from /proc.
type procSampler struct {
	pid              int
	cpu0, cpu1       time.Duration
	rss0, peak, rss1 int64
	hwm              int64
	alive            bool
	mu               sync.Mutex
	done             chan struct{}
	wg               sync.WaitGroup
}

func newProcSampler(pid int) *procSampler {
	p := &procSampler{pid: pid, done: make(chan struct{})}
	if pid <= 0 {
		return p
	}
	p.cpu0, _ = procCPU(pid)
	p.rss0, _, _ = procMem(pid)
	p.peak = p.rss0
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				if rss, _, ok := procMem(pid); ok {
					p.mu.Lock()
					p.peak = max(p.peak, rss)
					p.mu.Unlock()
				}
			}
		}
	}()
	return p
}

// stopCPU takes the CPU reading that ends the window.
func (p *procSampler) stopCPU() {
	if p.pid > 0 {
		p.cpu1, p.alive = procCPU(p.pid)
	}
}

// stop takes the last RSS reading and ends the sampling.
func (p *procSampler) stop() {
	if p.pid <= 0 {
		return
	}
	close(p.done)
	p.wg.Wait()
	var ok bool
	p.rss1, p.hwm, ok = procMem(p.pid)
	p.alive = p.alive && ok
	p.peak = max(p.peak, p.rss1)
}

func (p *procSampler) usage(ops int64) *ProcUsage {
	if p.pid <= 0 {
		return nil
	}
	mib := func(b int64) float64 { return round(float64(b) / (1 << 20)) }
	u := &ProcUsage{
		PID:         p.pid,
		CPUMs:       round(float64((p.cpu1 - p.cpu0).Microseconds()) / 1e3),
		RSSBeforeMB: mib(p.rss0),
		RSSPeakMB:   mib(p.peak),
		RSSAfterMB:  mib(p.rss1),
		HWMMB:       mib(p.hwm),
		Alive:       p.alive,
	}
	if ops > 0 {
		u.CPUUsPerOp = round(float64((p.cpu1 - p.cpu0).Microseconds()) / float64(ops))
	}
	return u
}

// procCPU returns utime+stime of the whole process (all threads, also
// exited ones).
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
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
	return time.Duration(ut+st) * time.Second / clockTicks, true
}

// procMem returns VmRSS and VmHWM in bytes.
func procMem(pid int) (rss, hwm int64, ok bool) {
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

// clientCPU is this process's CPU time so far.
func clientCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU returns the busy and total CPU time of the whole machine (all
// cores) from /proc/stat, in USER_HZ ticks.
func machineCPU() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	f := bytes.Fields(line)
	if len(f) < 5 || string(f[0]) != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(string(v), 10, 64)
		if i == 7 { // guest and guest_nice are already counted in user and nice
			break
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}
