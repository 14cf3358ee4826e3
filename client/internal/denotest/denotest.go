// Package denotest runs the Deno test servers of tests/fixtures (Deno's own
// QUIC and WebTransport stack, an implementation this project did not
// write) for the client's Go tests.
//
// Deno is the npm package deno (package.json), installed by npm ci as
// node_modules/.bin/deno. Without it the tests that need it are skipped;
// make test always installs it, so they never skip there.
package denotest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zig-h3/h3bun/server"
)

// Scripts in tests/fixtures, relative to the repository root.
const (
	// WebTransportServer echoes datagrams and bidirectional streams of
	// every WebTransport session (ALPN "h3", any path).
	WebTransportServer = "tests/fixtures/deno-wt-server.ts"
	// QUICServer echoes the QUIC datagrams of every connection of ALPN.
	QUICServer = "tests/fixtures/deno-quic-server.ts"
)

// ALPN is the protocol QUICServer accepts.
const ALPN = "zig-h3-test"

// StartTimeout bounds the wait for a server's {"port":N} line (Deno
// compiles the script first).
const StartTimeout = 20 * time.Second

// Server is a running Deno test server, stopped when the test ends.
type Server struct {
	// Addr is the server's UDP address, 127.0.0.1:port.
	Addr string
	// CertHash is the SHA-256 of the DER of the server's certificate, a
	// self-signed ECDSA P-256 certificate for 127.0.0.1 and localhost.
	CertHash [sha256.Size]byte
	// CertPEM is that certificate in PEM.
	CertPEM []byte

	stderr *lockedBuffer
}

// Start runs script (a path relative to the repository root, e.g.
// [WebTransportServer]) with Deno and waits for its port. It skips the
// test when node_modules/.bin/deno is missing and fails it when the
// server does not start. The process is killed when the test ends; what it
// wrote on stderr is logged if the test failed.
func Start(t testing.TB, script string) *Server {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "node_modules", ".bin", "deno")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("Deno is not installed (%s is missing: run npm ci or make deps)", bin)
	}
	dir := t.TempDir()
	certPEM, err := writeCertificate(dir)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	s := &Server{CertHash: sha256.Sum256(block.Bytes), CertPEM: certPEM, stderr: &lockedBuffer{}}

	cmd := exec.Command(executable(root, bin), "run", "--unstable-net", "-A",
		filepath.Join(root, script), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DENO_NO_UPDATE_CHECK=1", "NO_COLOR=1")
	cmd.Stderr = s.stderr
	// Its own process group, so that stopping it also stops a wrapper's
	// child (node_modules/.bin/deno is a Node script when npm did not run
	// the package's install script).
	cmd.SysProcAttr = sysProcAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", script, s.stderr.String())
		}
	})
	port, err := readPort(stdout)
	if err != nil {
		t.Fatalf("%s: %v; stderr:\n%s", script, err, s.stderr.String())
	}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return s
}

// CertPool is a pool holding the server's certificate as a root.
func (s *Server) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CertPEM)
	return pool
}

// Stderr is what the server wrote on stderr so far.
func (s *Server) Stderr() string { return s.stderr.String() }

// readPort reads the server's first stdout line, {"port":N}, within
// StartTimeout, then discards the rest of stdout until the process ends.
func readPort(stdout io.Reader) (int, error) {
	type result struct {
		port int
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, err := r.ReadBytes('\n')
		if err != nil {
			ch <- result{err: fmt.Errorf("no ready line on stdout: %w", err)}
			return
		}
		var ready struct {
			Port int `json:"port"`
		}
		if err := json.Unmarshal(line, &ready); err != nil || ready.Port <= 0 {
			ch <- result{err: fmt.Errorf("ready line %q is not {\"port\":N}", line)}
			return
		}
		ch <- result{port: ready.Port}
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case res := <-ch:
		return res.port, res.err
	case <-time.After(StartTimeout):
		return 0, fmt.Errorf("no ready line within %v", StartTimeout)
	}
}

// executable is the Deno binary itself when it can be found
// (node_modules/.bin/deno, or the binary the npm package installs when that
// is the package's Node wrapper), else bin.
func executable(root, bin string) string {
	candidates := []string{bin, filepath.Join(root, "node_modules", "deno", "deno")}
	platform, _ := filepath.Glob(filepath.Join(root, "node_modules", "@deno", "*", "deno"))
	for _, c := range append(candidates, platform...) {
		if isELF(c) {
			return c
		}
	}
	return bin
}

// isELF reports whether path is an ELF executable.
func isELF(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	magic := make([]byte, 4)
	_, err = io.ReadFull(f, magic)
	return err == nil && bytes.Equal(magic, []byte("\x7fELF"))
}

// repoRoot is the nearest directory above the working directory (a
// package directory under go test) that holds package.json and go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fileExists(filepath.Join(dir, "go.mod")) && fileExists(filepath.Join(dir, "package.json")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("denotest: no directory with go.mod and package.json above the working directory")
		}
		dir = parent
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// writeCertificate writes cert.pem and key.pem into dir: the server
// package's development certificate (ECDSA P-256, for 127.0.0.1 and
// localhost). It returns the certificate's PEM.
func writeCertificate(dir string) ([]byte, error) {
	cert, err := server.DevCertificate()
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600); err != nil {
		return nil, err
	}
	return certPEM, nil
}

// lockedBuffer is a bytes.Buffer safe for one writer and many readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
