package server

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"sync"
	"testing"
)

// Body copies come from a pool and go back once written (sendbuf,
// bufpool): many responses at once, each sent in pieces of many sizes from
// a buffer the handler overwrites after each call, all reach their clients
// intact, so no copy is reused while queued or being written.
func TestPooledBodyCopiesArriveIntact(t *testing.T) {
	_, c, base := startServer(t, Config{}, func(s *Server) {
		mustRoute(t, s, "GET", "/body/:n", func(req *Request, res *Response) {
			n, _ := strconv.Atoi(req.Params[0].Value)
			res.DeferEnd()
			go func() {
				buf := make([]byte, 70<<10)
				for sent, piece := 0, 1; sent < n; piece = piece*3 + 7 {
					k := min(piece%(70<<10)+1, n-sent)
					for i := range k {
						buf[i] = pattern(n, sent+i)
					}
					if _, err := res.Send(buf[:k], sent+k == n, nil); err != nil {
						return
					}
					clear(buf[:k]) // the library must have copied it
					sent += k
				}
			}()
		})
	})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 48 {
		n := 1 + i*i*97%(300<<10)
		wg.Go(func() {
			resp, err := c.Get(fmt.Sprintf("%s/body/%d", base, n))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			want := make([]byte, n)
			for j := range want {
				want[j] = pattern(n, j)
			}
			if err != nil || !bytes.Equal(got, want) {
				errs <- fmt.Errorf("body of %d bytes: %v, %d bytes, intact %v", n, err, len(got), bytes.Equal(got, want))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// pattern is byte i of body n.
func pattern(n, i int) byte { return byte(n*31 + i*7 + i>>8) }
