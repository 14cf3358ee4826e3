package abi

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/zig-h3/h3bun/internal/abi/abigen"
)

const root = "../.."

// TestGeneratedFilesUpToDate regenerates the outputs in memory and fails
// when a checked-in one differs.
func TestGeneratedFilesUpToDate(t *testing.T) {
	files, err := abigen.Generate(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range abigen.Outputs {
		have, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Errorf("%v: run go generate ./internal/abi", err)
			continue
		}
		if want := files[path]; !bytes.Equal(have, want) {
			t.Errorf("%s differs from what %s gives (%s): run go generate ./internal/abi", path, abigen.Header, firstDiff(have, want))
		}
	}
}

func firstDiff(have, want []byte) string {
	h, w := strings.Split(string(have), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(h) || i < len(w); i++ {
		var hl, wl string
		if i < len(h) {
			hl = h[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if hl != wl {
			return fmt.Sprintf("line %d is %q, want %q", i+1, hl, wl)
		}
	}
	return "same lines"
}

func parseHeader(t *testing.T) *abigen.ABI {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, abigen.Header))
	if err != nil {
		t.Fatal(err)
	}
	a, err := abigen.Parse(string(src))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestLayoutMatchesCompiler compiles a C program against the header that
// prints every constant, event field offset and struct size, and compares
// them with what the generator computed.
func TestLayoutMatchesCompiler(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc")
	}
	a := parseHeader(t)
	header, err := filepath.Abs(filepath.Join(root, abigen.Header))
	if err != nil {
		t.Fatal(err)
	}
	var prog, want strings.Builder
	fmt.Fprintf(&prog, "#include <stdio.h>\n#include \"%s\"\nint main(void) {\n", header)
	line := func(name, expr string, v int64) {
		fmt.Fprintf(&prog, "    printf(\"%s %%lld\\n\", (long long)(%s));\n", name, expr)
		fmt.Fprintf(&want, "%s %d\n", name, v)
	}
	for _, group := range [][]abigen.Const{a.Codes, a.Events, a.Limits, a.Counters} {
		for _, c := range group {
			line(c.Name, c.Name, c.Value)
		}
	}
	line("ZIG_H3_COUNTER_COUNT", "ZIG_H3_COUNTER_COUNT", int64(len(a.Counters)))
	for _, s := range a.Structs {
		line("sizeof "+s.Name, "sizeof("+s.Name+")", int64(s.Size))
		for _, f := range s.Fields {
			line(s.Name+"."+f.Name, fmt.Sprintf("offsetof(%s, %s)", s.Name, f.Name), int64(f.Offset))
		}
	}
	prog.WriteString("    return 0;\n}\n")
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "layout.c"), filepath.Join(dir, "layout")
	if err := os.WriteFile(src, []byte(prog.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(gcc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != want.String() {
		got, exp := strings.Split(string(out), "\n"), strings.Split(want.String(), "\n")
		for i := range min(len(got), len(exp)) {
			if got[i] != exp[i] {
				t.Errorf("gcc says %q, the generator %q", got[i], exp[i])
			}
		}
	}
}

// TestHeaderCompiles checks that the header compiles, warning-free, as C
// and as C++ (its asserts hold in both).
func TestHeaderCompiles(t *testing.T) {
	for _, c := range []struct{ compiler, lang, std string }{{"gcc", "c", "-std=c11"}, {"g++", "c++", "-std=c++11"}} {
		path, err := exec.LookPath(c.compiler)
		if err != nil {
			t.Logf("no %s", c.compiler)
			continue
		}
		cmd := exec.Command(path, "-fsyntax-only", c.std, "-Wall", "-Wextra", "-Werror", "-pedantic", "-x", c.lang, filepath.Join(root, abigen.Header))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", c.compiler, err, out)
		}
	}
}

// TestCapiExportsEveryPrototype checks that the functions capi exports are
// exactly the header's prototypes.
func TestCapiExportsEveryPrototype(t *testing.T) {
	a := parseHeader(t)
	sources, err := filepath.Glob(filepath.Join(root, "capi", "*.[gc]*"))
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	// cgo exports, and the C definitions of bridge.c (not static, not hidden).
	re := regexp.MustCompile(`(?m)^(?://export |[a-z][\w *]*[ *])(zig_h3_\w+)(?:$|\([^;\n]*\{)`)
	for _, path := range sources {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			exported[m[1]] = true
		}
	}
	for _, f := range a.Funcs {
		if !exported[f.Name] {
			t.Errorf("%s is declared in %s but capi does not export it", f.Name, abigen.Header)
		}
		delete(exported, f.Name)
	}
	for name := range exported {
		t.Errorf("capi exports %s, which %s does not declare", name, abigen.Header)
	}
}
