package server

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// AnyMethod is the method of a route that matches every request method.
const AnyMethod = "*"

// Param is one `:name` segment of a route pattern and the raw (still
// percent-encoded) path segment it matched.
type Param struct {
	Name  string
	Value string
}

// Match is the result of looking a request up in a Router.
type Match[T any] struct {
	// Value is the route's value; valid only when Found is true.
	Value T
	// Pattern is the pattern of the matched route.
	Pattern string
	// Params holds the `:name` segments in pattern order.
	Params []Param
	// Found reports whether a route matched both path and method.
	Found bool
	// Allowed lists the methods registered for the path when the path matched
	// but the method did not (the content of a 405's Allow header).
	Allowed []string
}

// Router maps (method, path) to a value. Patterns are made of `/`-separated
// segments: literal text, `:name` (one non-empty segment, captured) and a
// final `*` (any remainder, including an empty one). The most specific
// pattern wins whatever the order of registration: at the first segment
// where two patterns differ, a literal beats a parameter, which beats `*`.
// A Router is immutable once built by a RouterBuilder, so it can be shared by
// any number of goroutines.
type Router[T any] struct {
	routes []route[T]
}

type segmentKind uint8

// Segment kinds, ordered from the most to the least specific.
const (
	segLiteral segmentKind = iota
	segParam
	segWildcard
)

type segment struct {
	kind segmentKind
	text string // the literal, or the parameter's name
}

type route[T any] struct {
	method   string
	pattern  string
	segments []segment
	value    T
	order    int
}

// RouterBuilder collects routes and produces an immutable Router.
type RouterBuilder[T any] struct {
	routes []route[T]
}

// ValidateMethod reports whether method is an HTTP token (or AnyMethod).
func ValidateMethod(method string) error {
	if method == AnyMethod {
		return nil
	}
	if method == "" {
		return fmt.Errorf("method must not be empty")
	}
	for i := 0; i < len(method); i++ {
		if !isTokenChar(method[i]) {
			return fmt.Errorf("method %q contains an invalid character", method)
		}
	}
	return nil
}

// parsePattern splits and validates a route pattern.
func parsePattern(pattern string) ([]segment, error) {
	if !strings.HasPrefix(pattern, "/") {
		return nil, fmt.Errorf("pattern %q must start with '/'", pattern)
	}
	if strings.ContainsAny(pattern, "?# \t\r\n") {
		return nil, fmt.Errorf("pattern %q must not contain '?', '#' or whitespace", pattern)
	}
	parts := strings.Split(pattern[1:], "/")
	segs := make([]segment, 0, len(parts))
	seen := map[string]bool{}
	for i, p := range parts {
		switch {
		case p == "*":
			if i != len(parts)-1 {
				return nil, fmt.Errorf("pattern %q: '*' is allowed only as the last segment", pattern)
			}
			segs = append(segs, segment{kind: segWildcard})
		case strings.HasPrefix(p, ":"):
			name := p[1:]
			if name == "" {
				return nil, fmt.Errorf("pattern %q: parameter without a name", pattern)
			}
			if seen[name] {
				return nil, fmt.Errorf("pattern %q: parameter %q appears twice", pattern, name)
			}
			seen[name] = true
			segs = append(segs, segment{kind: segParam, text: name})
		case strings.Contains(p, "*"):
			return nil, fmt.Errorf("pattern %q: '*' must be a whole segment", pattern)
		default:
			segs = append(segs, segment{kind: segLiteral, text: p})
		}
	}
	return segs, nil
}

// ValidatePattern reports whether pattern is a valid route pattern.
func ValidatePattern(pattern string) error {
	_, err := parsePattern(pattern)
	return err
}

// Add registers value for method and pattern. The same method and pattern
// registered twice is an error.
func (b *RouterBuilder[T]) Add(method, pattern string, value T) error {
	if err := ValidateMethod(method); err != nil {
		return err
	}
	segs, err := parsePattern(pattern)
	if err != nil {
		return err
	}
	for _, r := range b.routes {
		if r.method == method && r.pattern == pattern {
			return fmt.Errorf("route %s %s is registered twice", method, pattern)
		}
	}
	b.routes = append(b.routes, route[T]{method: method, pattern: pattern, segments: segs, value: value, order: len(b.routes)})
	return nil
}

// Len returns the number of routes added so far.
func (b *RouterBuilder[T]) Len() int { return len(b.routes) }

// Build returns a Router with the routes added so far, most specific first.
func (b *RouterBuilder[T]) Build() *Router[T] {
	routes := append([]route[T](nil), b.routes...)
	sort.SliceStable(routes, func(i, j int) bool { return moreSpecific(routes[i].segments, routes[j].segments) })
	return &Router[T]{routes: routes}
}

// moreSpecific orders patterns: at the first differing segment kind the more
// specific kind wins; a longer literal prefix wins over a shorter pattern.
func moreSpecific(a, b []segment) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i].kind != b[i].kind {
			return a[i].kind < b[i].kind
		}
	}
	return len(a) > len(b)
}

// Match looks up method and path (without query). HEAD falls back to the
// GET route of the same specificity when no HEAD route matches first.
func (r *Router[T]) Match(method, path string) Match[T] {
	var m Match[T]
	if r == nil {
		return m
	}
	var buf [16]string // most paths: no allocation for the segments
	parts := splitPath(path, buf[:0])
	var head *route[T]
	var headParams []Param
	firstPattern := ""
	for i := range r.routes {
		rt := &r.routes[i]
		params, ok := matchSegments(rt.segments, parts)
		if !ok {
			continue
		}
		if firstPattern == "" {
			firstPattern = rt.pattern
		}
		if head != nil && rt.pattern != head.pattern {
			break // a GET route matched a HEAD request more specifically
		}
		if rt.method == method || rt.method == AnyMethod {
			return found(rt, params)
		}
		if method == "HEAD" && rt.method == "GET" && head == nil {
			head, headParams = rt, params
		}
		if rt.pattern == firstPattern && !slices.Contains(m.Allowed, rt.method) {
			m.Allowed = append(m.Allowed, rt.method)
		}
	}
	if head != nil {
		return found(head, headParams)
	}
	if slices.Contains(m.Allowed, "GET") && !slices.Contains(m.Allowed, "HEAD") {
		m.Allowed = append(m.Allowed, "HEAD")
	}
	sort.Strings(m.Allowed)
	return m
}

func found[T any](rt *route[T], params []Param) Match[T] {
	return Match[T]{Value: rt.value, Pattern: rt.pattern, Params: params, Found: true}
}

// splitPath appends the segments of path to dst: "/a/b" gives ["a", "b"],
// "/" gives [""] (as strings.Split of what follows the leading slash).
func splitPath(path string, dst []string) []string {
	if path != "" && path[0] == '/' {
		path = path[1:]
	}
	for {
		i := strings.IndexByte(path, '/')
		if i < 0 {
			return append(dst, path)
		}
		dst = append(dst, path[:i])
		path = path[i+1:]
	}
}

func matchSegments(segs []segment, parts []string) ([]Param, bool) {
	var params []Param
	for i, s := range segs {
		if s.kind == segWildcard {
			return params, i < len(parts)
		}
		if i >= len(parts) {
			return nil, false
		}
		switch s.kind {
		case segLiteral:
			if parts[i] != s.text {
				return nil, false
			}
		case segParam:
			if parts[i] == "" {
				return nil, false
			}
			params = append(params, Param{Name: s.text, Value: parts[i]})
		}
	}
	return params, len(segs) == len(parts)
}

func isTokenChar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
