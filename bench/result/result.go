// Package result is the JSON schema bench/loadgen writes and bench/runner
// reads: one Result per measured cell.
package result

import "encoding/json"

// TimeoutNote is the last entry of ErrorSample, counted in Errors, when
// loadgen's -timeout cut the run short.
const TimeoutNote = "run stopped by -timeout"

// Result is what every scenario prints.
type Result struct {
	Scenario string `json:"scenario"`
	URL      string `json:"url"`
	// Ops are completed operations: requests, transfers, echoed datagrams,
	// stream echoes or connections.
	Ops       int64   `json:"ops"`
	Bytes     int64   `json:"bytes"`
	Seconds   float64 `json:"seconds"`
	OpsPerSec float64 `json:"opsPerSec"`
	// MBPerSec counts payload bytes (10^6 per MB) in the measured window.
	MBPerSec float64 `json:"mbPerSec"`
	P50Us    float64 `json:"p50Us"`
	P99Us    float64 `json:"p99Us"`
	Errors   int64   `json:"errors"`
	// ErrorSample holds a few distinct error messages.
	ErrorSample []string `json:"errorSample,omitempty"`
	// Datagram scenarios: sent and lost (not echoed within the loss timeout).
	Sent   int64      `json:"sent,omitempty"`
	Lost   int64      `json:"lost,omitempty"`
	Server *ProcUsage `json:"server,omitempty"`
	// ForeignPct is the share of the machine's CPU capacity (all cores)
	// used during the window by processes other than this one and the
	// measured server: other servers, other users of the machine.
	ForeignPct  float64        `json:"foreignPct"`
	ClientCPUMs float64        `json:"clientCpuMs"`
	Params      map[string]any `json:"params"`
	// Body is the response body of fetch (JSON).
	Body json.RawMessage `json:"body,omitempty"`
}

// ProcUsage is what the server process used during a window.
type ProcUsage struct {
	PID   int     `json:"pid"`
	CPUMs float64 `json:"cpuMs"`
	// CPUUsPerOp is server CPU time (user + system, all threads) per op.
	CPUUsPerOp float64 `json:"cpuUsPerOp"`
	// MainThreadUsPerOp is the part of CPUUsPerOp spent on the process's
	// main thread: the JavaScript thread of a Bun server, the consumer
	// thread of the C servers, one of the Go runtime's threads in a Go one.
	MainThreadUsPerOp float64 `json:"mainThreadUsPerOp"`
	RSSBeforeMB       float64 `json:"rssBeforeMiB"`
	RSSPeakMB         float64 `json:"rssPeakMiB"`
	RSSAfterMB        float64 `json:"rssAfterMiB"`
	// HWMMB is VmHWM at the end: the process's peak RSS since it started.
	HWMMB float64 `json:"hwmMiB"`
	// Alive is false when the process was gone at the end of the window.
	Alive bool `json:"alive"`
}
