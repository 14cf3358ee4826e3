// Command h3client is a small HTTP/3 client for the tests, for what Bun's
// fetch cannot do: exact header and trailer output, many requests on one or
// several QUIC connections, large, throttled, aborted and full-duplex
// uploads and downloads.
//
//	go run ./tests/h3client [-X METHOD] [-d BODY | -data-file PATH | -data-size N]
//	    [-H 'name: value']... [-trailer 'name: value']... [-n COUNT]
//	    [-c CONCURRENCY] [-conns K] [-json] [-discard] [-upload-rate B/S]
//	    [-read-rate B/S] [-abort-after-send N | -abort-after-read N]
//	    [-duplex] [-timeout 20s] URL
//
// TLS certificates are not verified (the tests use development certificates).
//
// Output for one request: "HTTP/3 <status>", the response headers as
// "name: value" lines (lower-case names, sorted, one line per value), a blank
// line, the body, then each trailer as a "trailer name: value" line starting
// on a new line. With -n or -c above 1 it prints one summary line instead:
// "ok=<n> failed=<n> statuses=<status:count,...>". With -json it prints one
// JSON object per response (status, headers, trailers, body, bodyLength,
// bodySha256) and no summary.
//
// -n repeats the request COUNT times; -c runs that many at once (default 1:
// sequentially); -conns spreads them round-robin over K QUIC connections
// (default 1: all on one).
//
// Request body: -d sends BODY; -data-file streams the file; -data-size
// streams N bytes of the repeating pattern "abcdefghijklmnopqrstuvwxyz0123456789"
// from a reader (nothing of size N is allocated: 1 GiB uploads are fine).
// The request gets a Content-Length. -trailer (repeatable) sends request
// trailers after the body (an empty body if there is none).
//
// -upload-rate and -read-rate pace sending the request body and reading the
// response body to about B bytes per second (reads and writes of 16 KiB at
// most, with a sleep after each). -discard keeps no response body in
// memory: only its length and SHA-256 are kept (the "body" is empty in
// both output forms; -json still has bodyLength and bodySha256).
//
// -abort-after-send N cancels the request (the stream is reset both ways)
// once N body bytes were handed to the stream; -abort-after-read N cancels
// it after N response body bytes were read. Such a request prints
// "aborted after <n> bytes" instead of its response and counts as ok (in a
// summary, its status is counted only if the head had arrived). If the
// response completes before the limit, it is printed as usual.
//
// -duplex sends the body (default method POST) in 64 KiB chunks through a
// pipe and, after each chunk, reads as many response body bytes and checks
// that they are the chunk echoed back, before it sends the next chunk: it
// proves that the server streams its response while the upload is still
// going on. It prints "duplex ok bytes=<n>", or fails (a server that
// answers only after the whole body never gets it: the request times out).
//
// After an aborted or failed request the client keeps its connections open
// for 300 ms before it closes them, so that the stream resets reach the
// server even if a packet is lost (a UDP receive buffer overflowing under a
// fast upload) and has to be sent again.
//
// Exit status: 0 if every request got a complete response (any status) or
// was aborted on purpose, 1 if any failed at the transport level (also on
// -timeout, and a -duplex mismatch), 2 on bad usage.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zig-h3/h3bun/client"
)

// fieldFlags collects repeated 'name: value' options (-H, -trailer).
type fieldFlags []string

func (h *fieldFlags) String() string     { return strings.Join(*h, ", ") }
func (h *fieldFlags) Set(v string) error { *h = append(*h, v); return nil }

// header parses the collected fields.
func (h fieldFlags) header(flagName string) (http.Header, error) {
	out := http.Header{}
	for _, f := range h {
		name, value, found := strings.Cut(f, ":")
		if !found {
			return nil, fmt.Errorf("bad %s %q: want 'name: value'", flagName, f)
		}
		out.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return out, nil
}

// result is one completed (or deliberately aborted) request.
type result struct {
	Status     int                 `json:"status"`
	Headers    map[string][]string `json:"headers"`
	Trailers   map[string][]string `json:"trailers"`
	Body       string              `json:"body"`
	BodyLength int64               `json:"bodyLength"`
	BodySHA256 string              `json:"bodySha256"`

	// note replaces the output when set ("aborted after ...", "duplex ok ...").
	note    string
	aborted bool
}

// lingerAfterAbort is how long the connections stay open after a request
// was aborted or failed, before they close.
const lingerAfterAbort = 300 * time.Millisecond

func main() { os.Exit(run()) }

// cli is the command line: the request and how many, how.
type cli struct {
	options
	count, concurrency, conns int
	asJSON                    bool
	timeout                   time.Duration
}

// summary reports whether the output is one summary line.
func (c *cli) summary() bool { return c.count > 1 || c.concurrency > 1 }

// run does the work; its deferred Close calls end the QUIC connections
// cleanly before main exits.
func run() int {
	c, code := parseCLI()
	if c == nil {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	transports := make([]*client.Transport, c.conns)
	for i := range transports {
		transports[i] = &client.Transport{Config: &client.Config{InsecureSkipVerify: true, DisableCompression: true}}
		defer transports[i].Close()
	}
	t := c.runAll(ctx, transports)
	if t.aborted || t.bad > 0 {
		// Let the stream resets reach the server (and be retransmitted if
		// a packet was lost) before the connections close.
		time.Sleep(lingerAfterAbort)
	}
	if c.summary() && !c.asJSON {
		t.printSummary()
	}
	if t.bad > 0 {
		return 1
	}
	return 0
}

// parseCLI parses the command line; on bad usage it returns nil and the
// exit status, after saying why on stderr.
func parseCLI() (*cli, int) {
	c := &cli{}
	o := &c.options
	var headers, trailers fieldFlags
	method := flag.String("X", "", "request method (default GET, or POST with a body)")
	data := flag.String("d", "", "request body")
	dataFile := flag.String("data-file", "", "stream the request body from this file")
	dataSize := flag.Int64("data-size", -1, "stream N bytes of a repeating pattern as the body")
	flag.Var(&headers, "H", "request header 'name: value' (repeatable)")
	flag.Var(&trailers, "trailer", "request trailer 'name: value' sent after the body (repeatable)")
	flag.IntVar(&c.count, "n", 1, "number of requests")
	flag.IntVar(&c.concurrency, "c", 1, "requests in flight at once")
	flag.IntVar(&c.conns, "conns", 1, "number of QUIC connections to spread requests over")
	flag.BoolVar(&c.asJSON, "json", false, "print one JSON object per response")
	flag.BoolVar(&o.discard, "discard", false, "keep only the length and SHA-256 of the response body")
	flag.Int64Var(&o.uploadRate, "upload-rate", 0, "send the request body at about this many bytes/s (0: no limit)")
	flag.Int64Var(&o.readRate, "read-rate", 0, "read the response body at about this many bytes/s (0: no limit)")
	flag.Int64Var(&o.abortAfterSend, "abort-after-send", -1, "cancel the request after sending N body bytes")
	flag.Int64Var(&o.abortAfterRead, "abort-after-read", -1, "cancel the request after reading N response bytes")
	flag.BoolVar(&o.duplex, "duplex", false, "send the body in 64 KiB chunks, checking each is echoed before the next")
	flag.DurationVar(&c.timeout, "timeout", 20*time.Second, "overall timeout")
	flag.Parse()
	if flag.NArg() != 1 || c.count < 1 || c.concurrency < 1 || c.conns < 1 || o.uploadRate < 0 || o.readRate < 0 {
		fmt.Fprintln(os.Stderr, "usage: h3client [flags] URL (see -h)")
		return nil, 2
	}
	o.url = flag.Arg(0)
	if err := o.setRequest(*method, *data, *dataFile, *dataSize, headers, trailers); err != nil {
		fmt.Fprintln(os.Stderr, "h3client:", err)
		return nil, 2
	}
	return c, 0
}

// setRequest sets the method, body, header and trailer from the flags.
func (o *options) setRequest(method, data, dataFile string, dataSize int64, headers, trailers fieldFlags) error {
	var err error
	if o.body, err = newBodySource(data, dataFile, dataSize); err != nil {
		return err
	}
	if o.header, err = headers.header("-H"); err != nil {
		return err
	}
	if o.trailer, err = trailers.header("-trailer"); err != nil {
		return err
	}
	if o.duplex && (o.body == nil || o.abortAfterSend >= 0 || o.abortAfterRead >= 0) {
		return fmt.Errorf("-duplex needs a body (-d, -data-file or -data-size) and no -abort-after-*")
	}
	if len(o.trailer) > 0 && o.body == nil {
		o.body = &bodySource{data: []byte{}}
	}
	o.method = method
	if o.method == "" {
		o.method = http.MethodGet
		if o.body != nil {
			o.method = http.MethodPost
		}
	}
	return nil
}

// tally counts the outcomes of the requests.
type tally struct {
	mu       sync.Mutex
	ok, bad  int
	aborted  bool
	statuses map[int]int
}

// runAll makes the requests, c.concurrency at a time, spread round-robin
// over the transports, printing each as it completes.
func (c *cli) runAll(ctx context.Context, transports []*client.Transport) *tally {
	t := &tally{statuses: map[int]int{}}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(c.concurrency, c.count) {
		wg.Go(func() {
			for i := range jobs {
				res, err := do(ctx, transports[i%len(transports)], &c.options)
				t.record(c, i, res, err)
			}
		})
	}
	for i := range c.count {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return t
}

// record counts request i and prints it as the flags say.
func (t *tally) record(c *cli, i int, res *result, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.bad++
		fmt.Fprintf(os.Stderr, "h3client: request %d: %v\n", i+1, err)
		return
	}
	t.ok++
	if res.Status > 0 {
		t.statuses[res.Status]++
	}
	t.aborted = t.aborted || res.aborted
	switch {
	case res.note != "":
		fmt.Println(res.note)
	case c.asJSON:
		out, _ := json.Marshal(res)
		fmt.Printf("%s\n", out)
	case !c.summary():
		printResult(res)
	}
}

// printSummary prints "ok=<n> failed=<n> statuses=<status:count,...>".
func (t *tally) printSummary() {
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(t.statuses)) {
		parts = append(parts, fmt.Sprintf("%d:%d", c, t.statuses[c]))
	}
	fmt.Printf("ok=%d failed=%d statuses=%s\n", t.ok, t.bad, strings.Join(parts, ","))
}

// lower returns h with lower-case names (never nil, for stable JSON).
func lower(h http.Header) map[string][]string {
	m := map[string][]string{}
	for k, v := range h {
		if len(v) > 0 {
			m[strings.ToLower(k)] = append(m[strings.ToLower(k)], v...)
		}
	}
	return m
}

// printResult writes the default text form of one response.
func printResult(r *result) {
	var sb strings.Builder
	sb.WriteString("HTTP/3 " + strconv.Itoa(r.Status) + "\n")
	writeFields(&sb, "", r.Headers)
	sb.WriteString("\n" + r.Body)
	if len(r.Trailers) > 0 {
		if r.Body != "" && !strings.HasSuffix(r.Body, "\n") {
			sb.WriteString("\n")
		}
		writeFields(&sb, "trailer ", r.Trailers)
	}
	os.Stdout.WriteString(sb.String())
}

func writeFields(sb *strings.Builder, prefix string, m map[string][]string) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		for _, v := range m[k] {
			sb.WriteString(prefix + k + ": " + v + "\n")
		}
	}
}
