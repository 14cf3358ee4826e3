package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zig-h3/h3bun/client"
)

// wtEchoOptions configures the wt scenario.
type wtEchoOptions struct {
	wtTarget
	datagrams, streams int
	bidi, uni          int64
	pacing
}

// wtDatagrams counts the datagram echoes: Received is every datagram
// that came back, Matched those that were one of ours (each once).
type wtDatagrams struct {
	Sent     int `json:"sent"`
	Received int `json:"received"`
	Matched  int `json:"matched"`
}

// wtStreamResult is one stream echo: the bytes that came back and whether
// they were exactly the bytes sent.
type wtStreamResult struct {
	Bytes int64  `json:"bytes"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// wtEchoResult is what wt prints; Uni is null when -uni is 0.
type wtEchoResult struct {
	Status    int               `json:"status"`
	Datagrams wtDatagrams       `json:"datagrams"`
	Bidi      []*wtStreamResult `json:"bidi"`
	Uni       *wtStreamResult   `json:"uni"`
}

// cmdWT parses the wt flags and runs the scenario.
func cmdWT(ctx context.Context, args []string) (any, error) {
	o := wtEchoOptions{}
	fs := flag.NewFlagSet("wt", flag.ContinueOnError)
	addTargetFlags(fs, &o.wtTarget)
	fs.IntVar(&o.datagrams, "datagrams", 100, "datagrams to send")
	fs.Int64Var(&o.bidi, "bidi", 65536, "bytes to send on each bidirectional stream")
	fs.IntVar(&o.streams, "streams", 3, "concurrent bidirectional streams")
	fs.Int64Var(&o.uni, "uni", 1000, "bytes to send on a unidirectional stream (0: none)")
	addPacingFlags(fs, &o.pacing)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.datagrams < 0 || o.streams < 0 || o.bidi < 0 || o.uni < 0 {
		return nil, fmt.Errorf("%w: counts and sizes must be >= 0", errUsage)
	}
	return runWTEcho(ctx, o)
}

// runWTEcho dials the session, then runs in turn: the datagram echo, the
// concurrent bidirectional stream echoes, and the unidirectional echo (the
// server answers a client uni stream with a uni stream of its own).
func runWTEcho(ctx context.Context, o wtEchoOptions) (*wtEchoResult, error) {
	rsp, sess, err := dialWT(ctx, o.wtTarget)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	res := &wtEchoResult{Status: rsp.StatusCode, Bidi: []*wtStreamResult{}}
	if err := wtDatagramEcho(ctx, sess, o, &res.Datagrams); err != nil {
		return nil, err
	}

	var wg sync.WaitGroup
	for i := range o.streams {
		r := &wtStreamResult{}
		res.Bidi = append(res.Bidi, r)
		wg.Go(func() { wtBidiEcho(ctx, sess, o.bidi, uint64(i), r) })
	}
	wg.Wait()

	if o.uni > 0 {
		res.Uni = &wtStreamResult{}
		wtUniEcho(ctx, sess, o.uni, res.Uni)
	}
	return res, nil
}

// wtDatagramEcho sends "d<k>" for k in [0, o.datagrams) and counts echoes.
func wtDatagramEcho(ctx context.Context, sess *client.Session, o wtEchoOptions, d *wtDatagrams) error {
	seen := make([]bool, o.datagrams)
	sendDone := make(chan struct{})
	var sendErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(sendDone)
		d.Sent, sendErr = sendPaced(ctx, o.datagrams, o.gap(),
			func(k int) error { return sess.SendDatagram([]byte("d" + strconv.Itoa(k))) },
			client.IsDatagramTooLarge)
	})
	recvErr := receiveUntil(ctx, sess.ReceiveDatagram, sendDone, o.idle, func(b []byte) bool {
		d.Received++
		s, ok := strings.CutPrefix(string(b), "d")
		k, err := strconv.Atoi(s)
		if ok && err == nil && k >= 0 && k < o.datagrams && !seen[k] {
			seen[k] = true
			d.Matched++
		}
		return d.Matched == o.datagrams
	})
	wg.Wait()
	if sendErr != nil {
		return fmt.Errorf("sending datagrams: %w", sendErr)
	}
	if recvErr != nil {
		return fmt.Errorf("receiving datagrams: %w", recvErr)
	}
	return nil
}

// wtBidiEcho opens a bidirectional stream, sends size pseudo-random bytes
// (seeded by seed) and closes its side while reading the echo until EOF.
func wtBidiEcho(ctx context.Context, sess *client.Session, size int64, seed uint64, r *wtStreamResult) {
	str, err := sess.OpenStreamSync(ctx)
	if err != nil {
		r.Error = "opening the stream: " + err.Error()
		return
	}
	setDeadline(ctx, str)
	var sent []byte
	var writeErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		sent, writeErr = writeRandom(str, size, seed)
		str.Close()
	})
	got, n, readErr := hashAll(str)
	wg.Wait()
	r.Bytes = n
	r.OK, r.Error = checkEcho(n, size, got, sent, writeErr, readErr)
}

// wtUniEcho sends size bytes on a uni stream, then accepts the server's
// uni stream and compares what it carries.
func wtUniEcho(ctx context.Context, sess *client.Session, size int64, r *wtStreamResult) {
	out, err := sess.OpenUniStreamSync(ctx)
	if err != nil {
		r.Error = "opening the stream: " + err.Error()
		return
	}
	setDeadline(ctx, out)
	sent, writeErr := writeRandom(out, size, 1<<32)
	out.Close()
	if writeErr != nil {
		r.Error = "writing: " + writeErr.Error()
		return
	}
	in, err := sess.AcceptUniStream(ctx)
	if err != nil {
		r.Error = "accepting the server's stream: " + err.Error()
		return
	}
	setDeadline(ctx, in)
	got, n, readErr := hashAll(in)
	r.Bytes = n
	r.OK, r.Error = checkEcho(n, size, got, sent, nil, readErr)
}

// writeRandom writes size bytes from a ChaCha8 stream seeded by seed to w
// and returns their SHA-256.
func writeRandom(w io.Writer, size int64, seed uint64) ([]byte, error) {
	var key [32]byte
	copy(key[:], strconv.FormatUint(seed, 16))
	h := sha256.New()
	_, err := io.CopyN(io.MultiWriter(w, h), rand.NewChaCha8(key), size)
	return h.Sum(nil), err
}

// hashAll reads r to EOF and returns the SHA-256 and length of the data.
func hashAll(r io.Reader) ([]byte, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return h.Sum(nil), n, err
}

// checkEcho compares an echo with what was sent.
func checkEcho(n, size int64, got, sent []byte, writeErr, readErr error) (bool, string) {
	switch {
	case writeErr != nil:
		return false, "writing: " + writeErr.Error()
	case readErr != nil:
		return false, "reading: " + readErr.Error()
	case n != size:
		return false, fmt.Sprintf("echoed %d bytes of %d", n, size)
	case !bytes.Equal(got, sent):
		return false, "echoed bytes differ"
	}
	return true, ""
}

// setDeadline makes str's reads and/or writes fail when ctx's deadline
// passes; str is a webtransport Stream, SendStream or ReceiveStream.
func setDeadline(ctx context.Context, str any) {
	d, ok := ctx.Deadline()
	if !ok {
		return
	}
	if s, ok := str.(interface{ SetReadDeadline(time.Time) error }); ok {
		s.SetReadDeadline(d)
	}
	if s, ok := str.(interface{ SetWriteDeadline(time.Time) error }); ok {
		s.SetWriteDeadline(d)
	}
}
