package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zig-h3/h3bun/bench/procfs"
	"github.com/zig-h3/h3bun/bridge"
)

// serverDef describes one server under test.
type serverDef struct {
	Key   string   `json:"key"`
	Name  string   `json:"name"`
	Label string   `json:"label"`
	Cmd   []string `json:"cmd"`
	// Features it serves: "http" (small, echo, download, file, upload),
	// "static" (GET /static, a static route), "dgram" (POST /dgram), "wt"
	// (CONNECT /wt), "stats" (GET /stats).
	Features []string `json:"features"`
	// Rows limits a reference server to these scenario ids (nil: all);
	// "conns" and "memory" name those rows.
	Rows []string `json:"rows,omitempty"`
	// Env is added to the server's environment.
	Env []string `json:"env,omitempty"`
}

// goRuntimeEnv runs a Go server's collector at the target the library
// sets for its own runtime (bridge.RuntimeGCPercent), the one (a), (d) and
// (f) run with, unless GOGC is set for the whole run: the core and quic-go
// are then compared with the same collector.
func goRuntimeEnv() []string {
	if _, set := os.LookupEnv("GOGC"); set {
		return nil
	}
	return []string{"GOGC=" + strconv.Itoa(bridge.RuntimeGCPercent)}
}

func (d *serverDef) inRow(id string) bool {
	return d.Rows == nil || slices.Contains(d.Rows, id)
}

func (d *serverDef) has(feature string) bool {
	return slices.Contains(d.Features, feature)
}

const bun = "node_modules/.bin/bun"

var serverDefs = []*serverDef{
	{Key: "a", Name: "bun-lib", Label: "this library, Bun handler (createH3Server)",
		Cmd: []string{bun, "run", "bench/servers/bun-lib.ts"}, Features: []string{"http", "static", "dgram", "wt", "stats"}},
	{Key: "b", Name: "go-core", Label: "same server package, Go handler (ceiling)",
		Cmd: []string{"build/bench/go-core"}, Features: []string{"http", "static", "dgram", "wt", "stats"}, Env: goRuntimeEnv()},
	{Key: "c", Name: "bun-native", Label: "Bun.serve({ http3: true, http1: false })",
		Cmd: []string{bun, "run", "bench/servers/bun-native.ts"}, Features: []string{"http", "static"}},
	{Key: "d", Name: "c-abi", Label: "this library, C handler through the C ABI",
		Cmd: []string{"build/bench/c-server", "build/libzigh3.so"}, Features: []string{"http", "stats"}},
	{Key: "e", Name: "pure-h3", Label: "reference: quic-go's http3.Server + webtransport-go, net/http handlers, no core",
		Cmd: []string{"build/bench/pure-h3"}, Features: []string{"http", "dgram", "wt"}, Env: goRuntimeEnv()},
	{Key: "f", Name: "c-queue", Label: "reference: this library in event-queue mode (Bun's architecture), C consumer on one thread",
		Cmd: []string{"build/bench/c-queue", "build/libzigh3.so"}, Features: []string{"http", "wt"},
		Rows: slices.Sorted(maps.Keys(targetRows))},
}

func serverByKey(k string) *serverDef {
	for _, d := range serverDefs {
		if d.Key == k {
			return d
		}
	}
	return nil
}

// serverProc is one running server process.
type serverProc struct {
	def     *serverDef
	cmd     *exec.Cmd
	pid     int
	port    int
	logPath string
	exited  chan struct{}
	exitErr error
	started time.Time
}

// startServer starts def with env and waits for the port line on stdout.
func startServer(def *serverDef, env []string, logPath string) (*serverProc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "---- %s start %s\n", def.Name, time.Now().Format(time.RFC3339))
	cmd := exec.Command(def.Cmd[0], def.Cmd[1:]...)
	cmd.Env = append(append(os.Environ(), env...), def.Env...)
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the runner
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("%s: %w", def.Name, err)
	}
	p := &serverProc{def: def, cmd: cmd, pid: cmd.Process.Pid, logPath: logPath, exited: make(chan struct{}), started: time.Now()}
	portc := make(chan string, 1)
	go func() {
		br := bufio.NewReader(out)
		line, _ := br.ReadString('\n')
		portc <- strings.TrimSpace(line)
		_, _ = io.Copy(logf, br)
	}()
	go func() {
		p.exitErr = cmd.Wait()
		fmt.Fprintf(logf, "---- %s exited: %v\n", def.Name, p.exitErr)
		logf.Close()
		close(p.exited)
	}()
	select {
	case line := <-portc:
		port, err := strconv.Atoi(line)
		if err != nil || port <= 0 {
			p.kill()
			return nil, fmt.Errorf("%s printed %q instead of its port; see %s", def.Name, line, logPath)
		}
		p.port = port
	case <-p.exited:
		return nil, fmt.Errorf("%s exited at start (%v); see %s", def.Name, p.exitErr, logPath)
	case <-time.After(60 * time.Second):
		p.kill()
		return nil, fmt.Errorf("%s did not print its port within 60 s; see %s", def.Name, logPath)
	}
	return p, nil
}

func (p *serverProc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop asks the server to stop (SIGTERM), then kills it after 5 s.
func (p *serverProc) stop() {
	if !p.alive() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.kill()
	}
}

func (p *serverProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

func (p *serverProc) url(path string) string {
	return "https://127.0.0.1:" + strconv.Itoa(p.port) + path
}

// logTail returns the last lines of the server's log.
func (p *serverProc) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// procRSS returns VmRSS and VmHWM of pid in MiB.
func procRSS(pid int) (rss, hwm float64) {
	r, h, _ := procfs.Mem(pid)
	return round2(float64(r) / (1 << 20)), round2(float64(h) / (1 << 20))
}

// procCPUSeconds returns utime+stime of pid.
func procCPUSeconds(pid int) float64 {
	d, _ := procfs.CPU(pid)
	return d.Seconds()
}

// machineBusy samples the machine's busy share over d (0-100, all cores).
func machineBusy(d time.Duration) float64 {
	b0, t0 := procfs.Machine()
	time.Sleep(d)
	b1, t1 := procfs.Machine()
	if t1 <= t0 {
		return 0
	}
	return round2(100 * float64(b1-b0) / float64(t1-t0))
}

func round2(f float64) float64 {
	return float64(int64(f*100+0.5)) / 100
}

// writeCert writes a self-signed ECDSA P-256 certificate for 127.0.0.1 and
// localhost, the one every server uses.
func writeCert(certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
}

// writeBlob writes a file of n bytes for the /file routes.
func writeBlob(path string, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	for left := n; left > 0; {
		k := min(left, int64(len(chunk)))
		if _, err := f.Write(chunk[:k]); err != nil {
			f.Close()
			return err
		}
		left -= k
	}
	return f.Close()
}
