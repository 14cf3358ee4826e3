// Command dgclient is a test client for datagrams and WebTransport: raw QUIC
// datagrams (RFC 9221), HTTP/3 datagrams (RFC 9297) and WebTransport
// sessions over HTTP/3, built on quic-go and webtransport-go so that it checks
// the server independently of this repository's library.
//
//	dgclient quic-dgram -addr 127.0.0.1:PORT [-alpn h3|OTHER] [-n 100] [-size 64]
//	    [-burst] [-interval 1ms] [-idle 1s] [-timeout 10s]
//	dgclient h3-dgram -url https://127.0.0.1:PORT/path [-n 50] [-requests 2]
//	    [-method POST] [-burst] [-interval 1ms] [-idle 1s] [-timeout 10s]
//	dgclient wt -url https://127.0.0.1:PORT/wt/echo [-origin ORIGIN]
//	    [-datagrams 100] [-bidi 65536] [-streams 3] [-uni 1000]
//	    [-burst] [-interval 1ms] [-idle 1s] [-timeout 10s]
//	dgclient wt-reject -url URL [-origin ORIGIN] [-timeout 10s]
//	dgclient wt-close -url URL -mode server|client [-code 7] [-reason bye]
//	    [-origin ORIGIN] [-timeout 10s]
//	dgclient wt-server-streams -url URL [-origin ORIGIN] [-timeout 10s]
//
// Each subcommand prints one JSON object on stdout and exits 0 when the
// scenario ran, even if few datagrams came back (the caller asserts the
// counts). It exits 1 on a transport or setup error (a failed dial, a
// server without the needed support, a stream that failed where the scenario
// cannot go on), with the error on stderr and nothing on stdout, and 2 on bad
// usage. -timeout bounds the whole scenario.
//
// TLS certificates are not verified (the tests use development certificates).
//
// Datagram scenarios send with -interval between datagrams (-burst: all at
// once), receive echoes while sending, and stop when every echo came back,
// when nothing arrived for -idle after the last send, or at -timeout.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// errUsage marks bad command-line usage (exit status 2).
var errUsage = errors.New("usage")

// pacing holds the flags shared by the datagram scenarios.
type pacing struct {
	burst    bool
	interval time.Duration
	idle     time.Duration
}

// gap is the pause between two sends.
func (p pacing) gap() time.Duration {
	if p.burst {
		return 0
	}
	return p.interval
}

// addPacingFlags registers -burst, -interval and -idle on fs.
func addPacingFlags(fs *flag.FlagSet, p *pacing) {
	fs.BoolVar(&p.burst, "burst", false, "send all datagrams at once")
	fs.DurationVar(&p.interval, "interval", time.Millisecond, "pause between datagrams")
	fs.DurationVar(&p.idle, "idle", time.Second, "stop receiving when nothing arrived for this long after the last send")
}

// command is one subcommand: it parses its flags, runs within ctx and
// returns the value printed as JSON.
type command func(ctx context.Context, args []string) (any, error)

var commands = map[string]command{
	"quic-dgram":        cmdQUICDgram,
	"h3-dgram":          cmdH3Dgram,
	"wt":                cmdWT,
	"wt-reject":         cmdWTReject,
	"wt-close":          cmdWTClose,
	"wt-server-streams": cmdWTServerStreams,
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || commands[args[0]] == nil {
		fmt.Fprintln(stderr, "usage: dgclient quic-dgram|h3-dgram|wt|wt-reject|wt-close|wt-server-streams [flags]")
		return 2
	}
	name, rest := args[0], args[1:]
	timeout, rest, err := extractTimeout(rest)
	if err != nil {
		fmt.Fprintf(stderr, "dgclient %s: %v\n", name, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := commands[name](ctx, rest)
	if err != nil {
		fmt.Fprintf(stderr, "dgclient %s: %v\n", name, err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	b, err := json.Marshal(out)
	if err != nil {
		fmt.Fprintf(stderr, "dgclient %s: %v\n", name, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", b)
	return 0
}

// extractTimeout removes "-timeout D" (or -timeout=D, with one or two
// dashes) from args, so that every subcommand shares it; default 10s.
func extractTimeout(args []string) (time.Duration, []string, error) {
	timeout := 10 * time.Second
	rest := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		var v string
		switch {
		case a == "-timeout" || a == "--timeout":
			if i+1 >= len(args) {
				return 0, nil, errors.New("-timeout needs a value")
			}
			i++
			v = args[i]
		case strings.HasPrefix(a, "-timeout=") || strings.HasPrefix(a, "--timeout="):
			_, v, _ = strings.Cut(a, "=")
		default:
			rest = append(rest, a)
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return 0, nil, fmt.Errorf("bad -timeout %q", v)
		}
		timeout = d
	}
	return timeout, rest, nil
}

// parseFlags parses args into fs, turning flag errors into errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}
