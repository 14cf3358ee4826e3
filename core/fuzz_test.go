package core

import (
	"bytes"
	"encoding/binary"
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

// FuzzHeaders checks header validation and the NUL-separated header block
// used across the boundary: valid fields survive an encode/decode round trip
// and malformed blocks are rejected, never a panic.
func FuzzHeaders(f *testing.F) {
	f.Add("content-type", "text/plain", []byte("a\x00b\x00"))
	f.Add("x", "", []byte("no terminator"))
	f.Fuzz(func(t *testing.T, name, value string, block []byte) {
		_, _ = DecodeHeaders(block)
		if validateField(name, value) != nil {
			return
		}
		enc := []byte(name + "\x00" + value + "\x00")
		got, err := DecodeHeaders(enc)
		if err != nil || len(got) != 1 || got[0].Name != name || got[0].Value != value {
			t.Fatalf("round trip of %q: %v %v", enc, got, err)
		}
		fields := headerFields(http.Header{http.CanonicalHeaderKey(name): {value}})
		if len(fields) != 1 || fields[0].Name != strings.ToLower(http.CanonicalHeaderKey(name)) {
			t.Fatalf("headerFields(%q) = %v", name, fields)
		}
	})
}

// decodeHead decodes a request event as include/zig_h3.h documents it.
func decodeHead(t *testing.T, ev []byte) (id uint64, tag uint32, strs []string, body []byte) {
	le := binary.LittleEndian
	if int(le.Uint32(ev)) != len(ev) || len(ev)%8 != 0 {
		t.Fatalf("length field %d, event %d bytes", le.Uint32(ev), len(ev))
	}
	id, tag = le.Uint64(ev[8:]), le.Uint32(ev[24:])
	headLen, bodyLen := int(le.Uint32(ev[28:])), int(le.Uint32(ev[32:]))
	n := 5 + 2*int(le.Uint16(ev[36:])) + 2*int(le.Uint16(ev[38:])) + 2*int(le.Uint16(ev[40:]))
	head := ev[44 : 44+headLen]
	strs = strings.Split(string(head), "\x00")
	if len(strs) != n+1 || strs[n] != "" {
		t.Fatalf("head has %d strings, want %d", len(strs)-1, n)
	}
	return id, tag, strs[:n], ev[44+headLen : 44+headLen+bodyLen]
}

// FuzzEventEncoding encodes fuzzed requests and decodes them by the
// documented layout: every field must come back intact.
func FuzzEventEncoding(f *testing.F) {
	f.Add("GET", "/x?y", "host", "k", "v", []byte("body"))
	f.Fuzz(func(t *testing.T, method, path, authority, hname, hvalue string, body []byte) {
		for _, s := range []string{method, path, authority, hname, hvalue} {
			if strings.Contains(s, "\x00") {
				return // NUL never reaches here: http3 and validateField refuse it
			}
		}
		req := &Request{Method: method, Path: path, Authority: authority, RemoteAddr: "127.0.0.1:1",
			ConnID: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Header: []HeaderField{{hname, hvalue}},
			Params: []Param{{"id", "7"}}, Body: body}
		ev := encodeRequest(ResponseIDBase+9, 42, req)
		id, tag, strs, gotBody := decodeHead(t, ev)
		want := []string{method, path, authority, "127.0.0.1:1", "0102030405060708", "id", "7", hname, hvalue}
		if id != ResponseIDBase+9 || tag != 42 || strings.Join(strs, "|") != strings.Join(want, "|") || !bytes.Equal(gotBody, body) {
			t.Fatalf("decoded %d %d %q %q", id, tag, strs, gotBody)
		}
	})
}
