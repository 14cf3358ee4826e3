package server

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzRouter adds fuzzed patterns and matches fuzzed paths: it must never
// panic, and a match must capture one param per ":name" segment.
func FuzzRouter(f *testing.F) {
	for _, s := range []string{"/a/:b/*", "/", "/x/:y", "/*", "/:a/:b/c"} {
		f.Add(s, "/a/1/2", "GET")
	}
	f.Fuzz(func(t *testing.T, pattern, path, method string) {
		var b RouterBuilder[string]
		if err := b.Add(method, pattern, pattern); err != nil {
			return
		}
		_ = b.Add("GET", "/*", "fallback")
		m := b.Build().Match(method, path)
		if m.Found && m.Value == pattern {
			if want := strings.Count(pattern, "/:"); len(m.Params) != want {
				t.Fatalf("pattern %q path %q: %d params, want %d", pattern, path, len(m.Params), want)
			}
			for _, p := range m.Params {
				if p.Value == "" || strings.Contains(p.Value, "/") {
					t.Fatalf("param %q=%q is not one non-empty segment", p.Name, p.Value)
				}
			}
		}
	})
}

// FuzzHeaders checks header validation and flattening: never a panic, and
// a valid field comes out under its lower-case name.
func FuzzHeaders(f *testing.F) {
	f.Add("content-type", "text/plain")
	f.Add("x y", "")
	f.Fuzz(func(t *testing.T, name, value string) {
		if ValidateField(name, value) != nil {
			return
		}
		fields := HeaderFields(http.Header{http.CanonicalHeaderKey(name): {value}})
		if len(fields) != 1 || fields[0].Name != strings.ToLower(http.CanonicalHeaderKey(name)) || fields[0].Value != value {
			t.Fatalf("HeaderFields(%q) = %v", name, fields)
		}
	})
}
