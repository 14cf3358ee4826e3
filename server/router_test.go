package server

import (
	"reflect"
	"testing"
)

func buildRouter(t *testing.T, routes ...[2]string) *Router[string] {
	t.Helper()
	var b RouterBuilder[string]
	for _, r := range routes {
		if err := b.Add(r[0], r[1], r[0]+" "+r[1]); err != nil {
			t.Fatalf("Add(%q, %q): %v", r[0], r[1], err)
		}
	}
	return b.Build()
}

func TestRouterPrecedenceIgnoresOrder(t *testing.T) {
	r := buildRouter(t,
		[2]string{"GET", "/*"},
		[2]string{"GET", "/users/*"},
		[2]string{"GET", "/users/:id"},
		[2]string{"GET", "/users/me"},
		[2]string{"GET", "/users/:id/posts/:post"},
	)
	cases := []struct {
		path, want string
		params     []Param
	}{
		{"/users/me", "GET /users/me", nil},
		{"/users/42", "GET /users/:id", []Param{{"id", "42"}}},
		{"/users/42/posts/7", "GET /users/:id/posts/:post", []Param{{"id", "42"}, {"post", "7"}}},
		{"/users/42/likes", "GET /users/*", nil},
		{"/users/", "GET /users/*", nil},
		{"/other", "GET /*", nil},
		{"/", "GET /*", nil},
	}
	for _, c := range cases {
		m := r.Match("GET", c.path)
		if !m.Found || m.Value != c.want || !reflect.DeepEqual(m.Params, c.params) {
			t.Errorf("Match(GET, %q) = %+v, want %q %v", c.path, m, c.want, c.params)
		}
	}
}

func TestRouterWildcardNeedsSlash(t *testing.T) {
	r := buildRouter(t, [2]string{"GET", "/api/*"})
	if m := r.Match("GET", "/api"); m.Found {
		t.Fatalf("/api/* matched /api")
	}
	if m := r.Match("GET", "/api/x/y"); !m.Found {
		t.Fatalf("/api/* did not match /api/x/y")
	}
}

func TestRouterMethodNotAllowed(t *testing.T) {
	r := buildRouter(t,
		[2]string{"GET", "/items"},
		[2]string{"POST", "/items"},
		[2]string{"DELETE", "/items/:id"},
		[2]string{"PUT", "/*"},
	)
	m := r.Match("PATCH", "/items")
	if m.Found {
		t.Fatalf("PATCH /items matched %v", m.Value)
	}
	if want := []string{"GET", "HEAD", "POST"}; !reflect.DeepEqual(m.Allowed, want) {
		t.Fatalf("Allowed = %v, want %v", m.Allowed, want)
	}
	if m := r.Match("PUT", "/items"); !m.Found || m.Value != "PUT /*" {
		t.Fatalf("PUT /items = %+v, want the wildcard route", m)
	}
	if m := r.Match("GET", "/nothing/here"); m.Found || len(m.Allowed) != 1 || m.Allowed[0] != "PUT" {
		t.Fatalf("GET /nothing/here = %+v", m)
	}
}

func TestRouterHeadAndAnyMethod(t *testing.T) {
	r := buildRouter(t,
		[2]string{"GET", "/page"},
		[2]string{"*", "/*"},
		[2]string{"HEAD", "/explicit"},
		[2]string{"GET", "/explicit"},
	)
	if m := r.Match("HEAD", "/page"); !m.Found || m.Value != "GET /page" {
		t.Fatalf("HEAD /page = %+v", m)
	}
	if m := r.Match("HEAD", "/explicit"); !m.Found || m.Value != "HEAD /explicit" {
		t.Fatalf("HEAD /explicit = %+v", m)
	}
	if m := r.Match("OPTIONS", "/anything"); !m.Found || m.Value != "* /*" {
		t.Fatalf("OPTIONS /anything = %+v", m)
	}
}

func TestRouterRejectsBadPatterns(t *testing.T) {
	var b RouterBuilder[int]
	bad := []string{"", "nope", "/a/*/b", "/a*", "/:", "/:a/:a", "/a?b", "/a b"}
	for _, p := range bad {
		if err := b.Add("GET", p, 1); err == nil {
			t.Errorf("Add(GET, %q) accepted", p)
		}
	}
	for _, m := range []string{"", "GE T", "GET\n"} {
		if err := b.Add(m, "/", 1); err == nil {
			t.Errorf("Add(%q, /) accepted", m)
		}
	}
	if err := b.Add("GET", "/dup", 1); err != nil {
		t.Fatal(err)
	}
	if err := b.Add("GET", "/dup", 2); err == nil {
		t.Error("duplicate route accepted")
	}
}

func TestRouterParamsNeedNonEmptySegment(t *testing.T) {
	r := buildRouter(t, [2]string{"GET", "/u/:id"})
	if m := r.Match("GET", "/u/"); m.Found {
		t.Fatalf("/u/:id matched /u/")
	}
	if m := r.Match("GET", "/u/a%20b"); !m.Found || m.Params[0].Value != "a%20b" {
		t.Fatalf("raw param not kept: %+v", m)
	}
}
