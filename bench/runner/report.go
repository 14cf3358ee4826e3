package main

import (
	"cmp"
	"fmt"
	"html"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zig-h3/h3bun/bridge"
)

const (
	notesBegin = "<!-- notes:begin -->"
	notesEnd   = "<!-- notes:end -->"
)

var defaultNotes = `_Profiling findings and fixes go here; ` + "`make bench`" + ` keeps this section when it
regenerates the rest of the file (` + "`build/bench/runner -report-only`" + ` regenerates the report from
bench/results without measuring)._`

// keptNotes returns the notes section of an existing report.
func keptNotes(docPath string) string {
	b, err := os.ReadFile(docPath)
	if err != nil {
		return defaultNotes
	}
	s := string(b)
	i := strings.Index(s, notesBegin)
	j := strings.Index(s, notesEnd)
	if i < 0 || j < i {
		return defaultNotes
	}
	return strings.TrimSpace(s[i+len(notesBegin) : j])
}

func scenarioByID(rep *Report, id string) *ScenarioResult {
	for _, s := range rep.Scenarios {
		if s.Scenario.ID == id {
			return s
		}
	}
	return nil
}

// compare is value(best(a)) / value(best(b)) in scenario id, or NaN when
// the scenario, either best round or either value (ok false) is missing or
// the denominator is 0.
func compare(rep *Report, id, a, b string, value func(*scenario, *Result) (float64, bool)) float64 {
	s := scenarioByID(rep, id)
	if s == nil || s.Best[a] == nil || s.Best[b] == nil {
		return math.NaN()
	}
	num, ok1 := value(s.Scenario, s.Best[a])
	den, ok2 := value(s.Scenario, s.Best[b])
	if !ok1 || !ok2 || den == 0 {
		return math.NaN()
	}
	return num / den
}

// pairedRatio is the median over a scenario's rounds of value(a)/value(b)
// within each round, or NaN when no round has both values. The servers of
// a round run back to back, seconds apart, so a slow spell of the machine
// mostly hits both; the best rounds of two servers may come from spells
// apart.
func pairedRatio(rep *Report, id, a, b string, value func(*scenario, *Result) (float64, bool)) float64 {
	s := scenarioByID(rep, id)
	if s == nil {
		return math.NaN()
	}
	byRound := map[int]map[string]*Result{}
	for _, c := range s.Cells {
		if c.Result == nil || c.Error != "" {
			continue
		}
		if byRound[c.Round] == nil {
			byRound[c.Round] = map[string]*Result{}
		}
		byRound[c.Round][c.Server] = c.Result
	}
	var ratios []float64
	for _, rs := range byRound {
		if rs[a] == nil || rs[b] == nil {
			continue
		}
		num, ok1 := value(s.Scenario, rs[a])
		den, ok2 := value(s.Scenario, rs[b])
		if ok1 && ok2 && den != 0 {
			ratios = append(ratios, num/den)
		}
	}
	if len(ratios) == 0 {
		return math.NaN()
	}
	slices.Sort(ratios)
	n := len(ratios)
	if n%2 == 1 {
		return ratios[n/2]
	}
	return (ratios[n/2-1] + ratios[n/2]) / 2
}

// metricValue, cpuValue and p50Value are a result's throughput, server CPU
// per operation and p50 latency, for compare and pairedRatio (a p50 of 0 is
// none: it would make any latency ratio look met).
func metricValue(s *scenario, r *Result) (float64, bool) { return metric(s, r), true }

func cpuValue(_ *scenario, r *Result) (float64, bool) {
	if r.Server == nil {
		return 0, false
	}
	return r.Server.CPUUsPerOp, true
}

func p50Value(_ *scenario, r *Result) (float64, bool) { return r.P50Us, r.P50Us > 0 }

// ratio is best(a)/best(b) of a scenario's metric, or NaN.
func ratio(rep *Report, id, a, b string) float64 { return compare(rep, id, a, b, metricValue) }

// cpuRatio is cpu/op(b) over cpu/op(a) of the best rounds, or NaN.
func cpuRatio(rep *Report, id, a, b string) float64 { return compare(rep, id, b, a, cpuValue) }

// p50Ratio is p50(a)/p50(b) of the best rounds, or NaN.
func p50Ratio(rep *Report, id, a, b string) float64 { return compare(rep, id, a, b, p50Value) }

// argValue is the value after flag in args, or "".
func argValue(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// transferSize is the size of the download and upload transfers ("100 MB"),
// from the rows' -bytes or else from -quick.
func transferSize(rep *Report) string {
	for _, s := range rep.Scenarios {
		if n, err := strconv.ParseFloat(argValue(s.Scenario.Args, "-bytes"), 64); err == nil {
			return strconv.FormatFloat(n/1e6, 'f', -1, 64) + " MB"
		}
	}
	if rep.Meta.Options["quick"] == "true" {
		return "10 MB"
	}
	return "100 MB"
}

// bunVersion is the Bun version of the run, for prose.
func bunVersion(m *Meta) string {
	if v := m.Versions["bun"]; v != "" {
		return "Bun " + v
	}
	return "the Bun version measured"
}

// budget is the run's time budget (-budget), for prose: "8 min 45 s budget".
func budget(m *Meta) string {
	d, err := time.ParseDuration(m.Options["budget"])
	if err != nil {
		return "time budget"
	}
	return fmtDuration(d) + " budget"
}

// fmtDuration writes d in minutes and seconds ("8 min 45 s", "10 min", "45 s").
func fmtDuration(d time.Duration) string {
	d = d.Round(time.Second)
	m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case m == 0:
		return fmt.Sprintf("%d s", s)
	case s == 0:
		return fmt.Sprintf("%d min", m)
	}
	return fmt.Sprintf("%d min %d s", m, s)
}

// clientShare describes, from the c=64 rows, how much CPU time the load
// generator used against the server it drove (client CPU / server CPU in
// the same window, best rounds).
func clientShare(rep *Report) string {
	lo, hi := math.Inf(1), 0.0
	fLo, fHi := math.Inf(1), 0.0 // the fastest server of each row
	fastest := map[string]bool{}
	for _, s := range rep.Scenarios {
		if argValue(s.Scenario.Args, "-c") != "64" {
			continue
		}
		top, topV := "", 0.0
		for _, k := range rep.Order {
			r := s.Best[k]
			if r == nil || r.Server == nil || r.Server.CPUMs == 0 {
				continue
			}
			x := r.ClientCPUMs / r.Server.CPUMs
			lo, hi = min(lo, x), max(hi, x)
			if v := metric(s.Scenario, r); v > topV {
				top, topV = k, v
			}
		}
		if top != "" {
			r := s.Best[top]
			x := r.ClientCPUMs / r.Server.CPUMs
			fLo, fHi = min(fLo, x), max(fHi, x)
			fastest[top] = true
		}
	}
	if len(fastest) == 0 {
		return "The load generator and the servers share the machine's cores (client CPU per cell in the tables above)."
	}
	span := func(a, b float64) string {
		if fmt.Sprintf("%.1f", a) == fmt.Sprintf("%.1f", b) {
			return fmt.Sprintf("%.1f×", a)
		}
		return fmt.Sprintf("%.1f–%.1f×", a, b)
	}
	var names []string
	for _, k := range rep.Order {
		if fastest[k] {
			names = append(names, fmt.Sprintf("(%s) %s", k, serverByKey(k).Name))
		}
	}
	out := fmt.Sprintf("The load generator and the servers share the machine's %d cores: in the c=64 rows the client used\n"+
		"  %s the CPU time of the server it drove, %s for the fastest server of the row (%s)", rep.Meta.Cores,
		span(lo, hi), span(fLo, fHi), strings.Join(names, ", "))
	if fLo >= 1 {
		return out + ", so the\n  fastest rows are partly client-bound."
	}
	return out + "."
}

func fmtRatio(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", v)
}

func verdict(ok bool, v float64) string {
	switch {
	case math.IsNaN(v):
		return "not measured"
	case ok:
		return "**met**"
	}
	return "not met"
}

func writeDocs(rep *Report, docPath, chartPath string) error {
	notes := keptNotes(docPath)
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := rep.Meta
	w("# Benchmarks\n\n")
	w("<!-- Generated by `make bench` (bench/runner). Only the notes section at the end is kept when it runs again. -->\n\n")
	w("This library against the same quic-go core with a Go handler (the ceiling), Bun's own HTTP/3 server and the\n")
	w("library's C ABI, measured in one run of `make bench` with the same load generator (bench/loadgen, quic-go).\n\n")
	w("**Machine:** %d cores (%s), %.1f GiB, Linux %s. **Run:** %s, %.0f s for the run itself (builds not included).\n\n",
		m.Cores, m.CPUModel, m.MemoryGiB, m.Kernel, m.Started.UTC().Format("2006-01-02 15:04 MST"), m.Seconds)
	w("**Versions:** Go %s, Bun %s, quic-go %s, webtransport-go %s, library `%s`, %s; commit %s.\n\n",
		m.Versions["go"], m.Versions["bun"], m.Versions["quic-go"], m.Versions["webtransport-go"], m.Versions["library"], m.Versions["cc"], m.Commit)
	w("**Load from other processes:** the machine was %.0f%% busy before the run; during the cells other processes used\n", m.BusyBeforePct)
	w("%.0f%% of the machine's CPU on average (each cell's `foreignPct` in bench/results). Load average %s at the start, %s at the end.\n",
		m.ForeignMeanPct, m.LoadAvgStart, m.LoadAvgEnd)
	if m.ForeignMeanPct > 10 || m.BusyBeforePct > 25 {
		w("The machine was shared during this run: absolute numbers are low and noisy; the ratios, from cells that\n")
		w("alternate between the servers, hold better.\n")
	}
	w("\n")

	w("## Servers\n\n| | server | what | source |\n|---|---|---|---|\n")
	src := map[string]string{"a": "bench/servers/bun-lib.ts", "b": "bench/servers/go-core/main.go", "c": "bench/servers/bun-native.ts", "d": "bench/servers/c-server.c", "e": "bench/servers/pure-h3/main.go", "f": "bench/servers/c-queue.c"}
	for _, k := range rep.Order {
		d := serverByKey(k)
		w("| (%s) | %s | %s | `%s` |\n", k, d.Name, d.Label, src[k])
	}
	w("\n")

	writeTargets(&b, rep)

	// Throughput overview.
	w("## Results\n\nBest of the rounds per server (cells alternate A B C D A B C D; see [Method](#method)); ")
	w("latency is p50 / p99 of that round.\n\n")
	w("| scenario | unit |")
	for _, k := range rep.Order {
		w(" (%s) %s |", k, serverByKey(k).Name)
	}
	w("\n|---|---|")
	for range rep.Order {
		w("---|")
	}
	w("\n")
	for _, s := range rep.Scenarios {
		w("| %s | %s |", s.Scenario.Title, s.Scenario.Unit)
		for _, k := range rep.Order {
			r := s.Best[k]
			switch {
			case r != nil:
				w(" %s<br><sub>%s / %s</sub> |", fmtNum(metric(s.Scenario, r)), fmtUs(r.P50Us), fmtUs(r.P99Us))
			case hasCells(s, k):
				w(" failed |")
			default:
				w(" — |")
			}
		}
		w("\n")
	}
	w("\n![Throughput relative to (b), the Go handler on the same core](%s)\n\n", chartLink(docPath, chartPath))

	// Details.
	w("### Per cell: server CPU and memory\n\n")
	w("Server CPU is user + system time of the whole server process (all threads) from `/proc/PID/stat` over the\n")
	w("measured window, divided by the operations; RSS from `/proc/PID/status` before the window, its peak (sampled\n")
	w("every 20 ms) and after. Client CPU is the load generator's. `other` is the share of the machine used by other\n")
	w("processes during the cell.\n\n")
	w("| scenario | server | throughput | p50 | p99 | server CPU/op | RSS before / peak / after (MiB) | client CPU | other | errors |\n")
	w("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range rep.Scenarios {
		for _, k := range rep.Order {
			r := s.Best[k]
			if r == nil {
				if hasCells(s, k) {
					w("| %s | (%s) | failed: %s | | | | | | | |\n", s.Scenario.ID, k, html.EscapeString(cellError(s, k)))
				}
				continue
			}
			cpu, rss := "", ""
			if r.Server != nil {
				cpu = fmtUs(r.Server.CPUUsPerOp)
				rss = fmt.Sprintf("%.1f / %.1f / %.1f", r.Server.RSSBeforeMB, r.Server.RSSPeakMB, r.Server.RSSAfterMB)
			}
			extra := ""
			if s.Scenario.Kind == "h3dgram" || s.Scenario.Kind == "wtdgram" {
				extra = fmt.Sprintf(" (%d lost of %d)", r.Lost, r.Sent)
			}
			w("| %s | (%s) | %s %s%s | %s | %s | %s | %s | %.0f ms | %.0f%% | %d |\n", s.Scenario.ID, k, fmtNum(metric(s.Scenario, r)),
				s.Scenario.Unit, extra, fmtUs(r.P50Us), fmtUs(r.P99Us), cpu, rss, r.ClientCPUMs, r.ForeignPct, r.Errors)
		}
	}
	w("\n")

	writeClients(&b, rep)
	writeWorkers(&b, rep)
	writeMemory(&b, rep)
	writeMethod(&b, rep)

	w("## Notes\n\n%s\n%s\n%s\n", notesBegin, notes, notesEnd)

	if err := os.MkdirAll(filepath.Dir(docPath), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(docPath, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(chartPath, []byte(chartSVG(rep)), 0o644)
}

// chartLink is the chart's path relative to the report's directory.
func chartLink(docPath, chartPath string) string {
	rel, err := filepath.Rel(filepath.Dir(abs(docPath)), abs(chartPath))
	if err != nil {
		return filepath.ToSlash(chartPath)
	}
	return filepath.ToSlash(rel)
}

func hasCells(s *ScenarioResult, k string) bool {
	return slices.ContainsFunc(s.Cells, func(c *Cell) bool { return c.Server == k })
}

func cellError(s *ScenarioResult, k string) string {
	for _, c := range s.Cells {
		if c.Server == k && c.Error != "" {
			return firstLine(c.Error)
		}
	}
	return "no result"
}

func writeTargets(b *strings.Builder, rep *Report) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("## Targets\n\nRatios of this run (best round of each server). The CPU column is the same comparison made\n")
	w("with server CPU time per operation instead of throughput (the other server's CPU/op over this one's, so\n")
	w("higher is better as well): it depends much less on what else the machine is doing, and on %d cores, where\n", rep.Meta.Cores)
	w("the load generator takes its share, throughput ratios understate differences in server cost.\n\n")
	w("| target | measured | CPU | goal | status |\n|---|---|---|---|---|\n")
	row := func(label, id, x, y, goal string, ok func(float64) bool) {
		r := ratio(rep, id, x, y)
		w("| %s | %s | %s | %s | %s |\n", label, fmtRatio(r), fmtRatio(cpuRatio(rep, id, x, y)), goal, verdict(ok(r), r))
	}
	ge := func(t float64) func(float64) bool { return func(r float64) bool { return r >= t } }
	row("small GET c=64 (4 conns): (a)/(b)", "small-c64-4conn", "a", "b", "≥ 0.85", ge(0.85))
	r := ratio(rep, "small-c64-4conn", "a", "c")
	st := verdict(r >= 0.55, r)
	if r >= 1 {
		st = "**met (goal 1.0 too)**"
	}
	w("| small GET c=64 (4 conns): (a)/(c) | %s | %s | ≥ 0.55 now, 1.0 goal | %s |\n", fmtRatio(r), fmtRatio(cpuRatio(rep, "small-c64-4conn", "a", "c")), st)
	r = ratio(rep, "small-c64-1conn", "a", "b")
	w("| small GET c=64 (1 conn): (a)/(b), for reference | %s | %s | | |\n", fmtRatio(r), fmtRatio(cpuRatio(rep, "small-c64-1conn", "a", "b")))
	size := transferSize(rep)
	if rep.Meta.Options["quick"] == "true" {
		size += " (quick run)"
	}
	row(size+" download from a JS `ReadableStream`: (a)/(c)", "download-stream", "a", "c", "≥ 1.2", ge(1.2))
	row(size+" download from `Bun.file`: (a)/(b)", "download-file", "a", "b", "≥ 0.9", ge(0.9))
	row(size+" upload into a streaming route: (a)/(b)", "upload", "a", "b", "≥ 0.85", ge(0.85))
	r = p50Ratio(rep, "small-c1", "a", "b")
	w("| p50 latency at c=1: (a)/(b) | %s | %s | ≤ 1.3 | %s |\n", fmtRatio(r), fmtRatio(cpuRatio(rep, "small-c1", "a", "b")), verdict(r <= 1.3, r))
	if row := rep.Memory["a"]; row != nil && row.RequestsTotal > 0 {
		d := row.DeltaMiB
		cut := ""
		if row.Capped {
			cut = fmt.Sprintf(" (%s requests: the %.0f s cap came first)", fmtNum(float64(row.RequestsTotal)), row.CapSeconds)
		} else if row.RequestsTotal < 1_000_000 {
			cut = fmt.Sprintf(" (%s requests)", fmtNum(float64(row.RequestsTotal)))
		}
		st := verdict(d <= 20, d)
		if row.RequestsTotal < 1_000_000 {
			if d > 20 {
				st = "not met (before 1 M)"
			} else {
				st = fmt.Sprintf("on track (%s of 1 M requests)", fmtNum(float64(row.RequestsTotal)))
			}
		}
		w("| (a) RSS after 1 M requests − after the first 10 k | %+.1f MiB%s | | ≤ 20 MiB | %s |\n", d, cut, st)
	} else {
		w("| (a) RSS after 1 M requests − after the first 10 k | n/a | | ≤ 20 MiB | not measured |\n")
	}
	w("\n")
	writeFloorTargets(b, rep)
	w("For reference: what the C ABI and the core cost, (d)/(b) and (b)/(e) with (e) quic-go and webtransport-go\n")
	w("without the core; and where (a)'s distance to (b) lies: (f)/(b) is the event queue and its hand-offs\n")
	w("between threads, with a C consumer in Bun's place, and (a)/(f) is running the handler in Bun (throughput\n")
	w("ratios, 1.0 = no cost; the c=1 row also gives the p50 ratio, lower is better).\n\n")
	w("| row | (d)/(b) | (b)/(e) | (a)/(e) | (f)/(b) | (a)/(f) |\n|---|---|---|---|---|---|\n")
	for _, s := range rep.Scenarios {
		id := s.Scenario.ID
		d, be, ae := ratio(rep, id, "d", "b"), ratio(rep, id, "b", "e"), ratio(rep, id, "a", "e")
		fb, af := ratio(rep, id, "f", "b"), ratio(rep, id, "a", "f")
		if math.IsNaN(d) && math.IsNaN(be) && math.IsNaN(fb) {
			continue
		}
		fbs, afs := fmtRatio(fb), fmtRatio(af)
		if id == "small-c1" {
			fbs += withP50(p50Ratio(rep, id, "f", "b"))
			afs += withP50(p50Ratio(rep, id, "a", "f"))
		}
		w("| %s | %s | %s | %s | %s | %s |\n", s.Scenario.Title, fmtRatio(d), fmtRatio(be), fmtRatio(ae), fbs, afs)
	}
	w("\n")
}

// withP50 is " (p50 r)", or "" when r was not measured.
func withP50(r float64) string {
	if math.IsNaN(r) {
		return ""
	}
	return " (p50 " + fmtRatio(r) + ")"
}

func writeMemory(b *strings.Builder, rep *Report) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("## Memory\n\n")
	w("### Servers over the whole comparison\n\nRSS when idle after start, at the end of the comparison rows (idle, 1 s after the\n")
	w("last cell), and the peak (VmHWM); total CPU time of the process.\n\n")
	w("| server | RSS at start | RSS at end | peak RSS | CPU time | crashes |\n|---|---|---|---|---|---|\n")
	for _, k := range rep.Order {
		s := rep.Servers[k]
		if s == nil {
			continue
		}
		w("| (%s) %s | %.1f MiB | %.1f MiB | %.1f MiB | %.1f s | %d |\n", k, s.Def.Name, s.RSSStartMiB, s.RSSEndMiB, s.RSSPeakMiB, s.CPUSeconds, len(s.Crashes))
	}
	w("\n")
	var withStats []string
	for _, k := range rep.Order {
		if s := rep.Servers[k]; s != nil && s.Stats != nil {
			withStats = append(withStats, k)
		}
	}
	if len(withStats) > 0 {
		w("The servers' own counters at the end (GET /stats; the /stats request and its connection are the one active\n")
		w("request and connection expected). Anything else active after every client went away is a leak, with one\n")
		w("exception: (b) also serves the Clients rows, and Bun's own `fetch` does not close its connection when its\n")
		w("process exits, so each of its runs leaves one connection active until the idle timeout (30 s).\n\n")
		w("| server | connections total / active | requests total / active / rejected | sessions active | events dropped | datagrams received / sent / dropped |\n")
		w("|---|---|---|---|---|---|\n")
		for _, k := range withStats {
			st := rep.Servers[k].Stats
			w("| (%s) %s | %s / %s | %s / %s / %s | %s | %s | %s / %s / %s |\n", k, serverByKey(k).Name,
				fmtInt(st["connectionsTotal"]), over(st["connectionsActive"], 1), fmtInt(st["requests"]), over(st["requestsActive"], 1),
				fmtInt(st["requestsRejected"]), over(st["sessionsActive"], 0), fmtInt(st["eventsDropped"]),
				fmtInt(st["datagramsReceived"]), fmtInt(st["datagramsSent"]), fmtInt(st["datagramsDropped"]))
		}
		w("\n")
	}
	for _, k := range rep.Order {
		if s := rep.Servers[k]; s != nil {
			for _, c := range s.Crashes {
				w("(%s) %s crashed and was restarted: %s\n\n", k, s.Def.Name, strings.ReplaceAll(c, "\n", " / "))
			}
		}
	}
	if len(rep.Memory) > 0 {
		w("### RSS after 1 M requests vs after the first 10 k\n\n")
		w("A fresh process per server; small GETs, c=64 over 4 connections; RSS 1 s after each phase. Each server has a\n")
		w("time cap (the run must fit in its %s); a capped row says how far it got.\n\n", budget(rep.Meta))
		w("| server | RSS at start | after first 10 k | after all | requests | delta | peak | req/s | CPU/req | note |\n")
		w("|---|---|---|---|---|---|---|---|---|---|\n")
		for _, k := range rep.Order {
			row := rep.Memory[k]
			if row == nil {
				continue
			}
			note := row.Note
			if row.Capped {
				note = strings.TrimSpace(fmt.Sprintf("time cap %.0f s reached. %s", row.CapSeconds, note))
			}
			if row.Errors > 0 {
				note = strings.TrimSpace(note + fmt.Sprintf(" %d errors: %s", row.Errors, strings.Join(row.ErrorSample, "; ")))
			}
			w("| (%s) %s | %.1f MiB | %.1f MiB | %.1f MiB | %s | %+.1f MiB | %.1f MiB | %s | %s | %s |\n", k, serverByKey(k).Name,
				row.RSSStartMiB, row.RSSAfterFirst, row.RSSAfterAll, fmtNum(float64(row.RequestsTotal)), row.DeltaMiB, row.PeakMiB,
				fmtNum(row.OpsPerSec), fmtUs(row.CPUUsPerOp), html.EscapeString(note))
		}
		w("\n")
	}
	if len(rep.Conns) > 0 || len(rep.ConnsErr) > 0 {
		n, _ := strconv.ParseFloat(rep.Meta.Options["conns"], 64)
		w("### Connections opened and closed (%s at most)\n\n", fmtNum(n))
		w("On the long-running servers after the other rows: each connection does the handshake, one GET /small and\n")
		w("closes; 32 at a time, for at most %s per server (no connection starts after it). RSS before, peak, and 1 s\n", rep.Meta.Options["connsCap"])
		w("after the last connection closed.\n\n")
		w("| server | connections | conn/s | p50 / p99 (handshake + GET) | server CPU/conn | RSS before / peak / after | delta | errors |\n")
		w("|---|---|---|---|---|---|---|---|\n")
		for _, k := range rep.Order {
			r := rep.Conns[k]
			if r == nil {
				if e, ok := rep.ConnsErr[k]; ok {
					w("| (%s) %s | failed: %s | | | | | | |\n", k, serverByKey(k).Name, html.EscapeString(e))
				}
				continue
			}
			errs := fmt.Sprint(r.Errors)
			if r.Errors > 0 {
				errs += ": " + html.EscapeString(strings.Join(r.ErrorSample, "; "))
			}
			w("| (%s) %s | %s | %s | %s / %s | %s | %.1f / %.1f / %.1f MiB | %+.1f MiB | %s |\n", k, serverByKey(k).Name, fmtNum(float64(r.Ops)),
				fmtNum(r.OpsPerSec), fmtUs(r.P50Us), fmtUs(r.P99Us), fmtUs(r.Server.CPUUsPerOp), r.Server.RSSBeforeMB, r.Server.RSSPeakMB,
				r.Server.RSSAfterMB, r.Server.RSSAfterMB-r.Server.RSSBeforeMB, errs)
		}
		w("\n")
	}
}

func writeMethod(b *strings.Builder, rep *Report) {
	o := rep.Meta.Options
	fmt.Fprintf(b, `## Method

- **One command:** `+"`make bench`"+` builds the library, bench/loadgen, bench/servers/go-core,
  bench/servers/pure-h3, bench/servers/c-server and bench/servers/c-queue, then runs bench/runner, which writes bench/results/*.json (every cell, with all
  rounds), this file and the chart. `+"`make bench BENCH_ARGS=-quick`"+` is a 1-minute smoke run; other flags:
  `+"`build/bench/runner -h`"+`.
- **Layout:** the servers run at once, each in its own process, on 127.0.0.1; the load generator is one more
  process (quic-go %s client) started per cell. Every server uses the same self-signed ECDSA P-256 certificate
  and serves the same routes. Within a scenario the cells alternate between the servers (A B C D A B C D), %s
  rounds of %s measured time after a 250 ms warm-up for the time-bounded rows (%s in the rows the targets against
  (e) are measured in: %s), %s rounds of one transfer for the
  %s rows; a table shows each server's best round (other processes on the machine only ever slow a cell
  down); the JSON files have every round and the mean.
- **Same core, same settings:** (a), (b) and (d) run with HTTP/3 datagrams and WebTransport enabled (bun-lib's
  /dgram and /wt routes turn them on, so go-core and c-server enable them too): connections then take the same
  path in the core (webtransport-go's ServeQUICConn).
- **Same collector:** every Go server runs with GOGC=%d unless the run sets GOGC: the library sets it for its
  own runtime in (a), (d) and (f) (bridge.RuntimeGCPercent), and the runner gives it to (b) and (e), so that the
  core and plain quic-go are compared with the same collector (until 2026-12-07 they ran with Go's default, 100,
  which cost (b) 32 %% and (e) 19 %% more CPU per small GET than 400 did, and made (b)/(e) look worse than it is).
- **Routes:** GET /small ("hello" from a handler), GET /static (the same "hello" as a static route:
  `+"`new Response(\"hello\")`"+` in (a) and (c), which both answer it natively, server.NewStaticHandler in (b)), POST /echo-small (1 KiB echo), GET /download?bytes=N (a body produced
  while sending: a JS `+"`ReadableStream`"+` of 64 KiB chunks in (a) and (c), Response.Send paced on Pending in (b), a
  writer thread on zig_h3_response_send in (d)), GET /file (`+"`Bun.file`"+`, Response.SendFile, zig_h3_response_send_file),
  POST /upload (a streaming route that counts the bytes: `+"`mode: \"streaming\"`"+` in (a), `+"`req.body`"+` in (c),
  Request.ReadBody in (b), body callbacks in (d)), and in (a), (b) and (e) POST /dgram (HTTP/3 datagram echo on the
  request's flow) and CONNECT /wt (WebTransport: datagram echo and bidirectional stream echo). In (b) the
  WebTransport session is accepted by a Go SessionHandler; its datagrams and streams reach Go through the
  bridge's event queue, drained by Go: the path the Bun wrapper takes, minus JS.
- **Datagram rows:** a fixed number of datagrams in flight (a window per flow); a datagram not echoed within
  200 ms counts as lost and frees its slot. Throughput is echoes per second; latency is the round trip.
- **Memory row:** a fresh process per server; %s requests at most, within a time cap per server: (a) runs
  last and gets what is left of the run's %s, the others a fixed cap. **Connection row:** %s connections at most
  within a time cap per server; no connection starts after it, so every one is closed properly before the counters are
  read.
- **(e) pure-h3** is a reference, not one of the compared servers: quic-go's own http3.Server and
  webtransport-go with net/http handlers and no core (every connection through webtransport-go, as in the
  core), in every row it can serve (all but the static route), to show what the core costs on top of quic-go.
- **(f) c-queue** is a reference too: the library in event-queue mode, as Bun drives it (one thread polls the
  event fd, drains the queue in batches and answers with zig_h3_response_respond), with a C consumer that
  answers at once (WebTransport: echoes each datagram and stream chunk as its event arrives), run in the
  rows the targets against (e) are measured in (%s).
- **Not measured:** (c) has no datagrams or WebTransport in %s; (d) serves the HTTP rows only.
  %s

`, rep.Meta.Versions["quic-go"], o["rounds"], o["duration"], cmp.Or(o["targetRounds"], o["rounds"]), strings.Join(slices.Sorted(maps.Keys(targetRows)), ", "), o["bulkRounds"], transferSize(rep), bridge.RuntimeGCPercent, fmtOpt(o["memRequests"]), budget(rep.Meta),
		fmtOpt(o["conns"]), strings.Join(serverByKey("f").Rows, ", "), bunVersion(rep.Meta), clientShare(rep))
}

// chartSVG draws one group per scenario: each server's throughput relative
// to (b), labelled with the absolute value.
func chartSVG(rep *Report) string {
	colors := map[string]string{"a": "#e4572e", "b": "#29335c", "c": "#f3a712", "d": "#669bbc", "e": "#8a8a8a", "f": "#9bc53d"}
	const (
		width   = 920
		labelW  = 300
		barH    = 13
		barGap  = 3
		groupGp = 16
		top     = 68
		right   = 150
	)
	maxRatio := 1.0
	type bar struct {
		key   string
		ratio float64
		label string
	}
	type group struct {
		title string
		bars  []bar
	}
	var groups []group
	for _, s := range rep.Scenarios {
		base := s.Best["b"]
		if base == nil || metric(s.Scenario, base) == 0 {
			continue
		}
		g := group{title: s.Scenario.Short}
		for _, k := range rep.Order {
			r := s.Best[k]
			if r == nil {
				continue
			}
			v := metric(s.Scenario, r)
			rt := v / metric(s.Scenario, base)
			maxRatio = max(maxRatio, rt)
			g.bars = append(g.bars, bar{k, rt, fmt.Sprintf("%s %s (%.2f×)", fmtNum(v), s.Scenario.Unit, rt)})
		}
		groups = append(groups, g)
	}
	scaleMax := math.Ceil(maxRatio*2) / 2
	plotW := float64(width - labelW - right)
	x := func(r float64) float64 { return labelW + plotW*r/scaleMax }
	height := top + 30
	for _, g := range groups {
		height += len(g.bars)*(barH+barGap) + groupGp
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="11">`+"\n", width, height, width, height)
	w(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	w(`<text x="10" y="20" font-size="14" font-weight="bold">Throughput relative to (b) go-core (1.0 = the Go handler on the same core)</text>` + "\n")
	w(`<text x="10" y="38" fill="#555">%d cores, %s; %s</text>`+"\n", rep.Meta.Cores, html.EscapeString(rep.Meta.CPUModel), rep.Meta.Started.UTC().Format(time.DateOnly))
	lx, step := float64(labelW), min(118, float64(width-labelW)/float64(max(len(rep.Order), 1)))
	for _, k := range rep.Order {
		w(`<rect x="%.0f" y="46" width="10" height="10" fill="%s"/><text x="%.0f" y="55">(%s) %s</text>`+"\n", lx, colors[k], lx+14, k, serverByKey(k).Name)
		lx += step
	}
	y := float64(top)
	for _, g := range groups {
		gh := float64(len(g.bars)*(barH+barGap) - barGap)
		w(`<text x="%d" y="%.0f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", labelW-8, y+gh/2, html.EscapeString(shorten(g.title, 48)))
		for _, br := range g.bars {
			w(`<rect x="%d" y="%.0f" width="%.1f" height="%d" fill="%s"/>`, labelW, y, math.Max(1, x(br.ratio)-labelW), barH, colors[br.key])
			w(`<text x="%.1f" y="%.0f" dominant-baseline="middle" fill="#333">%s</text>`+"\n", x(br.ratio)+4, y+barH/2+1, html.EscapeString(br.label))
			y += barH + barGap
		}
		y += groupGp
	}
	for t := 0.0; t <= scaleMax+1e-9; t += 0.5 {
		w(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%.0f" stroke="#999" stroke-width="%s" stroke-dasharray="3,3"/>`+"\n", x(t), top-4, x(t), y-groupGp+4, map[bool]string{true: "1.2", false: "0.5"}[t == 1])
		w(`<text x="%.1f" y="%.0f" text-anchor="middle" fill="#555">%.1f</text>`+"\n", x(t), y-groupGp+16, t)
	}
	w("</svg>\n")
	return b.String()
}

func fmtOpt(v string) string {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return v
	}
	return fmtNum(f)
}

func fmtInt(v float64) string {
	if v < 100 {
		return fmt.Sprint(int64(v))
	}
	return fmtNum(v)
}

// over formats a counter, in bold when it is above what is expected.
func over(v, expected float64) string {
	if v > expected {
		return "**" + fmtInt(v) + "**"
	}
	return fmtInt(v)
}

func shorten(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
