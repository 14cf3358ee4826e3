package thirdparty

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const (
	module  = "github.com/quic-go/webtransport-go"
	copyDir = "third_party/webtransport-go"
	patch   = "third_party/webtransport-go.patch"
)

// root is the repository root (go test runs in the package directory).
const root = "../.."

// The copy is upstream at the version go.mod requires, its non-test Go
// files, LICENSE, README.md, go.mod and go.sum, with the patch applied:
// nothing more, nothing less, byte for byte.
func TestWebTransportGoIsUpstreamPlusPatch(t *testing.T) {
	upstream := downloadModule(t, module+"@"+requiredVersion(t, module))
	patches := readPatch(t)

	want := map[string]string{} // file name -> expected contents
	entries, err := os.ReadDir(upstream)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() && isCopied(e.Name()) {
			want[e.Name()] = readFile(t, filepath.Join(upstream, e.Name()))
		}
	}
	for _, fp := range patches {
		original, ok := want[fp.path]
		if !ok {
			t.Fatalf("the patch changes %s, which is not a copied upstream file", fp.path)
		}
		patched, err := fp.apply(original)
		if err != nil {
			t.Fatalf("the patch does not apply to upstream: %v", err)
		}
		if patched == original {
			t.Errorf("the patch leaves %s unchanged", fp.path)
		}
		want[fp.path] = patched
	}

	copied, err := os.ReadDir(filepath.Join(root, copyDir))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range copied {
		got = append(got, e.Name())
	}
	wantNames := sortedKeys(want)
	if !slices.Equal(got, wantNames) {
		t.Fatalf("%s holds %v, want %v", copyDir, got, wantNames)
	}
	for _, name := range wantNames {
		t.Run(name, func(t *testing.T) {
			if readFile(t, filepath.Join(root, copyDir, name)) != want[name] {
				t.Errorf("%s/%s differs from upstream plus the patch: regenerate the patch (third_party/README.md) or undo the change", copyDir, name)
			}
		})
	}
}

// Both modules build with the copy.
func TestReplaceDirectives(t *testing.T) {
	for _, tc := range []struct{ gomod, target string }{
		{"go.mod", "./" + copyDir},
		{"bench/go.mod", "../" + copyDir},
	} {
		t.Run(tc.gomod, func(t *testing.T) {
			re := regexp.MustCompile(`(?m)^replace\s+` + regexp.QuoteMeta(module) + `\s+=>\s+` + regexp.QuoteMeta(tc.target) + `\s*$`)
			if !re.MatchString(readFile(t, filepath.Join(root, tc.gomod))) {
				t.Errorf("%s lacks: replace %s => %s", tc.gomod, module, tc.target)
			}
		})
	}
}

// isCopied reports whether an upstream top-level file belongs in the copy.
func isCopied(name string) bool {
	switch name {
	case "LICENSE", "README.md", "go.mod", "go.sum":
		return true
	}
	return strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")
}

// requiredVersion is the version of mod in go.mod's require directives.
func requiredVersion(t *testing.T, mod string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(readFile(t, filepath.Join(root, "go.mod"))))
	for sc.Scan() {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(fields) >= 2 && fields[0] == mod {
			return fields[1]
		}
	}
	t.Fatalf("go.mod does not require %s", mod)
	return ""
}

// downloadModule returns the directory of the pristine module modVersion
// in the module cache, downloading it if needed (go mod download, run
// outside this module so that its replace directive does not apply).
func downloadModule(t *testing.T, modVersion string) string {
	t.Helper()
	cmd := exec.Command(goCommand(), "mod", "download", "-json", modVersion)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); err != nil || jerr != nil || info.Dir == "" {
		t.Fatalf("go mod download %s: %v %s %s", modVersion, err, info.Error, stderr.String())
	}
	return info.Dir
}

// goCommand is the go command of the toolchain running the test.
func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func readPatch(t *testing.T) []filePatch {
	t.Helper()
	files, err := parseUnifiedDiff(readFile(t, filepath.Join(root, patch)))
	if err != nil {
		t.Fatalf("%s: %v", patch, err)
	}
	if len(files) == 0 {
		t.Fatalf("%s changes no file", patch)
	}
	return files
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
