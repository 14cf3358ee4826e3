// Package client is an HTTP/3 client built on quic-go and webtransport-go:
// HTTP/3 requests, HTTP/3 datagrams (RFC 9297) on a request stream,
// WebTransport sessions, and raw QUIC datagrams (RFC 9221) on a connection
// of its own ALPN.
//
// A [Config] says how connections are dialed (TLS verification or
// certificate pinning, QUIC settings, datagrams). On top of it:
//
//   - [Transport] is an [net/http.RoundTripper] that dials when a request
//     needs a connection and reuses it, like [net/http.Transport];
//   - [DialH3] dials one HTTP/3 connection, a [Conn], for callers that
//     choose their connections (load generators, tests) and for request
//     streams that carry HTTP/3 datagrams ([Conn.OpenRequestStream]);
//   - [DialWebTransport] opens a WebTransport [Session];
//   - [DialQUIC] dials a plain QUIC connection on another ALPN, for raw QUIC
//     datagrams; [NewConnRawDatagrams] runs HTTP/3 on an "h3" connection
//     while leaving its QUIC datagrams to the caller.
//
// Everything that carries datagrams is a [Datagrammer].
package client
