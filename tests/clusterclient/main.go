// Command clusterclient holds many HTTP/3 connections, each from its own
// UDP socket, to a server of several workers on one port (reusePort), for
// the Bun tests of tests/cluster.test.ts: Bun's fetch cannot hold several
// connections to one origin, nor move one to a new address.
//
//	clusterclient [-conns 20] [-timeout 5s] URL
//	clusterclient -resume N [-timeout 5s] URL
//
// With -resume it makes one connection to get a TLS session ticket, then
// N more, each from a new UDP socket, resuming the session with a GET in
// 0-RTT, and prints {"bodies":[...],"used0rtt":[...],"errors":[...]}.
//
// Otherwise it dials the connections, then reads commands from stdin, one
// a line, and answers each with one JSON line on stdout:
//
//	ask      GET URL on every connection: {"bodies":[...],"errors":[...]}
//	         (the body, or "" and the error, by connection)
//	migrate  moves every connection to a new local UDP socket (QUIC path
//	         probe, then switch): {"errors":[...]} ("" when it worked)
//
// It exits at the end of stdin. TLS certificates are not verified (the
// tests use development certificates). Exit status 1 when dialing fails.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// conn is one connection and the sockets it has used.
type conn struct {
	qc         *quic.Conn
	cc         *http3.ClientConn
	transports []*quic.Transport
}

func main() {
	n := flag.Int("conns", 20, "connections, each from its own UDP socket")
	timeout := flag.Duration("timeout", 5*time.Second, "bound of each dial, request and migration")
	resume := flag.Int("resume", 0, "resume a session this many times with a GET in 0-RTT, print the outcomes and exit")
	flag.Parse()
	if flag.NArg() != 1 || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: clusterclient [-conns N] [-timeout D] URL")
		os.Exit(2)
	}
	target, err := url.Parse(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *resume > 0 {
		if err := resumeAll(target, *resume, *timeout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	conns := make([]*conn, *n)
	for i := range conns {
		if conns[i], err = dial(target.Host, *timeout); err != nil {
			fmt.Fprintf(os.Stderr, "dialing connection %d: %v\n", i, err)
			os.Exit(1)
		}
	}
	out := json.NewEncoder(os.Stdout)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "ask":
			bodies, errs := make([]string, len(conns)), make([]string, len(conns))
			each(conns, func(i int, c *conn) {
				bodies[i], errs[i] = ask(c, target.String(), *timeout)
			})
			_ = out.Encode(map[string][]string{"bodies": bodies, "errors": errs})
		case "migrate":
			errs := make([]string, len(conns))
			each(conns, func(i int, c *conn) { errs[i] = migrate(c, *timeout) })
			_ = out.Encode(map[string][]string{"errors": errs})
		default:
			_ = out.Encode(map[string]string{"error": "unknown command " + in.Text()})
		}
	}
	for _, c := range conns {
		c.qc.CloseWithError(0, "")
		for _, tr := range c.transports {
			tr.Close()
		}
	}
}

// each runs f on every connection at once and waits.
func each(conns []*conn, f func(i int, c *conn)) {
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() { f(i, c) })
	}
	wg.Wait()
}

// localIP is where the client's sockets bind: loopback for a server on
// loopback (the tests), any address otherwise.
var localIP = net.IPv4zero

func newTransport() (*quic.Transport, error) {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: localIP})
	if err != nil {
		return nil, err
	}
	return &quic.Transport{Conn: udp}, nil
}

func dial(host string, timeout time.Duration) (*conn, error) {
	addr, err := net.ResolveUDPAddr("udp", host)
	if err != nil {
		return nil, err
	}
	if addr.IP.IsLoopback() {
		localIP = addr.IP
	}
	tr, err := newTransport()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tlsConf := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}}
	qc, err := tr.Dial(ctx, addr, tlsConf, &quic.Config{KeepAlivePeriod: time.Second})
	if err != nil {
		tr.Close()
		return nil, err
	}
	return &conn{qc: qc, cc: (&http3.Transport{}).NewClientConn(qc), transports: []*quic.Transport{tr}}, nil
}

func ask(c *conn, target string, timeout time.Duration) (body, errText string) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", err.Error()
	}
	return roundTrip(c, req)
}

// roundTrip sends req on the connection and reads the whole body.
func roundTrip(c *conn, req *http.Request) (body, errText string) {
	resp, err := c.cc.RoundTrip(req)
	if err != nil {
		return "", err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err.Error()
	}
	return string(b), ""
}

func migrate(c *conn, timeout time.Duration) string {
	tr, err := newTransport()
	if err != nil {
		return err.Error()
	}
	c.transports = append(c.transports, tr)
	path, err := c.qc.AddPath(tr)
	if err != nil {
		return err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := path.Probe(ctx); err != nil {
		return "probe: " + err.Error()
	}
	if err := path.Switch(); err != nil {
		return "switch: " + err.Error()
	}
	return ""
}
