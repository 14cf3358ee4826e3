package server

import (
	"errors"
	"net/http"
	"runtime"
	"sync"
)

// maxIdleWorkers is how many idle goroutines a workerPool keeps.
const maxIdleWorkers = 256

// workerPool runs requests on long-lived goroutines.
//
// A fresh goroutine's stack is smaller than the request path needs (QPACK
// decoding, our dispatch, http3's writer, the allocator): the runtime then
// copies it to a larger one, unwinding every frame, which cost ~10 µs per
// request, 10-15 % of a small request's server CPU. A worker's stack has
// grown once and stays grown while it keeps serving (the GC shrinks it
// only when it idles through a cycle). So HTTP/3 request streams start on
// a worker (start, from our stream loop and webtransport-go's Server.Go):
// the whole request, http3's part and the handler, runs there. Over TCP,
// where net/http starts the goroutines, the handler runs on a worker while
// net/http's goroutine waits (serve): two goroutine switches instead of
// the copy.
type workerPool struct {
	mu     sync.Mutex
	idle   []*worker
	closed bool
}

type worker struct{ jobs chan job }

// A job is a function to start (start), or a handler and its arguments
// (serve: no closure to allocate per request) and where to report how it
// ended: nil, a panic value or errGoexit. done belongs to the caller
// (buffered, taken from donePool), so a worker can go back to the idle
// list before it reports.
type job struct {
	f    func()
	h    func(http.ResponseWriter, *http.Request)
	w    http.ResponseWriter
	hr   *http.Request
	done chan any
}

// start runs f on a worker, or on a new goroutine once the pool is closed,
// and returns without waiting for it. A panic in f ends the process, as in
// any goroutine.
func (p *workerPool) start(f func()) {
	wk := p.get()
	if wk == nil {
		go f()
		return
	}
	wk.jobs <- job{f: f}
}

var donePool = sync.Pool{New: func() any { return make(chan any, 1) }}

// serve calls h(w, hr) on a worker and returns when h has returned. A
// panic in h is raised again in the caller's goroutine, as if h had run
// there.
func (p *workerPool) serve(h func(http.ResponseWriter, *http.Request), w http.ResponseWriter, hr *http.Request) {
	wk := p.get()
	if wk == nil {
		h(w, hr)
		return
	}
	done := donePool.Get().(chan any)
	wk.jobs <- job{h: h, w: w, hr: hr, done: done}
	v := <-done
	donePool.Put(done)
	switch v {
	case nil:
	case errGoexit:
		runtime.Goexit()
	default:
		panic(v)
	}
}

// errGoexit stands for a job that called runtime.Goexit (a test's t.FailNow).
var errGoexit = errors.New("runtime.Goexit in a worker job")

func (p *workerPool) get() *worker {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return w
	}
	p.mu.Unlock()
	// One slot: the sender does not wait for a new worker to start, nor for
	// one just back on the idle list to reach its receive. A worker has at
	// most one job outstanding, so the slot is empty while it is idle.
	w := &worker{jobs: make(chan job, 1)}
	go p.loop(w)
	return w
}

// loop serves jobs until the pool has no room for w or is closed.
func (p *workerPool) loop(w *worker) {
	var current job
	defer func() {
		// Reached with a current job only when it called runtime.Goexit
		// (or, for a started job, panicked).
		if current.done != nil {
			current.done <- errGoexit
		}
	}()
	for j := range w.jobs {
		current = j
		var end any
		if j.f != nil {
			j.f() // started: nobody waits for it
		} else {
			end = runJob(&j)
		}
		done := j.done
		current, j = job{}, job{} // an idle worker keeps no request alive
		// Back to the idle list first, then report: the caller's next
		// request, possibly resumed on another P at once, finds w idle.
		stay := p.putIdle(w)
		if done != nil {
			done <- end
		}
		if !stay {
			return
		}
	}
}

func (p *workerPool) putIdle(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.idle) >= maxIdleWorkers {
		return false
	}
	p.idle = append(p.idle, w)
	return true
}

// runJob runs j and returns what it panicked with, or nil.
func runJob(j *job) (panicked any) {
	defer func() { panicked = recover() }()
	j.h(j.w, j.hr)
	return nil
}

// close ends the idle workers; busy ones end when their job returns.
func (p *workerPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, w := range p.idle {
		close(w.jobs)
	}
	p.idle = nil
}
