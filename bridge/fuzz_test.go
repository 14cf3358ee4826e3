package bridge

import (
	"bytes"
	"slices"
	"testing"

	"github.com/zig-h3/h3bun/server"
)

// FuzzHeaderBlock checks the NUL-separated header block used across the
// boundary: valid fields survive an encode/decode round trip and malformed
// blocks are rejected, never a panic.
func FuzzHeaderBlock(f *testing.F) {
	f.Add("content-type", "text/plain", []byte("a\x00b\x00"))
	f.Add("x", "", []byte("no terminator"))
	f.Fuzz(func(t *testing.T, name, value string, block []byte) {
		_, _ = DecodeHeaders(block)
		if server.ValidateField(name, value) != nil {
			return
		}
		enc := []byte(name + "\x00" + value + "\x00")
		got, err := DecodeHeaders(enc)
		if err != nil || len(got) != 1 || got[0].Name != name || got[0].Value != value {
			t.Fatalf("round trip of %q: %v %v", enc, got, err)
		}
	})
}

// FuzzEventEncoding encodes fuzzed requests and decodes them with Decode:
// every field must come back intact, and the length field must cover the
// event, padded to 8 bytes.
func FuzzEventEncoding(f *testing.F) {
	f.Add("GET", "/x?y", "host", "k", "v", []byte("body"))
	f.Fuzz(func(t *testing.T, method, path, authority, hname, hvalue string, body []byte) {
		for _, s := range []string{method, path, authority, hname, hvalue} {
			if bytes.IndexByte([]byte(s), 0) >= 0 {
				return // NUL never reaches here: http3 and ValidateField refuse it
			}
		}
		req := &server.Request{Method: method, Path: path, Authority: authority, RemoteAddr: "127.0.0.1:1",
			ConnID: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Header: []server.HeaderField{{Name: hname, Value: hvalue}},
			Params: []server.Param{{Name: "id", Value: "7"}}, Body: body}
		handle := KindResponse.Handle(9)
		ev := encodeRequest(handle, 42, req)
		evs, err := Decode(ev)
		if err != nil || len(evs) != 1 || len(ev)%8 != 0 {
			t.Fatalf("decoded %d events of %d bytes: %v", len(evs), len(ev), err)
		}
		h := evs[0].Head
		got := []string{h.Method, h.Path, h.Authority, h.RemoteAddr, h.ConnIDHex, h.Params[0].Name, h.Params[0].Value, h.Header[0].Name, h.Header[0].Value}
		want := []string{method, path, authority, "127.0.0.1:1", "0102030405060708", "id", "7", hname, hvalue}
		if evs[0].Type != EventRequest || evs[0].Handle != handle || h.Tag != 42 || !slices.Equal(got, want) || !bytes.Equal(h.Body, body) {
			t.Fatalf("decoded %+v %q", evs[0], got)
		}
	})
}
