package main

import (
	"sync"
	"syscall"
	"time"

	"github.com/zig-h3/h3bun/bench/procfs"
	"github.com/zig-h3/h3bun/bench/result"
)

// ProcUsage is what the server process used during a window (bench/result).
type ProcUsage = result.ProcUsage

// procSampler reads a process's CPU time and RSS from /proc.
type procSampler struct {
	pid              int
	cpu0, cpu1       time.Duration
	main0, main1     time.Duration // the main thread's share
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
	p.cpu0, _ = procfs.CPU(pid)
	p.main0, _ = procfs.MainThreadCPU(pid)
	p.rss0, _, _ = procfs.Mem(pid)
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
				if rss, _, ok := procfs.Mem(pid); ok {
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
		p.cpu1, p.alive = procfs.CPU(p.pid)
		p.main1, _ = procfs.MainThreadCPU(p.pid)
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
	p.rss1, p.hwm, ok = procfs.Mem(p.pid)
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
		u.MainThreadUsPerOp = round(float64((p.main1 - p.main0).Microseconds()) / float64(ops))
	}
	return u
}

// clientCPU is this process's CPU time so far.
func clientCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
