package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/quic-go/quic-go/http3"

	"github.com/zig-h3/h3bun/internal/sendbuf"
)

// serve writes what the response records to w until it ends or ctx is done.
// It reports whether the response was completed (false: aborted).
func (r *Response) serve(ctx context.Context, w http.ResponseWriter, hr *http.Request) bool {
	out := &r.out
	*out = responseOutput{r: r, w: w, body: w, declared: -1, sendsBody: true}
	out.flusher, _ = w.(http.Flusher)
	for {
		r.mu.Lock()
		if r.peerAborted { // even if ended: the request did not complete
			r.mu.Unlock()
			return r.abortForBody(out)
		}
		if r.abortCalled.Load() {
			r.mu.Unlock()
			return r.abortByHandler(out)
		}
		chunks, ended, file := r.body.Take(), r.ended, r.filePath
		trailer := r.trailer // fixed once ended: Send records them as it ends the response
		flushHead := false
		if file == "" && !out.headWritten && (ended || r.bodyStarted) {
			out.writeHeadLocked(ctx)
			flushHead = r.trailersOverTCPLocked()
		}
		if !ended && r.wake == nil {
			r.wake = make(chan struct{}, 1) // most responses end before serve starts
		}
		r.mu.Unlock()
		if flushHead && out.flusher != nil {
			out.flusher.Flush() // before the handler is done: no computed Content-Length
		}
		if file != "" {
			ok := r.serveFile(w, hr, file)
			r.finish()
			return ok
		}
		if !out.writeChunks(chunks) {
			return false
		}
		if ended {
			return out.end(trailer)
		}
		if out.headWritten && out.flusher != nil {
			out.flusher.Flush()
		}
		select {
		case <-r.wake:
		case <-ctx.Done():
			r.finish()
			return false
		}
	}
}

// responseOutput is where serve writes a response's head and body, and
// what it has sent.
type responseOutput struct {
	r           *Response
	w           http.ResponseWriter
	body        io.Writer     // w, or the stream taken over for HTTP/3 datagrams
	flusher     http.Flusher  // nil once the stream is taken over
	h3str       *http3.Stream // set when the stream is taken over
	headWritten bool
	declared    int64 // the head's Content-Length (-1: none to keep)
	sent        int64 // body bytes written
	sendsBody   bool  // set with the head (see Response.sendsBody)
}

// writeHeadLocked writes the head, fixed from now on, and starts the
// datagram flow of a datagram route. r.mu is held.
func (o *responseOutput) writeHeadLocked(ctx context.Context) {
	r := o.r
	r.stopTimerLocked()
	o.declared, o.sendsBody = r.declaredLengthLocked(), r.sendsBody(r.status)
	if r.trailersOverTCPLocked() {
		for k := range r.trailer {
			o.w.Header()["Trailer"] = append(o.w.Header()["Trailer"], k)
		}
	}
	r.writeHeadLocked(o.w, r.status)
	o.headWritten = true
	if r.dgram != nil {
		if o.h3str = r.dgram.takeOver(ctx, o.w); o.h3str != nil {
			o.body, o.flusher, o.declared = o.h3str, nil, -1
		}
	}
}

// writeChunks writes body chunks, releasing each one once written; false
// when the response is over (the stream failed, or the body broke its
// Content-Length and was reset).
func (o *responseOutput) writeChunks(chunks []sendbuf.Chunk) bool {
	for _, c := range chunks {
		if o.r.abortPending() {
			return o.r.abortByHandler(o) // the rest is dropped
		}
		if o.declared >= 0 && o.sent+int64(len(c.Data)) > o.declared {
			return o.r.resetBadLength(o.w, fmt.Sprintf("the body is longer than its Content-Length of %d bytes", o.declared))
		}
		o.sent += int64(len(c.Data))
		var err error
		if o.sendsBody {
			_, err = o.body.Write(c.Data)
		}
		if err == nil {
			c.Release() // a failed write may leave the stream holding it
		}
		o.r.written(len(c.Data))
		if err != nil {
			o.r.finish()
			return false
		}
	}
	return true
}

// end finishes an ended response: FIN of a taken-over stream, or its
// trailers; it reports whether the response was completed.
func (o *responseOutput) end(trailer http.Header) bool {
	r := o.r
	if r.abortPending() {
		return r.abortByHandler(o) // an ended body, aborted before its end went out
	}
	if o.h3str != nil {
		// A taken-over stream carries no trailers; FIN ends the response.
		err := o.h3str.Close()
		r.finish()
		return err == nil
	}
	if o.declared >= 0 && o.sent < o.declared {
		return r.resetBadLength(o.w, fmt.Sprintf("the body ended after %d of the %d bytes its Content-Length declares", o.sent, o.declared))
	}
	for k, v := range trailer {
		if !isConnectionField(k) {
			o.w.Header()[http.TrailerPrefix+k] = v
		}
	}
	r.finish()
	return true
}

// resetBadLength resets the stream of a response whose body broke the
// Content-Length its head declared, so that the client sees an error
// instead of a body cut short or cut off (RFC 9114, section 4.1.2), logs
// why and finishes the response. It returns false: the response was not
// completed. Over TCP it panics with http.ErrAbortHandler, net/http's way
// to reset an HTTP/2 stream or close an HTTP/1.1 connection.
func (r *Response) resetBadLength(w http.ResponseWriter, why string) bool {
	r.srv.logf(LogWarn, "%s %s: response reset: %s", r.req.Method, r.req.Path, why)
	r.finish()
	resetStream(w, http3.ErrCodeInternalError) // the code http3 uses for a handler that panics
	return false
}

// abortPending reports whether Abort was called.
func (r *Response) abortPending() bool { return r.abortCalled.Load() }

// abortByHandler resets the stream of a response the handler abandoned
// (see Abort) and finishes it. It returns false: the response was not
// completed. Before the head is out the reset goes through
// panic(http.ErrAbortHandler), as in resetStream.
func (r *Response) abortByHandler(o *responseOutput) bool {
	r.srv.logf(LogDebug, "%s %s: response aborted by the handler", r.req.Method, r.req.Path)
	r.finish()
	if !o.headWritten {
		panic(http.ErrAbortHandler)
	}
	resetStream(o.w, http3.ErrCodeInternalError)
	return false
}

// written accounts for n bytes handed to the stream and fires the writable
// signal when a paused writer may go on.
func (r *Response) written(n int) {
	r.mu.Lock()
	fire := r.body.Written(n)
	onWritable := r.onWritable
	r.mu.Unlock()
	if fire && onWritable != nil {
		onWritable()
	}
}

// serveFile sends the file at path as the body. With status 200 it goes
// through http.ServeContent (Range, conditional requests, Content-Type).
func (r *Response) serveFile(w http.ResponseWriter, hr *http.Request, path string) bool {
	f, err := os.Open(path)
	var st os.FileInfo
	if err == nil {
		st, err = f.Stat()
		if err == nil && st.IsDir() {
			err = fs.ErrNotExist
		}
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		status := http.StatusInternalServerError
		if errors.Is(err, fs.ErrNotExist) {
			status = http.StatusNotFound
		}
		r.discardHead()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, http.StatusText(status)+"\n")
		return true
	}
	defer f.Close()
	r.mu.Lock()
	status := r.status
	if status == http.StatusOK {
		r.headerOut(w)
		if _, typed := r.header["Content-Type"]; !typed && mime.TypeByExtension(filepath.Ext(path)) == "" {
			// ServeContent would sniff the type of a file with an unknown
			// extension; it is a download (what Bun.file says too).
			w.Header().Set("Content-Type", "application/octet-stream")
		}
		r.mu.Unlock()
		http.ServeContent(notModifiedWithoutLength{w}, rangeForGetOnly(hr), path, st.ModTime(), f)
		return hr.Context().Err() == nil
	}
	r.header.Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	r.writeHeadLocked(w, status)
	sendsBody := r.sendsBody(status)
	r.mu.Unlock()
	if sendsBody {
		_, err = io.Copy(w, f)
	}
	return err == nil
}

func (r *Response) finish() {
	if r.dgram != nil {
		r.dgram.stop()
	}
	r.mu.Lock()
	r.stopTimerLocked()
	if !r.finished && r.done != nil {
		close(r.done)
	}
	r.finished = true
	armed := r.body.Reset()
	onWritable := r.onWritable
	r.mu.Unlock()
	if armed && onWritable != nil {
		onWritable() // let a paused writer find out the response is over
	}
}
