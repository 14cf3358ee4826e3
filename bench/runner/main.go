// Command runner runs the whole benchmark suite (make bench): it starts
// the servers, drives bench/loadgen against them cell by cell, alternating
// the servers (A B C D A B C D) within each scenario, writes
// bench/results/*.json and generates docs/BENCHMARKS.md and
// bench/benchmarks.svg.
//
//	runner [-duration 2s] [-rounds 2] [-target-rounds 4] [-servers a,b,c,d,e,f] [-only id,id] [-budget 11m15s] [-quick]
//
// Run from the repository root after building build/libzigh3.so,
// build/bench/{loadgen,go-core,pure-h3,c-server,c-queue} (make bench does all of it).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// options are the runner's flags.
type options struct {
	duration     time.Duration
	rounds       int
	targetRounds int
	bulkRounds   int
	servers      string
	only         string
	budget       time.Duration
	memRequests  int
	memCapA      time.Duration
	memCapOthers time.Duration
	connsN       int
	connsCap     time.Duration
	quick        bool
	noDocs       bool
	reportOnly   bool
	resultsDir   string
	docPath      string
	chartPath    string
	quietWait    time.Duration
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 2*time.Second, "measured time of each time-bounded cell")
	flag.IntVar(&o.rounds, "rounds", 2, "rounds of the time-bounded scenarios (A B A B)")
	flag.IntVar(&o.targetRounds, "target-rounds", 4, "rounds of the time-bounded scenarios that targets are measured in (at least -rounds)")
	flag.IntVar(&o.bulkRounds, "bulk-rounds", 2, "rounds of the download and upload transfers (100 MB, 10 MB with -quick)")
	flag.StringVar(&o.servers, "servers", "a,b,c,d,e,f", "servers to measure: a bun-lib, b go-core, c bun-native, d c-abi, e pure-h3 and f c-queue (references, a few rows)")
	flag.StringVar(&o.only, "only", "", "comma-separated scenario ids to run (default: all)")
	flag.DurationVar(&o.budget, "budget", 675*time.Second, "time budget of the run after the build; the memory row is cut to fit")
	flag.IntVar(&o.memRequests, "mem-requests", 1_000_000, "requests of the memory row")
	flag.DurationVar(&o.memCapA, "mem-cap-a", 300*time.Second, "time cap of the memory row for server a (it also gets no more than what is left of -budget)")
	flag.DurationVar(&o.memCapOthers, "mem-cap", 25*time.Second, "time cap of the memory row for the other servers")
	flag.IntVar(&o.connsN, "conns", 10_000, "connections of the connection row")
	flag.DurationVar(&o.connsCap, "conns-cap", 18*time.Second, "time cap of the connection row per server")
	flag.BoolVar(&o.quick, "quick", false, "a short smoke run (0.5 s cells, 1 round, 10 MB transfers, 20k-request memory row, 300 connections)")
	flag.BoolVar(&o.noDocs, "no-docs", false, "do not write docs/BENCHMARKS.md and the chart")
	flag.BoolVar(&o.reportOnly, "report-only", false, "only regenerate the report and chart from <results>/summary.json")
	flag.StringVar(&o.resultsDir, "results", "bench/results", "where the JSON results go")
	flag.StringVar(&o.docPath, "doc", "docs/BENCHMARKS.md", "the Markdown report")
	flag.StringVar(&o.chartPath, "chart", "bench/benchmarks.svg", "the SVG chart")
	flag.DurationVar(&o.quietWait, "quiet-wait", 10*time.Second, "wait up to this long for the machine to be quiet before starting")
	flag.Parse()
	if o.quick {
		o.duration, o.rounds, o.targetRounds, o.bulkRounds = 500*time.Millisecond, 1, 1, 1
		o.memRequests, o.memCapA, o.memCapOthers = 20_000, 20*time.Second, 20*time.Second
		o.connsN, o.connsCap = 300, 10*time.Second
		o.quietWait = 0
	}
	if _, err := os.Stat("bench/loadgen"); err != nil {
		fatalf("run me from the repository root (no bench/loadgen here)")
	}
	if o.reportOnly {
		b, err := os.ReadFile(filepath.Join(o.resultsDir, "summary.json"))
		if err != nil {
			fatalf("%v (run the benchmark first)", err)
		}
		var rep Report
		if err := json.Unmarshal(b, &rep); err != nil {
			fatalf("%s: %v", filepath.Join(o.resultsDir, "summary.json"), err)
		}
		if err := writeDocs(&rep, o.docPath, o.chartPath); err != nil {
			fatalf("%v", err)
		}
		progress("bench: wrote %s and %s from %s/summary.json", o.docPath, o.chartPath, o.resultsDir)
		return
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	r, err := newRun(o)
	if err != nil {
		fatalf("%v", err)
	}
	defer r.cleanup()
	if err := r.execute(ctx); err != nil {
		r.cleanup()
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

func progress(format string, args ...any) {
	fmt.Printf(format+"\n", args...)
}

// abs makes p absolute (servers run with the repository root as cwd anyway).
func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
