package bridge

import (
	"os"
	"runtime/pprof"
	"sync"
)

// ProfileEnv names an environment variable: when set to a file path, the
// Go side of the process records a CPU profile (pprof) from the first
// server start to the last server stop. For benchmarks and profiling.
const ProfileEnv = "ZIG_H3_CPUPROFILE"

var profiling struct {
	sync.Mutex
	running int
	file    *os.File
}

// startProfile adds the server's run to the profile.
func (b *Server) startProfile() {
	b.mu.Lock()
	b.profiling = true
	b.mu.Unlock()
	startProfile()
}

// stopProfile takes the server's run out of the profile, once.
func (b *Server) stopProfile() {
	b.mu.Lock()
	was := b.profiling
	b.profiling = false
	b.mu.Unlock()
	if was {
		stopProfile()
	}
}

func startProfile() {
	path := os.Getenv(ProfileEnv)
	if path == "" {
		return
	}
	profiling.Lock()
	defer profiling.Unlock()
	profiling.running++
	if profiling.running > 1 {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		return
	}
	if pprof.StartCPUProfile(f) != nil {
		f.Close()
		return
	}
	profiling.file = f
}

func stopProfile() {
	if os.Getenv(ProfileEnv) == "" {
		return
	}
	profiling.Lock()
	defer profiling.Unlock()
	profiling.running--
	if profiling.running == 0 && profiling.file != nil {
		pprof.StopCPUProfile()
		profiling.file.Close()
		profiling.file = nil
	}
}
