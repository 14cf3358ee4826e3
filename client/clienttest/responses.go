package clienttest

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// ResetCode is the HTTP/3 error code /reset resets its stream with
// (H3_INTERNAL_ERROR).
const ResetCode = http3.ErrCodeInternalError

// Pattern is the byte at offset i of the bodies of /bytes.
func Pattern(i int) byte { return byte(i % 251) }

// handleResponses adds the routes that answer in unusual ways:
//   - /bytes?n=N: N bytes of Pattern, with their content-length;
//   - /trailers: the body "body" with the trailers x-checksum: abc and
//     x-count: 2;
//   - /reset: 1000 bytes of a declared 4000, then the stream is reset with
//     ResetCode;
//   - /short: content-length 10, a body of 5 bytes, then the FIN;
//   - /long: content-length 5, a body of 10 bytes (written past the check);
//   - /slow: no answer until the client goes away;
//   - /status?code=C: status C, no body;
//   - /count: the number of request body bytes, as text.
func handleResponses(mux *http.ServeMux) {
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("content-length", strconv.Itoa(n))
		buf := make([]byte, 64<<10)
		for off := 0; off < n; {
			k := min(len(buf), n-off)
			for i := range k {
				buf[i] = Pattern(off + i)
			}
			if _, err := w.Write(buf[:k]); err != nil {
				return
			}
			off += k
		}
	})
	mux.HandleFunc("/trailers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("trailer", "x-checksum, x-count")
		io.WriteString(w, "body")
		w.Header().Set("x-checksum", "abc")
		w.Header().Set("x-count", "2")
	})
	mux.HandleFunc("/reset", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-length", "4000")
		w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		time.Sleep(50 * time.Millisecond)
		w.(http3.HTTPStreamer).HTTPStream().CancelWrite(quic.StreamErrorCode(ResetCode))
	})
	mux.HandleFunc("/short", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-length", "10")
		io.WriteString(w, "12345")
	})
	mux.HandleFunc("/long", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-length", "5")
		w.WriteHeader(http.StatusOK)
		str := w.(http3.HTTPStreamer).HTTPStream()
		str.Write([]byte("0123456789"))
		str.Close()
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		w.WriteHeader(code)
	})
	mux.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		io.WriteString(w, strconv.FormatInt(n, 10))
	})
}
