// Command loadgen is the benchmark load generator: an HTTP/3, HTTP/3
// datagram and WebTransport client on quic-go that drives one scenario
// against one server on 127.0.0.1 and prints one JSON result.
//
//	loadgen requests -url https://127.0.0.1:PORT/small -c 64 -conns 4 -duration 3s [-pid SERVER_PID]
//	loadgen requests -url https://127.0.0.1:PORT/echo-small -method POST -body 1024 -c 64 -conns 4
//	loadgen download -url https://127.0.0.1:PORT/download?bytes=100000000 -bytes 100000000
//	loadgen upload   -url https://127.0.0.1:PORT/upload -bytes 100000000
//	loadgen h3dgram  -url https://127.0.0.1:PORT/dgram -duration 3s
//	loadgen wtdgram  -url https://127.0.0.1:PORT/wt -duration 3s
//	loadgen wtstream -url https://127.0.0.1:PORT/wt -size 65536 -c 8 -duration 3s
//	loadgen conns    -url https://127.0.0.1:PORT/small -n 10000 -c 16
//
// Every scenario is bounded: by -duration (after -warmup) or by a count
// (-n), and always by -timeout. With -pid, the server process's CPU time
// (utime+stime from /proc/PID/stat) and RSS (VmRSS from /proc/PID/status:
// before, peak sampled every 20 ms, after) are measured over the same
// window as the client's numbers.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zig-h3/h3bun/bench/procfs"
	"github.com/zig-h3/h3bun/bench/result"
	"github.com/zig-h3/h3bun/client"
)

// common holds the flags every scenario takes.
type common struct {
	url      string
	pid      int
	timeout  time.Duration
	duration time.Duration
	warmup   time.Duration
	settle   time.Duration
}

func (c *common) register(fs *flag.FlagSet, duration time.Duration) {
	fs.StringVar(&c.url, "url", "", "target URL, https://127.0.0.1:PORT/path")
	fs.IntVar(&c.pid, "pid", 0, "server process to measure (0: none)")
	fs.DurationVar(&c.timeout, "timeout", 120*time.Second, "hard limit for the whole run")
	fs.DurationVar(&c.duration, "duration", duration, "measured time (time-bounded scenarios)")
	fs.DurationVar(&c.warmup, "warmup", 250*time.Millisecond, "unmeasured load before the measured time")
	fs.DurationVar(&c.settle, "settle", 0, "wait this long after the load before the last RSS reading")
}

// target parses -url and refuses anything but loopback.
func (c *common) target() (*url.URL, error) {
	u, err := url.Parse(c.url)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("bad -url %q: want https://127.0.0.1:PORT/path", c.url)
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("-url %q: only loopback addresses (127.0.0.1) are allowed", c.url)
	}
	return u, nil
}

// Result is the JSON line a scenario prints (bench/result).
type Result = result.Result

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	scenarios := map[string]func(context.Context, []string) (*Result, error){
		"requests": cmdRequests,
		"download": cmdDownload,
		"upload":   cmdUpload,
		"h3dgram":  cmdH3Dgram,
		"wtdgram":  cmdWTDgram,
		"wtstream": cmdWTStream,
		"conns":    cmdConns,
		"fetch":    cmdFetch,
	}
	run, ok := scenarios[os.Args[1]]
	if !ok {
		usage()
	}
	res, err := run(context.Background(), os.Args[2:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	res.Scenario = os.Args[1]
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: loadgen requests|download|upload|h3dgram|wtdgram|wtstream|conns -url https://127.0.0.1:PORT/path [flags] (-h for the flags of one)")
	os.Exit(2)
}

// parse parses a scenario's flags (it takes no other arguments) and returns
// its checked -url.
func (c *common) parse(fs *flag.FlagSet, args []string) (*url.URL, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return c.target()
}

// dialConfig is how every scenario dials: the benchmark certificates are
// self-signed.
var dialConfig = &client.Config{InsecureSkipVerify: true}

// errorLog counts errors and keeps a few distinct messages.
type errorLog struct {
	mu     sync.Mutex
	n      int64
	sample []string
}

func (e *errorLog) add(err error) {
	if err == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200]
	}
	if !slices.Contains(e.sample, msg) && len(e.sample) < 5 {
		e.sample = append(e.sample, msg)
	}
}

// fill sets the latency percentiles of lats and the error count and
// sample of r.
func (e *errorLog) fill(r *Result, lats []latencies) {
	r.P50Us, r.P99Us = percentiles(lats)
	e.mu.Lock()
	defer e.mu.Unlock()
	r.Errors, r.ErrorSample = e.n, e.sample
}

// noteTimeout counts the end of ctx (-timeout) as an error of r: the run
// was cut short.
func noteTimeout(ctx context.Context, r *Result) {
	if ctx.Err() != nil {
		r.ErrorSample = append(r.ErrorSample, result.TimeoutNote)
		r.Errors++
	}
}

// latencies collects durations; merge and percentiles at the end.
type latencies []time.Duration

func percentiles(all []latencies) (p50, p99 float64) {
	n := 0
	for _, l := range all {
		n += len(l)
	}
	if n == 0 {
		return 0, 0
	}
	merged := make([]time.Duration, 0, n)
	for _, l := range all {
		merged = append(merged, l...)
	}
	sort.Slice(merged, func(i, j int) bool { return merged[i] < merged[j] })
	at := func(q float64) float64 {
		i := int(q * float64(n-1))
		return float64(merged[i].Nanoseconds()) / 1e3
	}
	return round(at(0.50)), round(at(0.99))
}

func round(f float64) float64 {
	if f >= 100 {
		return float64(int64(f + 0.5))
	}
	return float64(int64(f*100+0.5)) / 100
}

// window is the measured part of a run: it starts and stops the server
// and client measurements and fills the rates.
type window struct {
	proc          *procSampler
	cpu0          time.Duration
	cpu           time.Duration // client CPU time in the window
	busy0, total0 int64
	busy, total   int64 // machine CPU ticks in the window
	start         time.Time
	end           time.Time
}

func startWindow(pid int) *window {
	w := &window{proc: newProcSampler(pid), cpu0: clientCPU(), start: time.Now()}
	w.busy0, w.total0 = procfs.Machine()
	return w
}

// stop ends the window; settle delays the last RSS reading.
func (w *window) stop(settle time.Duration) {
	w.end = time.Now()
	w.proc.stopCPU()
	w.cpu = clientCPU() - w.cpu0
	b, t := procfs.Machine()
	w.busy, w.total = b-w.busy0, t-w.total0
	if settle > 0 {
		time.Sleep(settle)
	}
	w.proc.stop()
}

// timedWindow runs the measured part of a time-bounded scenario whose
// load is already running: -warmup unmeasured, then the window of
// -duration with measuring set. end runs as the window closes, before its
// last readings (the load's work after it is not counted); the returned
// window is stopped.
func (c *common) timedWindow(ctx context.Context, measuring *atomic.Bool, end func()) *window {
	sleepCtx(ctx, c.warmup)
	win := startWindow(c.pid)
	measuring.Store(true)
	sleepCtx(ctx, c.duration)
	end()
	win.stop(0)
	return win
}

// finish stops the window and fills the common fields of r.
func (w *window) finish(r *Result, ops, bytes int64, settle time.Duration) {
	w.stop(settle)
	finishStopped(w, r, ops, bytes)
}

// finishStopped fills the common fields of r from a stopped window and
// the counters.
func finishStopped(w *window, r *Result, ops, bytes int64) {
	r.Seconds = w.end.Sub(w.start).Seconds()
	r.Ops, r.Bytes = ops, bytes
	if r.Seconds > 0 {
		r.OpsPerSec = round(float64(ops) / r.Seconds)
		r.MBPerSec = round(float64(bytes) / 1e6 / r.Seconds)
	}
	r.Seconds = round(r.Seconds*1000) / 1000
	r.ClientCPUMs = round(float64(w.cpu.Microseconds()) / 1e3)
	r.Server = w.proc.usage(ops)
	if w.total > 0 {
		own := w.cpu.Seconds()
		if r.Server != nil {
			own += r.Server.CPUMs / 1e3
		}
		foreign := float64(w.busy)/procfs.ClockTicks - own
		r.ForeignPct = round(max(0, 100*foreign/(float64(w.total)/procfs.ClockTicks)))
	}
}

// withTimeout returns a context ending at -timeout.
func withTimeout(c *common) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.timeout)
}

func joinParams(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}
