package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// The client rows: this library's h3Fetch next to Bun's own
// fetch(url, { protocol: "http3" }), both from one Bun process
// (bench/clients/fetch-client.ts), small GETs against one of our servers.

// clientKinds are the clients compared, in table order.
var clientKinds = []struct{ Key, Label string }{
	{"h3fetch", "this library's `h3Fetch` (bun/)"},
	{"bun", "Bun's `fetch(url, { protocol: \"http3\" })`"},
}

// clientConcurrency are the c values of the client rows.
var clientConcurrency = []int{1, 64}

// ClientRow is the best round of one client at one concurrency.
type ClientRow struct {
	Client string  `json:"client"`
	C      int     `json:"c"`
	Server string  `json:"server"`
	Result *Result `json:"result,omitempty"`
	Error  string  `json:"error,omitempty"`
}

// CPUUsPerOp is the client process's CPU time per request.
func (c *ClientRow) CPUUsPerOp() float64 {
	if c.Result == nil || c.Result.Ops == 0 {
		return 0
	}
	return c.Result.ClientCPUMs * 1000 / float64(c.Result.Ops)
}

// clientServer picks the server the clients talk to: (b), the Go handler
// (the least server CPU per request of ours), else the first one running.
func (r *run) clientServer() (string, *serverProc) {
	for _, k := range append([]string{"b"}, r.keys...) {
		if p := r.procs[k]; p != nil && p.alive() {
			return k, p
		}
	}
	return "", nil
}

// runClients measures the clients, alternating them within each round.
func (r *run) runClients(ctx context.Context) {
	k, p := r.clientServer()
	for _, c := range clientConcurrency {
		best := map[string]*ClientRow{}
		for round := 0; round < r.o.rounds; round++ {
			for _, kind := range clientKinds {
				if ctx.Err() != nil {
					return
				}
				row := &ClientRow{Client: kind.Key, C: c, Server: k}
				if p == nil {
					row.Error = "no server running"
				} else {
					row.Result, row.Error = r.fetchClient(ctx, kind.Key, p.url("/small"), c)
				}
				if b := best[kind.Key]; b == nil || b.Result == nil || row.Result != nil && row.Result.OpsPerSec > b.Result.OpsPerSec {
					best[kind.Key] = row
				}
			}
		}
		for _, kind := range clientKinds {
			if row := best[kind.Key]; row != nil {
				r.report.Clients = append(r.report.Clients, row)
			}
		}
	}
}

// fetchClient runs bench/clients/fetch-client.ts once.
func (r *run) fetchClient(ctx context.Context, kind, url string, c int) (*Result, string) {
	d := r.o.duration
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node_modules/.bin/bun", "bench/clients/fetch-client.ts", "-client", kind, "-url", url,
		"-c", strconv.Itoa(c), "-duration", d.String(), "-warmup", "1s")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := &Result{}
	if jerr := json.Unmarshal(out.Bytes(), res); jerr != nil {
		return nil, fmt.Sprintf("%v: %s", err, firstLine(strings.TrimSpace(errb.String())))
	}
	if res.Errors > 0 {
		return res, fmt.Sprintf("%d errors: %s", res.Errors, strings.Join(res.ErrorSample, "; "))
	}
	return res, ""
}

// writeClients writes the client table.
func writeClients(b *strings.Builder, rep *Report) {
	if len(rep.Clients) == 0 {
		return
	}
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("## Clients\n\n")
	w("Small GETs from one Bun process (`bench/clients/fetch-client.ts`) against server (%s), c requests in flight on\n", rep.Clients[0].Server)
	w("one connection; best of the rounds, the two clients alternating. Client CPU is the whole Bun process (JavaScript\n")
	w("and, for `h3Fetch`, the library's Go threads) per request, from `process.cpuUsage()`.\n\n")
	w("| client | c | req/s | p50 | p99 | client CPU/req | errors |\n|---|---|---|---|---|---|---|\n")
	label := map[string]string{}
	for _, k := range clientKinds {
		label[k.Key] = k.Label
	}
	for _, row := range rep.Clients {
		if row.Result == nil {
			w("| %s | %d | failed: %s | | | | |\n", label[row.Client], row.C, row.Error)
			continue
		}
		res := row.Result
		w("| %s | %d | %s | %s | %s | %s | %d |\n", label[row.Client], row.C, fmtNum(res.OpsPerSec), fmtUs(res.P50Us),
			fmtUs(res.P99Us), fmtUs(row.CPUUsPerOp()), res.Errors)
	}
	w("\n")
}
