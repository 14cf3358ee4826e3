// Command h3client is a small HTTP/3 client for the tests, for what Bun's
// fetch cannot do: exact header and trailer output, many requests on one or
// several QUIC connections, large uploads.
//
//	go run ./tests/h3client [-X METHOD] [-d BODY | -data-file PATH | -data-size N]
//	    [-H 'name: value']... [-n COUNT] [-c CONCURRENCY] [-conns K] [-json]
//	    [-timeout 20s] URL
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
// (default 1: all on one). -data-size sends N bytes of the repeating pattern
// "abcdefghijklmnopqrstuvwxyz0123456789".
//
// Exit status: 0 if every request got a complete response (any status), 1
// if any failed at the transport level (also on -timeout), 2 on bad usage.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// headerFlags collects repeated -H options.
type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

// result is one completed response.
type result struct {
	Status     int                 `json:"status"`
	Headers    map[string][]string `json:"headers"`
	Trailers   map[string][]string `json:"trailers"`
	Body       string              `json:"body"`
	BodyLength int                 `json:"bodyLength"`
	BodySHA256 string              `json:"bodySha256"`
}

func main() { os.Exit(run()) }

// run does the work; its deferred Close calls end the QUIC connections
// cleanly before main exits.
func run() int {
	method := flag.String("X", "", "request method (default GET, or POST with a body)")
	data := flag.String("d", "", "request body")
	dataFile := flag.String("data-file", "", "read the request body from this file")
	dataSize := flag.Int("data-size", -1, "send N bytes of a repeating pattern as the body")
	var headers headerFlags
	flag.Var(&headers, "H", "request header 'name: value' (repeatable)")
	count := flag.Int("n", 1, "number of requests")
	concurrency := flag.Int("c", 1, "requests in flight at once")
	conns := flag.Int("conns", 1, "number of QUIC connections to spread requests over")
	asJSON := flag.Bool("json", false, "print one JSON object per response")
	timeout := flag.Duration("timeout", 20*time.Second, "overall timeout")
	flag.Parse()
	if flag.NArg() != 1 || *count < 1 || *concurrency < 1 || *conns < 1 {
		fmt.Fprintln(os.Stderr, "usage: h3client [flags] URL (see -h)")
		return 2
	}
	url := flag.Arg(0)

	body, hasBody, err := requestBody(*data, *dataFile, *dataSize)
	if err != nil {
		fmt.Fprintln(os.Stderr, "h3client:", err)
		return 2
	}
	header := http.Header{}
	for _, h := range headers {
		name, value, found := strings.Cut(h, ":")
		if !found {
			fmt.Fprintf(os.Stderr, "h3client: bad header %q: want 'name: value'\n", h)
			return 2
		}
		header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if *method == "" {
		*method = http.MethodGet
		if hasBody {
			*method = http.MethodPost
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	transports := make([]*http3.Transport, *conns)
	for i := range transports {
		transports[i] = &http3.Transport{
			TLSClientConfig:    &tls.Config{InsecureSkipVerify: true},
			DisableCompression: true,
		}
		defer transports[i].Close()
	}

	var (
		mu       sync.Mutex
		ok, bad  int
		statuses = map[int]int{}
		summary  = *count > 1 || *concurrency > 1
	)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(*concurrency, *count) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				res, err := do(ctx, transports[i%len(transports)], *method, url, header, body, hasBody)
				mu.Lock()
				switch {
				case err != nil:
					bad++
					fmt.Fprintf(os.Stderr, "h3client: request %d: %v\n", i+1, err)
				default:
					ok++
					statuses[res.Status]++
					if *asJSON {
						out, _ := json.Marshal(res)
						fmt.Printf("%s\n", out)
					} else if !summary {
						printResult(res)
					}
				}
				mu.Unlock()
			}
		}()
	}
	for i := range *count {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	if summary && !*asJSON {
		var parts []string
		for _, c := range slices.Sorted(maps.Keys(statuses)) {
			parts = append(parts, fmt.Sprintf("%d:%d", c, statuses[c]))
		}
		fmt.Printf("ok=%d failed=%d statuses=%s\n", ok, bad, strings.Join(parts, ","))
	}
	if bad > 0 {
		return 1
	}
	return 0
}

// requestBody returns the body chosen by -d, -data-file or -data-size.
func requestBody(data, file string, size int) (body []byte, has bool, err error) {
	switch {
	case data != "" && (file != "" || size >= 0) || file != "" && size >= 0:
		return nil, false, fmt.Errorf("use only one of -d, -data-file, -data-size")
	case data != "":
		return []byte(data), true, nil
	case file != "":
		b, err := os.ReadFile(file)
		return b, err == nil, err
	case size >= 0:
		const pattern = "abcdefghijklmnopqrstuvwxyz0123456789"
		b := make([]byte, size)
		for i := range b {
			b[i] = pattern[i%len(pattern)]
		}
		return b, true, nil
	}
	return nil, false, nil
}

// do makes one request and reads the whole response, trailers included.
func do(ctx context.Context, t *http3.Transport, method, url string, header http.Header, body []byte, hasBody bool) (*result, error) {
	var rd io.Reader
	if hasBody {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header = header.Clone()
	req.Host = header.Get("Host")
	req.Header.Del("Host")
	resp, err := t.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading body after status %d: %w", resp.StatusCode, err)
	}
	sum := sha256.Sum256(b)
	return &result{
		Status:     resp.StatusCode,
		Headers:    lower(resp.Header),
		Trailers:   lower(resp.Trailer),
		Body:       string(b),
		BodyLength: len(b),
		BodySHA256: hex.EncodeToString(sum[:]),
	}, nil
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
