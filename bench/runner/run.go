package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zig-h3/h3bun/bench/result"
)

// Result and ProcUsage are bench/loadgen's JSON output (bench/result).
type (
	Result    = result.Result
	ProcUsage = result.ProcUsage
)

// Cell is one loadgen run against one server.
type Cell struct {
	Server string  `json:"server"`
	Round  int     `json:"round"`
	Result *Result `json:"result,omitempty"`
	// Error is set when the cell could not run or the server died.
	Error string `json:"error,omitempty"`
}

// scenario is one row of the comparison.
type scenario struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Short   string   `json:"short"` // chart label
	Kind    string   `json:"kind"`  // loadgen subcommand
	Path    string   `json:"path"`
	Args    []string `json:"args"`
	Feature string   `json:"feature"`
	Rounds  int      `json:"rounds"`
	// Metric is "ops" (OpsPerSec) or "mb" (MBPerSec); Unit labels it.
	Metric  string        `json:"metric"`
	Unit    string        `json:"unit"`
	Timeout time.Duration `json:"-"`
	// Timed: time-bounded (warmup + duration), else count-bounded.
	Timed bool `json:"timed"`
}

// ScenarioResult is what bench/results/<id>.json holds.
type ScenarioResult struct {
	Scenario *scenario `json:"scenario"`
	Cells    []*Cell   `json:"cells"`
	// Best is, per server, the round with the highest throughput (see
	// docs/BENCHMARKS.md on why).
	Best map[string]*Result `json:"best"`
	// Mean throughput per server over the rounds that ran.
	Mean map[string]float64 `json:"mean"`
}

// ServerSummary is per server: idle RSS at start, RSS at the end of the
// comparison rows, peak (VmHWM), CPU time, restarts.
type ServerSummary struct {
	Def         *serverDef `json:"def"`
	RSSStartMiB float64    `json:"rssStartMiB"`
	RSSEndMiB   float64    `json:"rssEndMiB"`
	RSSPeakMiB  float64    `json:"rssPeakMiB"`
	CPUSeconds  float64    `json:"cpuSeconds"`
	Restarts    int        `json:"restarts"`
	Crashes     []string   `json:"crashes,omitempty"`
	// Stats are the server's own counters (GET /stats) at the end of the
	// comparison; the /stats request itself is one active request.
	Stats        map[string]float64 `json:"stats,omitempty"`
	StartSeconds float64            `json:"startSeconds"`
}

// MemoryRow is the long-run memory measurement of one server (fresh process).
type MemoryRow struct {
	Server        string  `json:"server"`
	RSSStartMiB   float64 `json:"rssStartMiB"`
	Requests1     int64   `json:"requestsFirst"`
	RSSAfterFirst float64 `json:"rssAfterFirstMiB"`
	RequestsTotal int64   `json:"requestsTotal"`
	RSSAfterAll   float64 `json:"rssAfterAllMiB"`
	PeakMiB       float64 `json:"peakMiB"`
	DeltaMiB      float64 `json:"deltaMiB"`
	OpsPerSec     float64 `json:"opsPerSec"`
	CPUUsPerOp    float64 `json:"cpuUsPerOp"`
	Seconds       float64 `json:"seconds"`
	CapSeconds    float64 `json:"capSeconds"`
	Capped        bool    `json:"capped"`
	Errors        int64   `json:"errors"`
	ErrorSample   []string
	Note          string `json:"note,omitempty"`
}

// Meta describes the machine and the run.
type Meta struct {
	Started        time.Time         `json:"started"`
	Seconds        float64           `json:"seconds"`
	Cores          int               `json:"cores"`
	CPUModel       string            `json:"cpuModel"`
	Kernel         string            `json:"kernel"`
	MemoryGiB      float64           `json:"memoryGiB"`
	Versions       map[string]string `json:"versions"`
	Commit         string            `json:"commit"`
	BusyBeforePct  float64           `json:"machineBusyBeforePct"`
	LoadAvgStart   string            `json:"loadAvgStart"`
	LoadAvgEnd     string            `json:"loadAvgEnd"`
	ForeignMeanPct float64           `json:"foreignMeanPct"`
	Options        map[string]string `json:"options"`
}

// Report is everything bench/results/summary.json holds.
type Report struct {
	Meta      *Meta                     `json:"meta"`
	Servers   map[string]*ServerSummary `json:"servers"`
	Scenarios []*ScenarioResult         `json:"scenarios"`
	Conns     map[string]*Result        `json:"conns"`
	ConnsErr  map[string]string         `json:"connsErrors,omitempty"`
	Memory    map[string]*MemoryRow     `json:"memory"`
	Clients   []*ClientRow              `json:"clients,omitempty"`
	Workers   []*WorkersRow             `json:"workers,omitempty"`
	Order     []string                  `json:"order"`
}

type run struct {
	o     options
	start time.Time
	tmp   string
	env   []string
	keys  []string
	procs map[string]*serverProc
	// failedStarts counts failed starts per server; at 3 it is given up.
	failedStarts map[string]int
	report       *Report
	logsDir      string
}

func newRun(o options) (*run, error) {
	r := &run{o: o, start: time.Now(), procs: map[string]*serverProc{}, failedStarts: map[string]int{}}
	for _, k := range splitList(o.servers) {
		if serverByKey(k) == nil {
			return nil, fmt.Errorf("unknown server %q (a, b, c, d, e)", k)
		}
		r.keys = append(r.keys, k)
	}
	if len(r.keys) == 0 {
		return nil, errors.New("no servers")
	}
	if err := os.MkdirAll(o.resultsDir, 0o755); err != nil {
		return nil, err
	}
	r.logsDir = filepath.Join(o.resultsDir, "logs")
	_ = os.RemoveAll(r.logsDir)
	if err := os.MkdirAll(r.logsDir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "zigh3-bench-")
	if err != nil {
		return nil, err
	}
	r.tmp = tmp
	return r, nil
}

func (r *run) cleanup() {
	for _, p := range r.procs {
		p.kill()
	}
	r.procs = map[string]*serverProc{}
	if r.tmp != "" {
		_ = os.RemoveAll(r.tmp)
	}
}

// bulkBytes is the size of the download and upload transfers.
func (r *run) bulkBytes() int64 {
	if r.o.quick {
		return 10_000_000
	}
	return 100_000_000
}

// targetRows are the scenarios the targets against (e) are measured in
// (floor.go). They get -target-rounds: a ratio near its goal should not
// turn on one disturbed round of two. (f), the queue's reference, runs in
// these rows only.
var targetRows = map[string]bool{"small-c1": true, "small-c64-4conn": true, "post-1k": true, "wt-dgram": true, "wt-stream": true}

func (r *run) scenarios() []*scenario {
	d := r.o.duration.String()
	n := strconv.FormatInt(r.bulkBytes(), 10)
	mb := fmt.Sprintf("%d MB", r.bulkBytes()/1_000_000)
	timed := func(s *scenario) *scenario {
		s.Timed, s.Rounds = true, r.o.rounds
		if targetRows[s.ID] {
			s.Rounds = max(r.o.rounds, r.o.targetRounds)
		}
		s.Args = append(s.Args, "-duration", d)
		s.Timeout = r.o.duration + 30*time.Second
		return s
	}
	bulk := func(s *scenario) *scenario {
		s.Rounds, s.Metric, s.Unit = r.o.bulkRounds, "mb", "MB/s"
		s.Args = append(s.Args, "-bytes", n)
		s.Timeout = 30 * time.Second
		return s
	}
	all := []*scenario{
		timed(&scenario{ID: "small-c1", Short: "small GET c=1", Title: "small GET, c=1, 1 conn", Kind: "requests", Path: "/small",
			Args: []string{"-c", "1", "-conns", "1"}, Feature: "http", Metric: "ops", Unit: "req/s"}),
		timed(&scenario{ID: "small-c64-1conn", Short: "small GET c=64, 1 conn", Title: "small GET, c=64, 1 conn", Kind: "requests", Path: "/small",
			Args: []string{"-c", "64", "-conns", "1"}, Feature: "http", Metric: "ops", Unit: "req/s"}),
		timed(&scenario{ID: "small-c64-4conn", Short: "small GET c=64, 4 conns", Title: "small GET, c=64, 4 conns", Kind: "requests", Path: "/small",
			Args: []string{"-c", "64", "-conns", "4"}, Feature: "http", Metric: "ops", Unit: "req/s"}),
		timed(&scenario{ID: "small-static", Short: "small GET c=64, static route", Title: "small GET, static route, c=64, 4 conns", Kind: "requests", Path: "/static",
			Args: []string{"-c", "64", "-conns", "4"}, Feature: "static", Metric: "ops", Unit: "req/s"}),
		timed(&scenario{ID: "post-1k", Short: "POST 1 KiB echo c=64", Title: "POST 1 KiB echo, c=64, 4 conns", Kind: "requests", Path: "/echo-small",
			Args: []string{"-method", "POST", "-body", "1024", "-c", "64", "-conns", "4"}, Feature: "http", Metric: "ops", Unit: "req/s"}),
		bulk(&scenario{ID: "download-stream", Short: mb + " download, stream", Title: mb + " download, streamed body (JS ReadableStream / Go / C writer)", Kind: "download",
			Path: "/download?bytes=" + n, Feature: "http"}),
		bulk(&scenario{ID: "download-file", Short: mb + " download, file", Title: mb + " download, file (Bun.file / SendFile)", Kind: "download", Path: "/file",
			Feature: "http"}),
		bulk(&scenario{ID: "upload", Short: mb + " upload, streaming", Title: mb + " upload into a streaming route", Kind: "upload", Path: "/upload", Feature: "http"}),
		timed(&scenario{ID: "h3-dgram", Short: "HTTP/3 datagram echo", Title: "HTTP/3 datagram echo (4 flows x 32 in flight, 100 B)", Kind: "h3dgram", Path: "/dgram",
			Feature: "dgram", Metric: "ops", Unit: "echo/s"}),
		timed(&scenario{ID: "wt-dgram", Short: "WebTransport datagram echo", Title: "WebTransport datagram echo (32 in flight, 100 B)", Kind: "wtdgram", Path: "/wt",
			Feature: "wt", Metric: "ops", Unit: "echo/s"}),
		timed(&scenario{ID: "wt-stream", Short: "WebTransport 64 KiB stream echo", Title: "WebTransport 64 KiB bidi stream echo, 8 streams", Kind: "wtstream", Path: "/wt",
			Args: []string{"-size", "65536", "-c", "8"}, Feature: "wt", Metric: "ops", Unit: "echo/s"}),
	}
	only := splitList(r.o.only)
	if len(only) == 0 {
		return all
	}
	var out []*scenario
	for _, s := range all {
		if slices.Contains(only, s.ID) {
			out = append(out, s)
		}
	}
	return out
}

func (r *run) wants(id string) bool {
	only := splitList(r.o.only)
	return len(only) == 0 || slices.Contains(only, id)
}

func (r *run) execute(ctx context.Context) error {
	meta := collectMeta()
	meta.Started = r.start
	meta.LoadAvgStart = loadAvg()
	meta.Options = map[string]string{
		"duration": r.o.duration.String(), "rounds": strconv.Itoa(r.o.rounds),
		"targetRounds": strconv.Itoa(max(r.o.rounds, r.o.targetRounds)), "bulkRounds": strconv.Itoa(r.o.bulkRounds),
		"servers": strings.Join(r.keys, ","), "budget": r.o.budget.String(), "memRequests": strconv.Itoa(r.o.memRequests),
		"conns": strconv.Itoa(r.o.connsN), "connsCap": r.o.connsCap.String(), "quick": strconv.FormatBool(r.o.quick), "only": r.o.only,
	}
	r.report = &Report{Meta: meta, Servers: map[string]*ServerSummary{}, Conns: map[string]*Result{},
		ConnsErr: map[string]string{}, Memory: map[string]*MemoryRow{}, Order: r.keys}
	progress("bench: %d cores, %s; Go %s, Bun %s, quic-go %s", meta.Cores, meta.CPUModel,
		meta.Versions["go"], meta.Versions["bun"], meta.Versions["quic-go"])

	certPath, keyPath := filepath.Join(r.tmp, "cert.pem"), filepath.Join(r.tmp, "key.pem")
	if err := writeCert(certPath, keyPath); err != nil {
		return err
	}
	blob := filepath.Join(r.tmp, "blob.bin")
	if err := writeBlob(blob, r.bulkBytes()); err != nil {
		return err
	}
	r.env = []string{"BENCH_CERT=" + certPath, "BENCH_KEY=" + keyPath, "BENCH_FILE=" + blob}

	meta.BusyBeforePct = r.waitQuiet(ctx)

	// The comparison: every server up at once, same layout, cells alternating.
	for _, k := range r.keys {
		if err := r.startServer(k); err != nil {
			progress("bench: !! %v (its cells will fail)", err)
		}
	}
	scens := r.scenarios()
	nsteps := len(scens)
	for _, id := range []string{"conns", "clients", "workers", "memory"} {
		if r.wants(id) {
			nsteps++
		}
	}
	step := len(scens)
	var foreign []float64
	for i, s := range scens {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		progress("[%2d/%d] %s ...", i+1, nsteps, s.Title)
		sr := r.runScenario(ctx, s)
		r.report.Scenarios = append(r.report.Scenarios, sr)
		for _, c := range sr.Cells {
			if c.Result != nil {
				foreign = append(foreign, c.Result.ForeignPct)
			}
		}
		progress("        %s", r.summaryLine(s, sr))
		if err := writeJSON(filepath.Join(r.o.resultsDir, s.ID+".json"), sr); err != nil {
			return err
		}
	}
	if len(foreign) > 0 {
		sum := 0.0
		for _, f := range foreign {
			sum += f
		}
		meta.ForeignMeanPct = round2(sum / float64(len(foreign)))
	}

	// 10k connections opened and closed, on the same long-running servers.
	if r.wants("conns") {
		step++
		progress("[%2d/%d] %d connections opened and closed (GET /small on each, 32 at a time) ...", step, nsteps, r.o.connsN)
		r.runConns(ctx)
		var parts []string
		for _, k := range r.keys {
			if !serverByKey(k).inRow("conns") {
				continue
			}
			if res := r.report.Conns[k]; res != nil {
				parts = append(parts, fmt.Sprintf("%s %.0f conn/s, RSS %+.1f MiB", k, res.OpsPerSec, res.Server.RSSAfterMB-res.Server.RSSBeforeMB))
			} else {
				parts = append(parts, k+" "+r.report.ConnsErr[k])
			}
		}
		progress("        %s", strings.Join(parts, " | "))
		if err := writeJSON(filepath.Join(r.o.resultsDir, "conns.json"), map[string]any{"results": r.report.Conns, "errors": r.report.ConnsErr}); err != nil {
			return err
		}
	}

	// The clients, against one of the same long-running servers.
	if r.wants("clients") {
		step++
		progress("[%2d/%d] clients: h3Fetch and Bun's fetch, small GETs ...", step, nsteps)
		r.runClients(ctx)
		var parts []string
		for _, row := range r.report.Clients {
			if row.Result != nil {
				parts = append(parts, fmt.Sprintf("%s c=%d %.0f req/s %s/req", row.Client, row.C, row.Result.OpsPerSec, fmtUs(row.CPUUsPerOp())))
			} else {
				parts = append(parts, fmt.Sprintf("%s c=%d %s", row.Client, row.C, row.Error))
			}
		}
		progress("        %s", strings.Join(parts, " | "))
		if err := writeJSON(filepath.Join(r.o.resultsDir, "clients.json"), r.report.Clients); err != nil {
			return err
		}
	}

	// 1 worker and 2 workers on one port, fresh processes next to the
	// comparison's (idle meanwhile).
	if r.wants("workers") {
		step++
		progress("[%2d/%d] workers: small GETs against 1 and 2 Bun workers on one port (reusePort) ...", step, nsteps)
		r.runWorkers(ctx)
		progress("        %s", workersSummary(r.report.Workers))
		if err := writeJSON(filepath.Join(r.o.resultsDir, "workers.json"), r.report.Workers); err != nil {
			return err
		}
	}

	// The end of the comparison: idle RSS after, peak, counters, CPU; then stop.
	time.Sleep(time.Second)
	for _, k := range r.keys {
		p := r.procs[k]
		sum := r.report.Servers[k]
		if p != nil && p.alive() {
			// Idle RSS first: the /stats fetch opens a connection.
			sum.RSSEndMiB, sum.RSSPeakMiB = procRSS(p.pid)
			if p.def.has("stats") {
				res, err := loadgen(ctx, []string{"fetch", "-url", p.url("/stats"), "-timeout", "10s"}, 15*time.Second)
				if err == nil && res != nil {
					_ = json.Unmarshal(res.Body, &sum.Stats)
				}
			}
			sum.CPUSeconds += procCPUSeconds(p.pid)
			p.stop()
		}
		delete(r.procs, k)
	}

	// Memory: fresh processes, one after the other, cut to the budget.
	if r.wants("memory") {
		step++
		progress("[%2d/%d] memory: RSS after %d requests vs after the first 10k, fresh process each ...", step, nsteps, r.o.memRequests)
		r.runMemory(ctx)
		if err := writeJSON(filepath.Join(r.o.resultsDir, "memory.json"), r.report.Memory); err != nil {
			return err
		}
	}

	meta.LoadAvgEnd = loadAvg()
	meta.Seconds = round2(time.Since(r.start).Seconds())
	if err := writeJSON(filepath.Join(r.o.resultsDir, "summary.json"), r.report); err != nil {
		return err
	}
	if !r.o.noDocs {
		if err := writeDocs(r.report, r.o.docPath, r.o.chartPath); err != nil {
			return err
		}
		progress("bench: wrote %s/*.json, %s and %s in %.0f s", r.o.resultsDir, r.o.docPath, r.o.chartPath, meta.Seconds)
	} else {
		progress("bench: wrote %s/*.json in %.0f s", r.o.resultsDir, meta.Seconds)
	}
	return nil
}

// waitQuiet waits (up to quietWait) for the machine to be under 25 % busy.
func (r *run) waitQuiet(ctx context.Context) float64 {
	deadline := time.Now().Add(r.o.quietWait)
	busy := machineBusy(time.Second)
	first := busy
	for busy > 25 && r.o.quietWait > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		progress("bench: the machine is %.0f%% busy with other work; waiting for it to calm down ...", busy)
		busy = machineBusy(2 * time.Second)
	}
	if busy > 25 && r.o.quietWait > 0 {
		progress("bench: still %.0f%% busy: results will be noisy (each cell reports foreignPct)", busy)
	}
	return first
}

func (r *run) startServer(k string) error {
	def := serverByKey(k)
	if r.report.Servers[k] == nil {
		r.report.Servers[k] = &ServerSummary{Def: def}
	}
	if r.failedStarts[k] >= 3 {
		return fmt.Errorf("%s failed to start 3 times; not trying again", def.Name)
	}
	p, err := startServer(def, r.env, filepath.Join(r.logsDir, def.Name+".log"))
	if err != nil {
		r.failedStarts[k]++
		sum := r.report.Servers[k]
		sum.Crashes = append(sum.Crashes, "failed to start: "+err.Error())
		return err
	}
	time.Sleep(300 * time.Millisecond)
	r.procs[k] = p
	if sum := r.report.Servers[k]; sum.StartSeconds == 0 {
		sum.RSSStartMiB, _ = procRSS(p.pid)
		sum.StartSeconds = round2(time.Since(p.started).Seconds())
	}
	return nil
}

// ensureServer restarts a server that died, recording the crash.
func (r *run) ensureServer(k string) (*serverProc, error) {
	p := r.procs[k]
	if p != nil && p.alive() {
		return p, nil
	}
	sum := r.report.Servers[k]
	if p != nil && sum != nil {
		delete(r.procs, k)
		crash := fmt.Sprintf("exited (%v) after %.0f s; log tail:\n%s", p.exitErr, time.Since(p.started).Seconds(), p.logTail(8))
		sum.Crashes = append(sum.Crashes, crash)
		sum.Restarts++
		progress("        !! %s died: %v; restarting it", p.def.Name, p.exitErr)
	}
	if err := r.startServer(k); err != nil {
		return nil, err
	}
	return r.procs[k], nil
}

func (r *run) serversFor(s *scenario) []string {
	var out []string
	for _, k := range r.keys {
		def := serverByKey(k)
		if def.has(s.Feature) && def.inRow(s.ID) {
			out = append(out, k)
		}
	}
	return out
}

func (r *run) runScenario(ctx context.Context, s *scenario) *ScenarioResult {
	sr := &ScenarioResult{Scenario: s, Best: map[string]*Result{}, Mean: map[string]float64{}}
	keys := r.serversFor(s)
	sums := map[string]float64{}
	counts := map[string]int{}
	for round := 1; round <= s.Rounds; round++ {
		for _, k := range keys {
			if ctx.Err() != nil {
				return sr
			}
			cell := &Cell{Server: k, Round: round}
			sr.Cells = append(sr.Cells, cell)
			p, err := r.ensureServer(k)
			if err != nil {
				cell.Error = err.Error()
				continue
			}
			args := append([]string{s.Kind, "-url", p.url(s.Path), "-pid", strconv.Itoa(p.pid),
				"-timeout", s.Timeout.String()}, s.Args...)
			res, err := loadgen(ctx, args, s.Timeout+10*time.Second)
			if err != nil {
				cell.Error = err.Error()
			}
			cell.Result = res
			if !p.alive() {
				if cell.Error == "" {
					cell.Error = "server died during the cell"
				}
				_, _ = r.ensureServer(k)
			}
			if res != nil {
				v := metric(s, res)
				sums[k] += v
				counts[k]++
				if b := sr.Best[k]; b == nil || v > metric(s, b) {
					sr.Best[k] = res
				}
			}
		}
	}
	for k, n := range counts {
		sr.Mean[k] = round2(sums[k] / float64(n))
	}
	return sr
}

func metric(s *scenario, res *Result) float64 {
	if s.Metric == "mb" {
		return res.MBPerSec
	}
	return res.OpsPerSec
}

func (r *run) summaryLine(s *scenario, sr *ScenarioResult) string {
	var parts []string
	for _, k := range r.serversFor(s) {
		b := sr.Best[k]
		if b == nil {
			parts = append(parts, k+" failed: "+cellError(sr, k))
			continue
		}
		e := ""
		if b.Errors > 0 {
			e = fmt.Sprintf(" (%d errors)", b.Errors)
		}
		parts = append(parts, fmt.Sprintf("%s %s %s p50 %s%s", k, fmtNum(metric(s, b)), s.Unit, fmtUs(b.P50Us), e))
	}
	return strings.Join(parts, " | ")
}

func (r *run) runConns(ctx context.Context) {
	for _, k := range r.keys {
		if !serverByKey(k).inRow("conns") {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		p, err := r.ensureServer(k)
		if err != nil {
			r.report.ConnsErr[k] = err.Error()
			continue
		}
		args := []string{"conns", "-url", p.url("/small"), "-pid", strconv.Itoa(p.pid), "-n", strconv.Itoa(r.o.connsN),
			"-c", "32", "-duration", r.o.connsCap.String(), "-timeout", (r.o.connsCap + 20*time.Second).String(), "-settle", "1s"}
		res, err := loadgen(ctx, args, r.o.connsCap+30*time.Second)
		if err != nil {
			r.report.ConnsErr[k] = firstLine(err.Error())
		}
		if res != nil {
			r.report.Conns[k] = res
		}
	}
}

// runMemory measures each server in a fresh process: 10k requests, RSS,
// then up to memRequests in all (c=64, 4 connections), RSS. The time caps
// shrink to fit what is left of the budget.
func (r *run) runMemory(ctx context.Context) {
	// (a) goes last and gets what is left of the budget (up to -mem-cap-a):
	// its row is the one with a target. The others get -mem-cap each,
	// shrunk evenly (down to 10 s) when that would leave (a) under a minute.
	caps := map[string]time.Duration{}
	var keys []string
	hasA := false
	for _, k := range r.keys {
		switch {
		case !serverByKey(k).inRow("memory"):
		case k == "a":
			hasA = true
		default:
			keys = append(keys, k)
			caps[k] = r.o.memCapOthers
		}
	}
	if hasA {
		keys = append(keys, "a")
	}
	perServer := 5 * time.Second // start, first 10 k, stop
	left := r.o.budget - time.Since(r.start) - time.Duration(len(keys))*perServer - 5*time.Second
	var others time.Duration
	for _, c := range caps {
		others += c
	}
	if over := others - (left - time.Minute); hasA && over > 0 {
		for over > 0 {
			cut := false
			for _, k := range keys {
				if k != "a" && over > 0 && caps[k] > 10*time.Second {
					caps[k] -= time.Second
					over -= time.Second
					cut = true
				}
			}
			if !cut {
				break
			}
		}
	}
	first := min(10_000, r.o.memRequests)
	for _, k := range keys {
		if ctx.Err() != nil {
			return
		}
		cap := caps[k]
		if k == "a" {
			cap = min(r.o.memCapA, r.o.budget-time.Since(r.start)-perServer-5*time.Second)
			cap = max(cap, 10*time.Second)
		}
		cap = cap.Round(time.Second)
		row := &MemoryRow{Server: k, CapSeconds: cap.Seconds()}
		r.report.Memory[k] = row
		def := serverByKey(k)
		p, err := startServer(def, r.env, filepath.Join(r.logsDir, def.Name+"-memory.log"))
		if err != nil {
			row.Note = err.Error()
			continue
		}
		time.Sleep(300 * time.Millisecond)
		row.RSSStartMiB, _ = procRSS(p.pid)
		common := []string{"-url", p.url("/small"), "-pid", strconv.Itoa(p.pid), "-c", "64", "-conns", "4", "-settle", "1s"}
		res1, err := loadgen(ctx, append([]string{"requests", "-n", strconv.Itoa(first), "-timeout", "60s"}, common...), 75*time.Second)
		if err != nil || res1 == nil || res1.Server == nil {
			row.Note = fmt.Sprintf("first %d requests failed: %v", first, err)
			p.stop()
			continue
		}
		row.Requests1, row.RSSAfterFirst = res1.Ops, res1.Server.RSSAfterMB
		rest := r.o.memRequests - first
		t0 := time.Now()
		res2, err := loadgen(ctx, append([]string{"requests", "-n", strconv.Itoa(rest), "-timeout", cap.String()}, common...), cap+20*time.Second)
		if res2 != nil && res2.Server != nil {
			row.RequestsTotal = res1.Ops + res2.Ops
			row.RSSAfterAll = res2.Server.RSSAfterMB
			row.PeakMiB = max(res1.Server.RSSPeakMB, res2.Server.RSSPeakMB)
			row.DeltaMiB = round2(row.RSSAfterAll - row.RSSAfterFirst)
			row.OpsPerSec = res2.OpsPerSec
			row.CPUUsPerOp = res2.Server.CPUUsPerOp
			row.Seconds = round2(time.Since(t0).Seconds())
			row.Errors = res2.Errors
			for _, e := range res2.ErrorSample {
				if e == result.TimeoutNote {
					// The time cap stopped the run: not an error of the server.
					row.Capped = true
					row.Errors--
				} else {
					row.ErrorSample = append(row.ErrorSample, e)
				}
			}
		}
		if err != nil && (res2 == nil || row.Errors > 0) {
			row.Note = firstLine(err.Error())
		}
		if !p.alive() {
			row.Note = strings.TrimSpace(row.Note + fmt.Sprintf(" server died: %v", p.exitErr))
		}
		p.stop()
		capped := ""
		if row.Capped {
			capped = fmt.Sprintf(" (time cap %s reached)", cap)
		}
		progress("        %s: %s requests%s, RSS %.1f MiB after %s -> %.1f MiB after all (%+.1f MiB), %s req/s",
			k, fmtNum(float64(row.RequestsTotal)), capped, row.RSSAfterFirst, fmtNum(float64(row.Requests1)),
			row.RSSAfterAll, row.DeltaMiB, fmtNum(row.OpsPerSec))
	}
}

// loadgen runs build/bench/loadgen with args and parses its JSON.
func loadgen(ctx context.Context, args []string, timeout time.Duration) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "build/bench/loadgen", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var res *Result
	if out.Len() > 0 {
		res = &Result{}
		if jerr := json.Unmarshal(out.Bytes(), res); jerr != nil {
			res = nil
			if err == nil {
				err = fmt.Errorf("loadgen printed no JSON: %v", jerr)
			}
		}
	}
	if err != nil {
		return res, fmt.Errorf("loadgen %s: %v: %s", args[0], err, strings.TrimSpace(errb.String()))
	}
	if res != nil && res.Errors > 0 {
		return res, fmt.Errorf("%d errors: %s", res.Errors, strings.Join(res.ErrorSample, "; "))
	}
	return res, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

func fmtNum(v float64) string {
	switch {
	case v >= 100:
		s := strconv.FormatInt(int64(v+0.5), 10)
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String()
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func fmtUs(us float64) string {
	switch {
	case us >= 1e6:
		return strconv.FormatFloat(us/1e6, 'f', 2, 64) + " s"
	case us >= 1e4:
		return strconv.FormatFloat(us/1e3, 'f', 0, 64) + " ms"
	case us >= 1e3:
		return strconv.FormatFloat(us/1e3, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(us, 'f', 0, 64) + " µs"
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
