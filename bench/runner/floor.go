package main

import (
	"fmt"
	"strings"
)

// writeFloorTargets writes the targets measured against (e), plain
// quic-go's http3.Server: the cost this stack cannot go below. Each is the
// median over the rounds of the ratio within a round (see pairedRatio),
// with the direction its goal gives, and, beside it, the ratio of the best
// rounds.
func writeFloorTargets(b *strings.Builder, rep *Report) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("### Against plain quic-go\n\n")
	w("What this stack adds to (e), quic-go's own http3.Server and webtransport-go with net/http handlers: the core\n")
	w("over (e) with a Go handler in (b), and the whole path with a Bun handler in (a). CPU per operation first\n")
	w("(server CPU time over the operations of a round), throughput second. Measured: the median over the rounds\n")
	w("of the ratio within each round (the servers of a round run back to back, seconds apart, so a slow spell of\n")
	w("the machine mostly hits both); the status goes by it. Best rounds: the ratio of each server's best round,\n")
	w("as in the tables above; with few rounds it can pair one server's quietest spell with the other's busiest.\n\n")
	w("| target | measured | best rounds | goal | status |\n|---|---|---|---|---|\n")
	le := func(t float64) func(float64) bool { return func(r float64) bool { return r <= t } }
	ge := func(t float64) func(float64) bool { return func(r float64) bool { return r >= t } }
	row := func(label string, median, best float64, goal string, ok func(float64) bool) {
		st := ""
		if ok != nil {
			st = verdict(ok(median), median)
		}
		w("| %s | %s | %s | %s | %s |\n", label, fmtRatio(median), fmtRatio(best), goal, st)
	}
	// cpu is CPU/op(y) over CPU/op(x): x's throughput-like share of y's cost.
	cpu := func(id, x, y string) (float64, float64) {
		return pairedRatio(rep, id, y, x, cpuValue), cpuRatio(rep, id, x, y)
	}
	// cpuOver is CPU/op(x) over CPU/op(y): how many times y's cost x pays.
	cpuOver := func(id, x, y string) (float64, float64) {
		return pairedRatio(rep, id, x, y, cpuValue), 1 / cpuRatio(rep, id, x, y)
	}
	thr := func(id, x, y string) (float64, float64) {
		return pairedRatio(rep, id, x, y, metricValue), ratio(rep, id, x, y)
	}
	p50 := func(id, x, y string) (float64, float64) {
		return pairedRatio(rep, id, x, y, p50Value), p50Ratio(rep, id, x, y)
	}
	type stat = func(id, x, y string) (float64, float64)
	target := func(label string, f stat, id, x, y, goal string, ok func(float64) bool) {
		median, best := f(id, x, y)
		row(label, median, best, goal, ok)
	}
	for _, s := range []struct{ id, name string }{{"small-c64-4conn", "small GET c=64 (4 conns)"}, {"post-1k", "POST 1 KiB echo c=64"}} {
		target(s.name+": CPU/op (e) over (b), the core", cpu, s.id, "b", "e", "≥ 0.9", ge(0.9))
		target(s.name+": CPU/op (a) over (e), the whole path", cpuOver, s.id, "a", "e", "≤ 1.5", le(1.5))
		target(s.name+": CPU/op (f) over (e), the queue with a C consumer, for reference", cpuOver, s.id, "f", "e", "", nil)
		target(s.name+": throughput (b)/(e), for reference", thr, s.id, "b", "e", "", nil)
	}
	target("small GET c=1: p50 latency (a)/(e)", p50, "small-c1", "a", "e", "≤ 1.3", le(1.3))
	target("small GET c=1: p50 latency (b)/(e), for reference", p50, "small-c1", "b", "e", "", nil)
	target("small GET c=1: p50 latency (f)/(e), the queue with a C consumer, for reference", p50, "small-c1", "f", "e", "", nil)
	for _, s := range []struct{ id, name string }{{"wt-dgram", "WebTransport datagram echo"}, {"wt-stream", "WebTransport 64 KiB stream echo"}} {
		target(s.name+": throughput (a)/(e)", thr, s.id, "a", "e", "≥ 0.9", ge(0.9))
		target(s.name+": throughput (f)/(e), the queue with a C consumer, for reference", thr, s.id, "f", "e", "", nil)
	}
	w("\n")
	writeCPUSplit(b, rep)
}

// writeCPUSplit writes where the CPU per operation of the event-queue
// servers goes: (a)'s JavaScript thread and the library's threads, and
// (f), the same library with a C consumer that answers at once, whose
// library threads are the floor of (a)'s: what the queue path costs with
// a consumer that costs nothing.
func writeCPUSplit(b *strings.Builder, rep *Report) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("Where the CPU per operation goes, best round of each server: (a) split into its JavaScript thread and the\n")
	w("other threads (the library's Go runtime, and Bun's own helpers), (f) into its C consumer thread and the\n")
	w("library's threads. For (a) to cost at most 1.5 × (e), its JavaScript thread must fit in what is left\n")
	w("after its library threads.\n\n")
	w("| row | (a) all | (a) JS thread | (a) other threads | (f) all | (f) consumer | (b) | (e) | 1.5 × (e) |\n")
	w("|---|---|---|---|---|---|---|---|---|\n")
	cell := func(s *ScenarioResult, k string, part func(*Result) float64) string {
		r := s.Best[k]
		if r == nil || r.Server == nil {
			return "—"
		}
		return fmtUs(part(r))
	}
	all := func(r *Result) float64 { return r.Server.CPUUsPerOp }
	mainThread := func(r *Result) float64 { return r.Server.MainThreadUsPerOp }
	rest := func(r *Result) float64 { return r.Server.CPUUsPerOp - r.Server.MainThreadUsPerOp }
	for _, s := range rep.Scenarios {
		if s.Best["a"] == nil || s.Best["e"] == nil || s.Best["a"].Server == nil || s.Best["a"].Server.MainThreadUsPerOp == 0 {
			continue
		}
		limit := "—"
		if e := s.Best["e"].Server; e != nil {
			limit = fmtUs(1.5 * e.CPUUsPerOp)
		}
		w("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.Scenario.Title, cell(s, "a", all), cell(s, "a", mainThread), cell(s, "a", rest),
			cell(s, "f", all), cell(s, "f", mainThread), cell(s, "b", all), cell(s, "e", all), limit)
	}
	w("\n")
}
