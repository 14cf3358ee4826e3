package server

import (
	"net/http"
	"strings"
)

// Header field names travel lower case on the wire and canonical in
// net/http's maps ("Content-Type"). Converting a name that is not in the
// wanted form already costs 35-50 ns, and allocates unless net/textproto
// interns the result (it does for a few dozen names, "Content-Type" among
// them); the common names are converted through these tables instead, made
// once, in about 6 ns.

// commonFieldNames are the lower-case names of common request and
// response fields.
var commonFieldNames = []string{
	// requests
	"accept", "accept-charset", "accept-encoding", "accept-language", "authorization",
	"cookie", "early-data", "if-match", "if-modified-since", "if-none-match", "if-range",
	"if-unmodified-since", "origin", "priority", "range", "referer", "sec-fetch-dest",
	"sec-fetch-mode", "sec-fetch-site", "sec-webtransport-http3-draft02", "te",
	"user-agent", "x-forwarded-for", "x-requested-with",
	// both
	"cache-control", "content-encoding", "content-length", "content-type",
	// responses
	"access-control-allow-credentials", "access-control-allow-headers",
	"access-control-allow-methods", "access-control-allow-origin",
	"access-control-expose-headers", "access-control-max-age", "age", "allow", "alt-svc",
	"content-disposition", "content-language", "content-range", "date", "etag",
	"expires", "last-modified", "location", "server", "set-cookie",
	"strict-transport-security", "vary", "x-content-type-options",
}

// lowerFieldNames maps the common names, canonical or lower case, to lower
// case; canonicalFieldNames maps them, either way, to their canonical form.
var lowerFieldNames, canonicalFieldNames = func() (lower, canonical map[string]string) {
	lower = make(map[string]string, 2*len(commonFieldNames))
	canonical = make(map[string]string, 2*len(commonFieldNames))
	for _, l := range commonFieldNames {
		c := http.CanonicalHeaderKey(l)
		lower[c], lower[l] = l, l
		canonical[c], canonical[l] = c, c
	}
	return lower, canonical
}()

// lowerName is strings.ToLower(name) without an allocation for names that
// are lower case already or common canonical ones (http3 hands them over
// canonicalised: "User-Agent").
func lowerName(name string) string {
	if lower, ok := lowerFieldNames[name]; ok {
		return lower
	}
	return strings.ToLower(name)
}

// canonicalName is http.CanonicalHeaderKey(name), through the table for the
// common names (handlers give them lower case: "content-type").
func canonicalName(name string) string {
	if c, ok := canonicalFieldNames[name]; ok {
		return c
	}
	return http.CanonicalHeaderKey(name)
}
