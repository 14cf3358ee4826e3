package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// options describes the request every job makes.
type options struct {
	method, url     string
	header, trailer http.Header
	body            *bodySource // nil: no body

	uploadRate, readRate           int64 // bytes per second; 0: no limit
	abortAfterSend, abortAfterRead int64 // -1: off
	discard, duplex                bool
}

// pattern is what -data-size sends, repeated.
const pattern = "abcdefghijklmnopqrstuvwxyz0123456789"

// ioChunk is the largest read or write when pacing or counting.
const ioChunk = 16 << 10

// errAborted ends a request cancelled on purpose.
var errAborted = errors.New("aborted on purpose")

// bodySource is the request body chosen by -d, -data-file or -data-size;
// each request opens its own reader.
type bodySource struct {
	data []byte
	file string
	size int64 // -data-size, or -1
}

func newBodySource(data, file string, size int64) (*bodySource, error) {
	switch {
	case data != "" && (file != "" || size >= 0) || file != "" && size >= 0:
		return nil, fmt.Errorf("use only one of -d, -data-file, -data-size")
	case data != "":
		return &bodySource{data: []byte(data), size: -1}, nil
	case file != "":
		if _, err := os.Stat(file); err != nil {
			return nil, err
		}
		return &bodySource{file: file, size: -1}, nil
	case size >= 0:
		return &bodySource{size: size}, nil
	}
	return nil, nil
}

// open returns a reader of the body and its length.
func (b *bodySource) open() (io.ReadCloser, int64, error) {
	switch {
	case b.file != "":
		f, err := os.Open(b.file)
		if err != nil {
			return nil, 0, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		return f, st.Size(), nil
	case b.size >= 0:
		return io.NopCloser(&patternReader{left: b.size}), b.size, nil
	}
	return io.NopCloser(bytes.NewReader(b.data)), int64(len(b.data)), nil
}

// patternReader yields left bytes of the repeating pattern.
type patternReader struct{ off, left int64 }

var patternBlock = bytes.Repeat([]byte(pattern), (64<<10)/len(pattern)+1)

func (r *patternReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.left)]
	n := 0
	for n < len(p) {
		start := (r.off + int64(n)) % int64(len(pattern))
		n += copy(p[n:], patternBlock[start:])
	}
	r.off += int64(n)
	r.left -= int64(n)
	return n, nil
}

// pacer sleeps so that done bytes take at least done/rate seconds.
type pacer struct {
	rate  int64
	start time.Time
}

func newPacer(rate int64) pacer { return pacer{rate: rate, start: time.Now()} }

func (p pacer) limit(b []byte) []byte {
	if p.rate > 0 && len(b) > ioChunk {
		return b[:ioChunk]
	}
	return b
}

func (p pacer) wait(ctx context.Context, done int64) {
	if p.rate <= 0 {
		return
	}
	due := p.start.Add(time.Duration(float64(done) / float64(p.rate) * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
}

// sendReader paces the request body and cancels the request once abortAt
// bytes (if >= 0) were handed to the stream.
type sendReader struct {
	r       io.ReadCloser
	ctx     context.Context
	cancel  context.CancelFunc
	pace    pacer
	abortAt int64
	sent    atomic.Int64
	aborted atomic.Bool
}

func (s *sendReader) Read(p []byte) (int, error) {
	sent := s.sent.Load()
	if s.abortAt >= 0 {
		if sent >= s.abortAt {
			s.aborted.Store(true)
			s.cancel()
			return 0, errAborted
		}
		p = p[:min(int64(len(p)), s.abortAt-sent)]
	}
	n, err := s.r.Read(s.pace.limit(p))
	s.sent.Add(int64(n))
	s.pace.wait(s.ctx, sent+int64(n))
	return n, err
}

func (s *sendReader) Close() error { return s.r.Close() }

// newRequest builds the request with body (nil: none) of length size.
func newRequest(ctx context.Context, o *options, body io.ReadCloser, size int64) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, o.method, o.url, nil)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Body, req.ContentLength = body, size
		if size == 0 && o.body.file == "" { // as http.NewRequest does
			body.Close()
			req.Body = http.NoBody
		}
	}
	req.Header = o.header.Clone()
	req.Host = o.header.Get("Host")
	req.Header.Del("Host")
	if len(o.trailer) > 0 {
		req.Trailer = o.trailer.Clone()
	}
	return req, nil
}

// do makes one request and reads the whole response, trailers included.
func do(ctx context.Context, t http.RoundTripper, o *options) (*result, error) {
	if o.duplex {
		return doDuplex(ctx, t, o)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var send *sendReader
	var body io.ReadCloser
	var size int64
	if o.body != nil {
		rc, n, err := o.body.open()
		if err != nil {
			return nil, err
		}
		size = n
		body = rc
		if o.uploadRate > 0 || o.abortAfterSend >= 0 {
			send = &sendReader{r: rc, ctx: ctx, cancel: cancel, pace: newPacer(o.uploadRate), abortAt: o.abortAfterSend}
			body = send
		}
	}
	req, err := newRequest(ctx, o, body, size)
	if err != nil {
		return nil, err
	}
	abortedSending := func() *result {
		if send != nil && send.aborted.Load() {
			return &result{note: fmt.Sprintf("aborted after %d bytes", send.sent.Load()), aborted: true}
		}
		return nil
	}
	resp, err := t.RoundTrip(req)
	if err != nil {
		if r := abortedSending(); r != nil {
			return r, nil
		}
		return nil, err
	}
	defer resp.Body.Close()
	res := &result{Status: resp.StatusCode, Headers: lower(resp.Header)}
	readErr := readBody(ctx, resp.Body, res, o, cancel)
	if r := abortedSending(); r != nil {
		r.Status = resp.StatusCode
		return r, nil
	}
	if errors.Is(readErr, errAborted) {
		res.note = fmt.Sprintf("aborted after %d bytes", res.BodyLength)
		res.aborted = true
		return res, nil
	}
	if readErr != nil {
		return nil, fmt.Errorf("reading body after status %d: %w", resp.StatusCode, readErr)
	}
	res.Trailers = lower(resp.Trailer)
	return res, nil
}

// readBody reads the response body into res (length, SHA-256 and, unless
// -discard, the bytes), pacing and aborting as the options say.
func readBody(ctx context.Context, body io.Reader, res *result, o *options, cancel context.CancelFunc) error {
	var kept bytes.Buffer
	h := sha256.New()
	defer func() { res.Body, res.BodySHA256 = kept.String(), hex.EncodeToString(h.Sum(nil)) }()
	pace := newPacer(o.readRate)
	buf := make([]byte, 64<<10)
	for {
		p := buf
		if o.readRate > 0 || o.abortAfterRead >= 0 {
			p = buf[:ioChunk]
		}
		if o.abortAfterRead >= 0 {
			if res.BodyLength >= o.abortAfterRead {
				cancel()
				return errAborted
			}
			p = p[:min(int64(len(p)), o.abortAfterRead-res.BodyLength)]
		}
		n, err := body.Read(p)
		res.BodyLength += int64(n)
		h.Write(p[:n])
		if !o.discard {
			kept.Write(p[:n])
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		pace.wait(ctx, res.BodyLength)
	}
}

// doDuplex sends the body in 64 KiB chunks and reads each chunk back from
// the response body before it sends the next one.
func doDuplex(ctx context.Context, t http.RoundTripper, o *options) (*result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	src, size, err := o.body.open()
	if err != nil {
		return nil, err
	}
	defer src.Close()
	pr, pw := io.Pipe()
	defer pw.Close()
	req, err := newRequest(ctx, o, pr, size)
	if err != nil {
		return nil, err
	}
	// A blocked pipe write must end with the request (error or timeout).
	stop := context.AfterFunc(ctx, func() { pr.CloseWithError(context.Cause(ctx)) })
	defer stop()
	p := startRoundTrip(ctx, t, req, pr)
	defer p.close()
	total, err := p.echoChunks(src, pw)
	if err != nil {
		return nil, err
	}
	pw.Close()
	if err := p.wait(); err != nil {
		return nil, err
	}
	rest, err := io.Copy(io.Discard, p.resp.Body)
	if err != nil {
		return nil, fmt.Errorf("status %d: reading after the echo: %w", p.resp.StatusCode, err)
	}
	if rest > 0 {
		return nil, fmt.Errorf("status %d: %d bytes more than the %d sent", p.resp.StatusCode, rest, total)
	}
	return &result{Status: p.resp.StatusCode, note: fmt.Sprintf("duplex ok bytes=%d", total)}, nil
}

// pendingResponse is a round trip running while its body is being sent.
type pendingResponse struct {
	ctx  context.Context
	done chan roundTrip
	resp *http.Response // once wait succeeded
}

// roundTrip is the outcome of RoundTrip.
type roundTrip struct {
	resp *http.Response
	err  error
}

// startRoundTrip starts req, whose body reads from pr; a failed round trip
// closes pr.
func startRoundTrip(ctx context.Context, t http.RoundTripper, req *http.Request, pr *io.PipeReader) *pendingResponse {
	p := &pendingResponse{ctx: ctx, done: make(chan roundTrip, 1)}
	go func() {
		resp, err := t.RoundTrip(req)
		if err != nil {
			pr.CloseWithError(err)
		}
		p.done <- roundTrip{resp, err}
	}()
	return p
}

// wait waits for the response head (at once if it is there).
func (p *pendingResponse) wait() error {
	if p.resp != nil {
		return nil
	}
	select {
	case rt := <-p.done:
		if rt.err != nil {
			return rt.err
		}
		p.resp = rt.resp
		return nil
	case <-p.ctx.Done():
		return fmt.Errorf("waiting for the response head: %w", context.Cause(p.ctx))
	}
}

// close closes the response body, if there is one.
func (p *pendingResponse) close() {
	if p.resp != nil {
		p.resp.Body.Close()
	}
}

// echoChunks copies src to pw in 64 KiB chunks and, after each, reads it
// back from the response body and compares. It returns the bytes echoed.
func (p *pendingResponse) echoChunks(src io.Reader, pw io.Writer) (int64, error) {
	chunk, echo := make([]byte, 64<<10), make([]byte, 64<<10)
	var total int64
	for {
		n, rerr := io.ReadFull(src, chunk)
		if n > 0 {
			if err := p.echoChunk(chunk[:n], echo[:n], pw, total); err != nil {
				return total, err
			}
			total += int64(n)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

// echoChunk sends chunk (which starts at byte total) and reads its echo
// into echo.
func (p *pendingResponse) echoChunk(chunk, echo []byte, pw io.Writer, total int64) error {
	if _, err := pw.Write(chunk); err != nil {
		if p.resp == nil && p.wait() == nil {
			return fmt.Errorf("status %d: sending at byte %d: %w", p.resp.StatusCode, total, err)
		}
		return fmt.Errorf("sending at byte %d: %w", total, err)
	}
	if err := p.wait(); err != nil {
		return err
	}
	if m, err := io.ReadFull(p.resp.Body, echo); err != nil {
		return fmt.Errorf("status %d: reading the echo of bytes %d-%d: got %d: %w",
			p.resp.StatusCode, total, total+int64(len(chunk))-1, m, err)
	}
	if i := firstDiff(chunk, echo); i >= 0 {
		return fmt.Errorf("status %d: echo differs at byte %d", p.resp.StatusCode, total+int64(i))
	}
	return nil
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}
