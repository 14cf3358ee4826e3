package main

import (
	"fmt"
	"strings"
)

// writeFloorTargets writes the targets measured against (e), plain
// quic-go's http3.Server: the cost this stack cannot go below. Each is a
// ratio of this run's best rounds, with the direction its goal gives.
func writeFloorTargets(b *strings.Builder, rep *Report) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("### Against plain quic-go\n\n")
	w("What this stack adds to (e), quic-go's own http3.Server and webtransport-go with net/http handlers: the core\n")
	w("over (e) with a Go handler in (b), and the whole path with a Bun handler in (a). CPU per operation first\n")
	w("(server CPU time over the operations of the best round), throughput second.\n\n")
	w("| target | measured | goal | status |\n|---|---|---|---|\n")
	// cpuOver is CPU/op(x) over CPU/op(y): how many times y's cost x pays.
	cpuOver := func(id, x, y string) float64 { return 1 / cpuRatio(rep, id, x, y) }
	le := func(t float64) func(float64) bool { return func(r float64) bool { return r <= t } }
	ge := func(t float64) func(float64) bool { return func(r float64) bool { return r >= t } }
	row := func(label string, r float64, goal string, ok func(float64) bool) {
		st := ""
		if ok != nil {
			st = verdict(ok(r), r)
		}
		w("| %s | %s | %s | %s |\n", label, fmtRatio(r), goal, st)
	}
	for _, s := range []struct{ id, name string }{{"small-c64-4conn", "small GET c=64 (4 conns)"}, {"post-1k", "POST 1 KiB echo c=64"}} {
		row(s.name+": CPU/op (e) over (b), the core", cpuRatio(rep, s.id, "b", "e"), "≥ 0.9", ge(0.9))
		row(s.name+": CPU/op (a) over (e), the whole path", cpuOver(s.id, "a", "e"), "≤ 1.5", le(1.5))
		row(s.name+": CPU/op (f) over (e), the queue with a C consumer, for reference", cpuOver(s.id, "f", "e"), "", nil)
		row(s.name+": throughput (b)/(e), for reference", ratio(rep, s.id, "b", "e"), "", nil)
	}
	row("small GET c=1: p50 latency (a)/(e)", p50Ratio(rep, "small-c1", "a", "e"), "≤ 1.3", le(1.3))
	row("small GET c=1: p50 latency (b)/(e), for reference", p50Ratio(rep, "small-c1", "b", "e"), "", nil)
	row("small GET c=1: p50 latency (f)/(e), the queue with a C consumer, for reference", p50Ratio(rep, "small-c1", "f", "e"), "", nil)
	for _, s := range []struct{ id, name string }{{"wt-dgram", "WebTransport datagram echo"}, {"wt-stream", "WebTransport 64 KiB stream echo"}} {
		row(s.name+": throughput (a)/(e)", ratio(rep, s.id, "a", "e"), "≥ 0.9", ge(0.9))
		row(s.name+": throughput (f)/(e), the queue with a C consumer, for reference", ratio(rep, s.id, "f", "e"), "", nil)
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
