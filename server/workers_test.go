package server

import (
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestWorkerPoolRunsAndReusesWorkers(t *testing.T) {
	var p workerPool
	for i := range 100 {
		got := -1
		run(&p, func() { got = i })
		if got != i {
			t.Fatalf("run returned before f: got %d, want %d", got, i)
		}
	}
	if n := idleWorkers(&p); n != 1 {
		t.Fatalf("100 sequential jobs left %d idle workers, want 1 (reused)", n)
	}
	p.close()
	if n := idleWorkers(&p); n != 0 {
		t.Fatalf("%d idle workers after close", n)
	}
	ran := false
	run(&p, func() { ran = true }) // after close: inline
	if !ran {
		t.Fatal("run after close did not call f")
	}
}

func TestWorkerPoolConcurrentJobsAndIdleCap(t *testing.T) {
	var p workerPool
	before := runtime.NumGoroutine()
	const n = maxIdleWorkers + 50
	release := make(chan struct{})
	var started, done sync.WaitGroup
	started.Add(n)
	for range n {
		done.Go(func() {
			run(&p, func() {
				started.Done()
				<-release // every job holds its worker: n workers at once
			})
		})
	}
	started.Wait()
	close(release)
	done.Wait()
	waitGoroutines(t, before+maxIdleWorkers) // the extra workers exit
	if idle := idleWorkers(&p); idle != maxIdleWorkers {
		t.Fatalf("idle workers = %d, want %d", idle, maxIdleWorkers)
	}
	p.close()
	waitGoroutines(t, before)
}

func TestWorkerPoolPanicReachesCaller(t *testing.T) {
	var p workerPool
	defer p.close()
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Fatalf("recovered %v, want boom", v)
			}
		}()
		run(&p, func() { panic("boom") })
	}()
	ok := false
	run(&p, func() { ok = true }) // the worker survived
	if !ok {
		t.Fatal("worker unusable after a panic")
	}
}

func idleWorkers(p *workerPool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// waitGoroutines waits (at most 5 s) until at most want goroutines run.
func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, want <= %d", runtime.NumGoroutine(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWorkerPoolGoexitReachesCaller(t *testing.T) {
	var p workerPool
	defer p.close()
	returned := make(chan bool)
	go func() {
		defer func() { returned <- false }()
		run(&p, runtime.Goexit)
		returned <- true
	}()
	if <-returned {
		t.Fatal("run returned normally after its job called runtime.Goexit")
	}
}

// run calls f on a worker of p (see workerPool.serve).
func run(p *workerPool, f func()) {
	p.serve(func(http.ResponseWriter, *http.Request) { f() }, nil, nil)
}

// start runs its functions on workers without waiting, reuses them, and
// runs on new goroutines once the pool is closed.
func TestWorkerPoolStart(t *testing.T) {
	var p workerPool
	for i := range 50 {
		done := make(chan int)
		p.start(func() { done <- i })
		if got := <-done; got != i {
			t.Fatalf("got %d, want %d", got, i)
		}
		waitFor(t, func() bool { return idleWorkers(&p) == 1 }) // back on the idle list
	}
	release := make(chan struct{})
	started := make(chan struct{})
	for range 3 {
		p.start(func() { started <- struct{}{}; <-release }) // start does not wait for f
	}
	for range 3 {
		<-started
	}
	close(release)
	waitFor(t, func() bool { return idleWorkers(&p) == 3 })
	p.close()
	done := make(chan struct{})
	p.start(func() { close(done) }) // closed: a goroutine of its own
	<-done
	if n := idleWorkers(&p); n != 0 {
		t.Fatalf("%d idle workers after close", n)
	}
}
