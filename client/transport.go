package client

import (
	"net/http"
	"sync"

	"github.com/quic-go/quic-go/http3"
)

// Transport is an HTTP/3 [http.RoundTripper]: it dials a connection when a
// request needs one and reuses it for later requests to the same host
// (http3.Transport underneath). Set its fields before the first request;
// it is safe for concurrent use. The zero value dials with the zero Config.
type Transport struct {
	// Config says how connections are dialed. Nil: the zero Config.
	Config *Config

	once sync.Once
	h3   *http3.Transport
}

// init builds the http3.Transport from Config.
func (t *Transport) init() {
	t.once.Do(func() {
		t.h3 = h3Transport(t.Config)
		t.h3.TLSClientConfig = t.Config.TLS(http3.NextProtoH3)
		if t.Config != nil && t.Config.QUICConfig != nil {
			t.h3.QUICConfig = t.Config.QUIC()
		}
	})
}

// RoundTrip sends req over HTTP/3 and returns the response, whose body
// streams; the caller closes it.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.init()
	return t.h3.RoundTrip(req)
}

// Close closes every connection the Transport opened. It cannot be used
// afterwards.
func (t *Transport) Close() error {
	t.init()
	return t.h3.Close()
}
