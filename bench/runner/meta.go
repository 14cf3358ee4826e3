package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// collectMeta describes the machine and the versions in use.
func collectMeta() *Meta {
	m := &Meta{Cores: runtime.NumCPU(), Versions: map[string]string{}}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		f := strings.Fields(string(b))
		if len(f) > 1 {
			kb, _ := strconv.ParseFloat(f[1], 64)
			m.MemoryGiB = round2(kb / (1 << 20))
		}
	}
	m.Versions["go"] = runtime.Version()
	m.Versions["bun"] = cmdOut(bun, "--version")
	m.Versions["library"] = cmdOut(bun, "-e", `import { version } from "./bun"; console.log(version())`)
	if cc := cmdOut("cc", "--version"); cc != "" {
		m.Versions["cc"] = firstLine(cc)
	}
	if b, err := os.ReadFile("go.mod"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				switch f[0] {
				case "github.com/quic-go/quic-go":
					m.Versions["quic-go"] = f[1]
				case "github.com/quic-go/webtransport-go":
					m.Versions["webtransport-go"] = f[1]
				}
			}
		}
	}
	m.Commit = cmdOut("git", "rev-parse", "--short", "HEAD")
	if st := cmdOut("git", "status", "--porcelain", "--untracked-files=no"); st != "" {
		m.Commit += " (with uncommitted changes)"
	}
	return m
}

func cmdOut(name string, args ...string) string {
	b, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
