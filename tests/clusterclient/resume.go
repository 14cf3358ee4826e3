package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// ticketCache is a client session cache that tells when a ticket arrived.
type ticketCache struct {
	tls.ClientSessionCache
	stored chan struct{}
}

func (c *ticketCache) Put(key string, cs *tls.ClientSessionState) {
	c.ClientSessionCache.Put(key, cs)
	if cs != nil {
		select {
		case c.stored <- struct{}{}:
		default:
		}
	}
}

// resumeAll gets a session ticket, then resumes the session n times from
// new sockets with a GET in 0-RTT, and prints what each got.
func resumeAll(target *url.URL, n int, timeout time.Duration) error {
	cache := &ticketCache{ClientSessionCache: tls.NewLRUClientSessionCache(4), stored: make(chan struct{}, 1)}
	tlsConf := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}, ClientSessionCache: cache, ServerName: "localhost"}
	if _, _, err := earlyGet(target, tlsConf, http.MethodGet, timeout); err != nil {
		return err
	}
	select {
	case <-cache.stored:
	case <-time.After(timeout):
		return errors.New("no session ticket")
	}
	out := struct {
		Bodies   []string `json:"bodies"`
		Used0RTT []bool   `json:"used0rtt"`
		Errors   []string `json:"errors"`
	}{}
	for range n {
		body, used, err := earlyGet(target, tlsConf, http3.MethodGet0RTT, timeout)
		errText := ""
		if err != nil {
			errText = err.Error()
		}
		out.Bodies, out.Used0RTT, out.Errors = append(out.Bodies, body), append(out.Used0RTT, used), append(out.Errors, errText)
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// earlyGet dials (from a new socket, sending 0-RTT data when the cache
// holds a ticket), sends one request and reports whether the server
// accepted 0-RTT.
func earlyGet(target *url.URL, tlsConf *tls.Config, method string, timeout time.Duration) (body string, used0RTT bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	qc, err := quic.DialAddrEarly(ctx, target.Host, tlsConf, &quic.Config{})
	if err != nil {
		return "", false, err
	}
	defer qc.CloseWithError(0, "")
	c := &conn{qc: qc, cc: (&http3.Transport{}).NewClientConn(qc)}
	req, err := http.NewRequestWithContext(ctx, method, target.String(), nil)
	if err != nil {
		return "", false, err
	}
	body, errText := roundTrip(c, req)
	select {
	case <-qc.HandshakeComplete():
	case <-ctx.Done():
	}
	if errText != "" {
		return body, qc.ConnectionState().Used0RTT, errors.New(errText)
	}
	return body, qc.ConnectionState().Used0RTT, nil
}
