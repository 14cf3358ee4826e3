package server

import (
	"context"
	"crypto/tls"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/zig-h3/h3bun/client/clienttest"
)

// ticketCache is a client session cache that tells when a session ticket
// was stored.
type ticketCache struct {
	tls.ClientSessionCache
	stored chan struct{}
}

func newTicketCache() *ticketCache {
	return &ticketCache{ClientSessionCache: tls.NewLRUClientSessionCache(8), stored: make(chan struct{}, 1)}
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

// dialEarly dials addr with the session cache, returning as soon as
// 0-RTT data can be sent (at once with a ticket). The server name is the
// same for every server, so that a ticket from one is offered to another.
//
// quic-go's client races (quic-go/quic-go#4303, seen with -race) when a
// stream opens in 0-RTT while the server's transport parameters arrive:
// the tests that send 0-RTT data go through a handshakeDelayProxy, so that
// their streams are open well before, and those that check only the
// handshake open none.
func dialEarly(t *testing.T, addr string, cache *ticketCache) (*quic.Conn, *http3.ClientConn) {
	t.Helper()
	qc := dialEarlyQUIC(t, addr, cache)
	return qc, (&http3.Transport{}).NewClientConn(qc)
}

// dialEarlyQUIC is dialEarly without HTTP/3: no stream is opened.
func dialEarlyQUIC(t *testing.T, addr string, cache *ticketCache) *quic.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rawDeadline)
	defer cancel()
	tlsConf := &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", NextProtos: []string{http3.NextProtoH3}, ClientSessionCache: cache}
	qc, err := quic.DialAddrEarly(ctx, addr, tlsConf, &quic.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { qc.CloseWithError(0, "") })
	return qc
}

// primeTicket makes one request to addr and waits for the session ticket.
func primeTicket(t *testing.T, addr string, cache *ticketCache) {
	t.Helper()
	qc, cc := dialEarly(t, addr, cache)
	if status := roundTrip(t, cc, http.MethodGet, addr); status != 200 {
		t.Fatalf("priming GET: %d", status)
	}
	select {
	case <-cache.stored:
	case <-time.After(rawDeadline):
		t.Fatal("no session ticket")
	}
	qc.CloseWithError(0, "")
}

// roundTrip sends a GET (or GET_0RTT) for /early and returns the status.
func roundTrip(t *testing.T, cc *http3.ClientConn, method, addr string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rawDeadline)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "https://"+addr+"/early", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cc.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// earlySeen is what a handler saw of a request.
type earlySeen struct {
	early, field, handshakeDone bool
}

// earlyServer serves GET and POST /early, recording what each handler saw.
func earlyServer(t *testing.T, cfg Config) (*Server, func(method string) earlySeen) {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]earlySeen{}
	record := func(req *Request, res *Response) {
		mu.Lock()
		seen[req.Method] = earlySeen{req.EarlyData, headerValue(req.Header, "early-data") == "1", handshakeComplete(req.Conn().qc)}
		mu.Unlock()
		res.End([]byte(req.Method + " " + string(req.Body)))
	}
	s, _, _ := startServer(t, cfg, func(s *Server) {
		mustRoute(t, s, "GET", "/early", record)
		mustRoute(t, s, "POST", "/early", record)
	})
	return s, func(method string) earlySeen {
		mu.Lock()
		defer mu.Unlock()
		return seen[method]
	}
}

func addrOf(s *Server) string { return "127.0.0.1:" + strconv.Itoa(s.Port()) }

// TestZeroRTTRequests: a resumed client sends a GET and a POST in 0-RTT
// while its handshake is held back (handshakeDelayProxy): the GET is
// answered before the handshake completes, marked as early; the POST's
// handler runs only once the handshake is complete.
func TestZeroRTTRequests(t *testing.T) {
	s, seen := earlyServer(t, Config{})
	cache := newTicketCache()
	primeTicket(t, addrOf(s), cache)

	const hold = 300 * time.Millisecond
	proxy := startHandshakeDelayProxy(t, s.Port(), hold)
	qc, cc := dialEarly(t, proxy.Addr(), cache)
	post := openRaw(t, qc, append(request("POST", "/early", "content-length", "4"), data("body")...))
	post.Close()
	sent := time.Now()
	if status := roundTrip(t, cc, http3.MethodGet0RTT, proxy.Addr()); status != 200 {
		t.Fatalf("GET in 0-RTT: %d", status)
	}
	getDone := time.Since(sent)
	res := readResponse(post, nil)
	if res.status != 200 || res.body != "POST body" {
		t.Fatalf("POST in 0-RTT: %v", res)
	}
	postDone := time.Since(sent)
	if !qc.ConnectionState().Used0RTT {
		t.Fatal("the server did not accept 0-RTT")
	}
	if got := seen("GET"); got != (earlySeen{early: true, field: true, handshakeDone: false}) {
		t.Errorf("GET handler saw %+v, want early, with early-data: 1, before the handshake completed", got)
	}
	if got := seen("POST"); got != (earlySeen{early: false, field: false, handshakeDone: true}) {
		t.Errorf("POST handler saw %+v, want it to run once the handshake completed, unmarked", got)
	}
	if n := s.Stats().RequestsEarly; n != 2 {
		t.Errorf("RequestsEarly = %d, want 2", n)
	}
	// The server's flight and then the client's Finished were held: the
	// POST could not be answered before both.
	if postDone < 2*hold || proxy.Held() == 0 {
		t.Errorf("POST answered after %v (held %d datagrams), before the handshake could complete", postDone, proxy.Held())
	}
	t.Logf("GET answered after %v, POST after %v (hold %v each way)", getDone, postDone, hold)
}

// TestZeroRTTAcrossServers: a ticket from one server resumes with 0-RTT at
// another with the same ClusterSecret, not at one with another secret or
// with 0-RTT off.
func TestZeroRTTAcrossServers(t *testing.T) {
	secret := []byte("0123456789abcdef-cluster")
	issuer, _ := earlyServer(t, Config{ClusterSecret: secret})
	cache := newTicketCache()
	primeTicket(t, addrOf(issuer), cache)
	for _, tc := range []struct {
		name     string
		cfg      Config
		want0RTT bool
	}{
		{"same secret", Config{ClusterSecret: secret}, true},
		{"other secret", Config{ClusterSecret: []byte("another secret of the cluster")}, false},
		{"same secret, 0-RTT off", Config{ClusterSecret: secret, Disable0RTT: true}, false},
		{"same secret, other HTTP/3 settings", Config{ClusterSecret: secret, MaxHeaderBytes: 4096}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, seen := earlyServer(t, tc.cfg)
			var qc *quic.Conn
			if tc.want0RTT {
				proxy := startHandshakeDelayProxy(t, s.Port(), 50*time.Millisecond)
				var cc *http3.ClientConn
				qc, cc = dialEarly(t, proxy.Addr(), cache)
				if status := roundTrip(t, cc, http3.MethodGet0RTT, proxy.Addr()); status != 200 {
					t.Fatalf("GET in 0-RTT: %d", status)
				}
			} else {
				// A rejected 0-RTT makes quic-go's http3 client conn
				// unusable: only the handshake's outcome is checked.
				qc = dialEarlyQUIC(t, addrOf(s), cache)
			}
			select {
			case <-qc.HandshakeComplete():
			case <-time.After(rawDeadline):
				t.Fatal("no handshake")
			}
			if used := qc.ConnectionState().Used0RTT; used != tc.want0RTT {
				t.Fatalf("Used0RTT = %v, want %v", used, tc.want0RTT)
			}
			if tc.want0RTT && seen("GET") == (earlySeen{}) {
				t.Fatal("the GET did not reach the handler")
			}
		})
	}
}

// TestEarlyDataFromAnIntermediary: Early-Data: 1 on an unsafe request
// gets 425 Too Early (the server cannot wait for the intermediary's
// handshake); a safe one runs, marked.
func TestEarlyDataFromAnIntermediary(t *testing.T) {
	s, seen := earlyServer(t, Config{TCP: true})
	for _, tc := range []struct {
		name, method string
		status       int
		early        bool
	}{
		{"GET", "GET", 200, true},
		{"POST", "POST", 425, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := get(t, clienttest.HTTPClient(t), tc.method, "https://"+addrOf(s)+"/early", nil, "early-data", "1")
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status == 200 && seen(tc.method).early != tc.early {
				t.Fatalf("EarlyData = %v, want %v", seen(tc.method).early, tc.early)
			}
		})
	}
}
