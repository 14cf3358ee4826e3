package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/zig-h3/h3bun/bench/procfs"
)

// The workers row: small GETs against this library's Bun server as one
// worker and as two workers on one port (reusePort), both set up at once
// and measured alternately, with the CPU of every worker process summed.
// On this 2-core machine the load generator shares the cores with the
// workers, so the gain is bounded: the row records what it is.

// workerCounts are the setups compared, in table order.
var workerCounts = []int{1, 2}

// workersArgs is the load: c=64 over 16 connections, so that the kernel's
// hash spreads them over the workers; no warmup, so that the CPU measured
// around the loadgen run is all for the requests it counts (its dial and
// handshakes included, the same for both setups).
var workersArgs = []string{"-c", "64", "-conns", "16", "-warmup", "0s"}

// WorkersRow is the best round of one setup.
type WorkersRow struct {
	Workers int     `json:"workers"`
	Result  *Result `json:"result,omitempty"`
	// ServerCPUMs is the CPU time of all the workers over the run, and
	// WorkerCPUMs each worker's share.
	ServerCPUMs float64   `json:"serverCpuMs"`
	WorkerCPUMs []float64 `json:"workerCpuMs"`
	// MachineBusyPct is the machine's busy share (all cores) over the run.
	MachineBusyPct float64 `json:"machineBusyPct"`
	Error          string  `json:"error,omitempty"`
}

// CPUUsPerOp is the workers' CPU time per request.
func (w *WorkersRow) CPUUsPerOp() float64 {
	if w.Result == nil || w.Result.Ops == 0 {
		return 0
	}
	return w.ServerCPUMs * 1000 / float64(w.Result.Ops)
}

// workerDef is a worker process of the row.
var workerDef = &serverDef{Key: "w", Name: "bun-worker", Label: "this library, Bun handler, reusePort worker",
	Cmd: []string{bun, "run", "bench/servers/bun-worker.ts"}, Features: []string{"http"}}

// startWorkers starts n workers on one port, in ID order.
func (r *run) startWorkers(n int) ([]*serverProc, error) {
	var procs []*serverProc
	port := 0
	for id := range n {
		env := append(r.env[:len(r.env):len(r.env)], "BENCH_PORT="+strconv.Itoa(port), "BENCH_WORKER_ID="+strconv.Itoa(id),
			"BENCH_WORKERS="+strconv.Itoa(n), "BENCH_CLUSTER_SECRET=bench cluster secret, 32 bytes")
		p, err := startServer(workerDef, env, filepath.Join(r.logsDir, fmt.Sprintf("bun-worker-%d-of-%d.log", id, n)))
		if err != nil {
			stopAll(procs)
			return nil, err
		}
		procs, port = append(procs, p), p.port
	}
	return procs, nil
}

func stopAll(procs []*serverProc) {
	for _, p := range procs {
		p.stop()
	}
}

// runWorkers measures the setups, alternating them within each round.
func (r *run) runWorkers(ctx context.Context) {
	setups := map[int][]*serverProc{}
	best := map[int]*WorkersRow{}
	defer func() {
		for _, procs := range setups {
			stopAll(procs)
		}
		for _, n := range workerCounts {
			if row := best[n]; row != nil {
				r.report.Workers = append(r.report.Workers, row)
			}
		}
	}()
	for _, n := range workerCounts {
		procs, err := r.startWorkers(n)
		if err != nil {
			best[n] = &WorkersRow{Workers: n, Error: err.Error()}
			continue
		}
		setups[n] = procs
	}
	for round := 0; round < r.o.rounds; round++ {
		for _, n := range workerCounts {
			if ctx.Err() != nil || setups[n] == nil {
				continue
			}
			row := r.workersCell(ctx, setups[n])
			if b := best[n]; b == nil || b.Result == nil || row.Result != nil && row.Result.OpsPerSec > b.Result.OpsPerSec {
				best[n] = row
			}
		}
	}
}

// workersCell runs loadgen once against a setup, reading the workers' CPU
// and the machine's busy share around it.
func (r *run) workersCell(ctx context.Context, procs []*serverProc) *WorkersRow {
	row := &WorkersRow{Workers: len(procs)}
	cpu0 := make([]time.Duration, len(procs))
	for i, p := range procs {
		cpu0[i], _ = procfs.CPU(p.pid)
	}
	busy0, total0 := procfs.Machine()
	args := append([]string{"requests", "-url", procs[0].url("/small"), "-duration", r.o.duration.String()}, workersArgs...)
	res, err := loadgen(ctx, args, r.o.duration+60*time.Second)
	busy1, total1 := procfs.Machine()
	for i, p := range procs {
		cpu1, alive := procfs.CPU(p.pid)
		if !alive && err == nil {
			err = fmt.Errorf("worker %d died: %s", i, p.logTail(3))
		}
		ms := round2(float64((cpu1 - cpu0[i]).Microseconds()) / 1e3)
		row.WorkerCPUMs = append(row.WorkerCPUMs, ms)
		row.ServerCPUMs += ms
	}
	if total1 > total0 {
		row.MachineBusyPct = round2(100 * float64(busy1-busy0) / float64(total1-total0))
	}
	row.Result = res
	if err != nil {
		row.Error = err.Error()
	}
	return row
}

// workersSummary is the progress line of the row.
func workersSummary(rows []*WorkersRow) string {
	var parts []string
	for _, row := range rows {
		if row.Result == nil {
			parts = append(parts, fmt.Sprintf("%d workers: %s", row.Workers, row.Error))
			continue
		}
		parts = append(parts, fmt.Sprintf("%d workers %.0f req/s %s/req", row.Workers, row.Result.OpsPerSec, fmtUs(row.CPUUsPerOp())))
	}
	return strings.Join(parts, " | ")
}

// writeWorkers writes the workers table.
func writeWorkers(b *strings.Builder, rep *Report) {
	if len(rep.Workers) == 0 {
		return
	}
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("## Workers\n\n")
	w("Small GETs (c=64 over 16 connections) against this library's Bun server as 1 worker and as 2 worker processes\n")
	w("on one port (`reusePort`, `bench/servers/bun-worker.ts`); best of the rounds, the setups alternating. Server CPU is\n")
	w("the sum over the workers (each worker's share in brackets), per request and as cores busy; the load generator\n")
	w("runs on the same machine and is counted in the machine's busy share.\n\n")
	w("| workers | req/s | p50 | p99 | server CPU/req | server cores | client CPU/req | machine busy | errors |\n")
	w("|---|---|---|---|---|---|---|---|---|\n")
	for _, row := range rep.Workers {
		res := row.Result
		if res == nil {
			w("| %d | failed: %s | | | | | | | |\n", row.Workers, row.Error)
			continue
		}
		shares := make([]string, len(row.WorkerCPUMs))
		for i, ms := range row.WorkerCPUMs {
			shares[i] = fmt.Sprintf("%.0f%%", 100*ms/max(row.ServerCPUMs, 1))
		}
		cores := row.ServerCPUMs / 1000 / max(res.Seconds, 1e-9)
		clientPerOp := 0.0
		if res.Ops > 0 {
			clientPerOp = res.ClientCPUMs * 1000 / float64(res.Ops)
		}
		w("| %d | %s | %s | %s | %s (%s) | %.2f | %s | %.0f%% | %d |\n", row.Workers, fmtNum(res.OpsPerSec), fmtUs(res.P50Us), fmtUs(res.P99Us),
			fmtUs(row.CPUUsPerOp()), strings.Join(shares, " + "), cores, fmtUs(clientPerOp), row.MachineBusyPct, res.Errors)
	}
	w("\n")
}
