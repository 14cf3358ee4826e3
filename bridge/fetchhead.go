package bridge

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/zig-h3/h3bun/server"
)

// FetchRequest is a request head, validated: what a fetch sends.
type FetchRequest struct {
	Method, Path string
	// Header holds the fields in order, names lower-case. A "host" field
	// replaces the :authority (the connect's server name and port).
	Header []server.HeaderField
	// ContentLength is the declared content-length, -1 if none.
	ContentLength int64
}

// ParseFetchHead parses the head block of zig_h3_client_fetch_start:
// NUL-terminated strings, method, path, then name and value of each field.
func ParseFetchHead(block []byte) (*FetchRequest, error) {
	if len(block) == 0 || block[len(block)-1] != 0 {
		return nil, fmt.Errorf("%w: the head block must end with a NUL", server.ErrInvalidArgument)
	}
	strs := strings.Split(string(block[:len(block)-1]), "\x00")
	if len(strs) < 2 || len(strs)%2 != 0 {
		return nil, fmt.Errorf("%w: the head block holds method, path and name/value pairs", server.ErrInvalidArgument)
	}
	fields := make([]server.HeaderField, 0, len(strs)/2-1)
	for i := 2; i < len(strs); i += 2 {
		fields = append(fields, server.HeaderField{Name: strs[i], Value: strs[i+1]})
	}
	return NewFetchRequest(strs[0], strs[1], fields)
}

// connectionFields are the connection-specific fields HTTP/3 forbids.
var connectionFields = map[string]bool{"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true}

// NewFetchRequest validates a request head: method (a token, empty: GET),
// path (empty: "/"; "*" for OPTIONS only), and fields (tokens for names,
// no control characters in values, no pseudo-header nor
// connection-specific field, te only "trailers", one content-length).
func NewFetchRequest(method, path string, fields []server.HeaderField) (*FetchRequest, error) {
	if method == "" {
		method = http.MethodGet
	}
	if path == "" {
		path = "/"
	}
	if !isToken(method) {
		return nil, fmt.Errorf("%w: method %q is not a token", server.ErrInvalidArgument, method)
	}
	if method == http.MethodConnect {
		return nil, fmt.Errorf("%w: CONNECT is not a fetch (WebTransport sessions have their own function)", server.ErrInvalidArgument)
	}
	if err := checkPath(method, path); err != nil {
		return nil, err
	}
	r := &FetchRequest{Method: method, Path: path, ContentLength: -1}
	for _, f := range fields {
		name := strings.ToLower(f.Name)
		if err := checkField(name, f.Value); err != nil {
			return nil, err
		}
		if name == "content-length" {
			n, err := strconv.ParseInt(f.Value, 10, 64)
			if err != nil || n < 0 || r.ContentLength >= 0 && r.ContentLength != n {
				return nil, fmt.Errorf("%w: content-length %q is not one decimal number", server.ErrInvalidArgument, f.Value)
			}
			r.ContentLength = n
		}
		r.Header = append(r.Header, server.HeaderField{Name: name, Value: f.Value})
	}
	return r, nil
}

// checkPath checks a request target: origin-form, or "*" for OPTIONS.
func checkPath(method, path string) error {
	if path == "*" && method == http.MethodOptions {
		return nil
	}
	if path[0] != '/' {
		return fmt.Errorf("%w: path %q does not start with /", server.ErrInvalidArgument, path)
	}
	for i := 0; i < len(path); i++ {
		if c := path[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return fmt.Errorf("%w: path %q holds a byte %#x (escape it)", server.ErrInvalidArgument, path, c)
		}
	}
	return nil
}

// checkField checks one request field (name lower-case).
func checkField(name, value string) error {
	switch {
	case strings.HasPrefix(name, ":"):
		return fmt.Errorf("%w: pseudo-header %q (the library sets them)", server.ErrInvalidArgument, name)
	case !isToken(name):
		return fmt.Errorf("%w: field name %q is not a token", server.ErrInvalidArgument, name)
	case connectionFields[name]:
		return fmt.Errorf("%w: %s is a connection-specific field, forbidden in HTTP/3", server.ErrInvalidArgument, name)
	case name == "te" && !strings.EqualFold(strings.TrimSpace(value), "trailers"):
		return fmt.Errorf("%w: te may only be \"trailers\" in HTTP/3", server.ErrInvalidArgument)
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < ' ' && c != '\t' || c == 0x7f {
			return fmt.Errorf("%w: the value of %s holds a control character", server.ErrInvalidArgument, name)
		}
	}
	return nil
}

// isToken reports whether s is an HTTP token (RFC 9110 tchar+).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0) {
			return false
		}
	}
	return true
}

// httpRequest is the http.Request whose head http3 sends: to authority,
// with a body that follows (body: written on the stream) or none.
func (r *FetchRequest) httpRequest(authority string, body bool) (*http.Request, error) {
	u, err := url.ParseRequestURI(r.Path)
	if err != nil {
		return nil, fmt.Errorf("%w: path %q: %v", server.ErrInvalidArgument, r.Path, err)
	}
	u.Scheme, u.Host = "https", authority
	req := &http.Request{Method: r.Method, URL: u, Host: authority, Header: http.Header{}, ProtoMajor: 3}
	for _, f := range r.Header {
		if f.Name == "host" {
			req.Host = f.Value
			continue
		}
		req.Header.Add(f.Name, f.Value) // canonical keys, as http3 looks them up; it writes them lower-case
	}
	// http3 sends content-length from ContentLength: with Body NoBody, -1
	// sends none (a streamed body), n sends n; without a body, 0.
	if body {
		req.Body, req.ContentLength = http.NoBody, r.ContentLength
	} else if r.ContentLength > 0 {
		return nil, fmt.Errorf("%w: content-length %d without a body (flag ZIG_H3_FETCH_FLAG_BODY)", server.ErrInvalidArgument, r.ContentLength)
	}
	return req, nil
}
