package bridge

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/zig-h3/h3bun/client/clienttest"
	"github.com/zig-h3/h3bun/internal/abi"
	"github.com/zig-h3/h3bun/server"
)

// A connect to a port where nothing listens ends in EventClientClosed
// with an error code; a fetch started before it gets EventFetchError first.
func TestClientConnectFailure(t *testing.T) {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := udp.LocalAddr().String()
	udp.Close() // nothing listens there now
	c := NewClient(ClientConfig{ConnectTimeout: 300 * time.Millisecond})
	t.Cleanup(func() { Clients.Delete(c.Handle); c.Free() })
	q, _ := c.EventQueue()
	ev := &clientEvents{t: t, q: q}
	f := startFetch(t, c, false, false, "GET", "/")
	host, port := splitAddr(t, addr)
	if err := c.Connect(host, port, ""); err != nil {
		t.Fatal(err)
	}
	if o := ev.finish(f); o.last.Type != EventFetchError || o.last.ErrCode == 0 {
		t.Fatalf("fetch ended with %s", describe([]Event{o.last}))
	}
	closed := ev.typed(EventClientClosed)
	if closed.Handle != c.Handle || (closed.ErrCode != abi.ErrTimeout && closed.ErrCode != abi.ErrIO) {
		t.Fatalf("closed event %s", describe([]Event{closed}))
	}
	if _, err := c.StartFetch(&FetchRequest{Method: "GET", Path: "/", ContentLength: -1}, false, false); !errors.Is(err, server.ErrClosed) {
		t.Errorf("fetch after the failed connect: %v", err)
	}
	if err := c.Connect(host, port, ""); !errors.Is(err, server.ErrState) {
		t.Errorf("second connect: %v", err)
	}
}

// Certificate checks: the chain against a CA, or the leaf's pinned hash.
func TestClientCertificates(t *testing.T) {
	ca := clienttest.NewCA(t)
	signed := clienttest.NewServerWithCertificate(t, ca.Leaf(t))
	self := refServer(t)
	hash := self.CertificateHash()
	wrong := hash
	wrong[0] ^= 1
	caJSON := fmt.Sprintf(`{"ca": %q}`, ca.PEM)
	for _, tc := range []struct {
		name, opts, addr string
		ok               bool
	}{
		{"self-signed, verified", "", self.Addr, false},
		{"pinned", fmt.Sprintf(`{"serverCertificateHashes": [%q]}`, hex.EncodeToString(hash[:])), self.Addr, true},
		{"wrong pin", fmt.Sprintf(`{"serverCertificateHashes": [%q]}`, hex.EncodeToString(wrong[:])), self.Addr, false},
		{"CA-signed leaf", caJSON, signed.Addr, true},
		{"another CA", caJSON, self.Addr, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ev := queueClient(t, ClientConfig{VerifyPeer: true}, tc.opts, tc.addr)
			got := ev.next(func(e Event) bool { return e.Type == EventClientConnected || e.Type == EventClientClosed })
			if ok := got.Type == EventClientConnected; ok != tc.ok {
				t.Fatalf("connected %v, want %v (%s)", ok, tc.ok, describe([]Event{got}))
			}
			if !tc.ok && got.ErrCode != abi.ErrIO {
				t.Errorf("refused with code %d, want IO", got.ErrCode)
			}
		})
	}
}

func TestClientOptionsRejected(t *testing.T) {
	for _, spec := range []string{`{`, `{"ca": "no pem"}`, `{"serverCertificateHashes": ["00"]}`, `{"alpn": [""]}`} {
		c := NewClient(ClientConfig{})
		if err := c.SetOptions([]byte(spec)); !errors.Is(err, server.ErrInvalidArgument) {
			t.Errorf("%s: %v", spec, err)
		}
		Clients.Delete(c.Handle)
		c.Free()
	}
}

// Close ends the connection: EventClientClosed with code 0; fetches fail.
func TestClientClose(t *testing.T) {
	srv := refServer(t)
	c, ev := queueClient(t, ClientConfig{}, "", srv.Addr)
	ev.typed(EventClientConnected)
	f := startFetch(t, c, false, false, "GET", "/slow")
	time.Sleep(50 * time.Millisecond)
	if err := c.Close(0x100, "bye"); err != nil {
		t.Fatal(err)
	}
	if o := ev.finish(f); o.last.Type != EventFetchError {
		t.Fatalf("fetch: %v", o.events)
	}
	if closed := ev.typed(EventClientClosed); closed.ErrCode != 0 {
		t.Fatalf("closed: %s", describe([]Event{closed}))
	}
	if err := c.Close(0, ""); !errors.Is(err, server.ErrState) {
		t.Errorf("second close: %v", err)
	}
}

// The server's idle timeout (shorter than the client's) ends the connection.
func TestClientIdleTimeout(t *testing.T) {
	srv := refServer(t)
	_, ev := queueClient(t, ClientConfig{IdleTimeout: 300 * time.Millisecond}, "", srv.Addr)
	ev.typed(EventClientConnected)
	if closed := ev.typed(EventClientClosed); closed.ErrCode != abi.ErrTimeout {
		t.Fatalf("closed: %s", describe([]Event{closed}))
	}
}

// HTTP/3 datagrams on a fetch's flow are echoed by /h3dg/echo.
func TestClientH3Datagrams(t *testing.T) {
	srv := refServer(t)
	c, ev := queueClient(t, ClientConfig{EnableDatagrams: true}, "", srv.Addr)
	f := startFetch(t, c, true, true, "POST", "/h3dg/echo")
	if head := ev.of(f.Handle); head.Type != EventFetchHead || head.Status != 200 {
		t.Fatalf("head: %s", describe([]Event{head}))
	}
	got := echoDatagram(t, ev, f.Handle, EventH3Datagram, f.SendDatagram)
	if got != "dg" {
		t.Fatalf("echo %q", got)
	}
	if n := f.MaxDatagramSize(); n < 1000 {
		t.Errorf("max datagram size %d", n)
	}
	if _, err := f.Write(nil, true); err != nil {
		t.Fatal(err)
	}
	if o := ev.finish(f); o.last.Type != EventFetchEnd {
		t.Fatalf("events %v", o.events)
	}
	plain := startFetch(t, c, false, false, "GET", "/")
	if err := plain.SendDatagram([]byte("x")); !errors.Is(err, server.ErrState) {
		t.Errorf("datagram on a fetch without datagrams: %v", err)
	}
}

// echoDatagram sends "dg" with send until an event of type typ about h
// comes back (datagrams may be lost), and returns its data.
func echoDatagram(t *testing.T, ev *clientEvents, h uint64, typ uint8, send func([]byte) error) string {
	t.Helper()
	for range 50 {
		if err := send([]byte("dg")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		ev.poll()
		for i, e := range ev.backlog {
			if e.Type == typ && e.Handle == h {
				ev.backlog = append(ev.backlog[:i:i], ev.backlog[i+1:]...)
				return string(e.Data)
			}
		}
	}
	t.Fatal("no datagram came back")
	return ""
}

// Raw QUIC datagrams on a connection of another ALPN are echoed.
func TestClientRawDatagrams(t *testing.T) {
	srv := refServer(t)
	c, ev := queueClient(t, ClientConfig{}, fmt.Sprintf(`{"alpn": [%q]}`, clienttest.ALPN), srv.Addr)
	ev.typed(EventClientConnected)
	if c.MaxDatagramSize() < 1000 {
		t.Errorf("max datagram size %d", c.MaxDatagramSize())
	}
	if got := echoDatagram(t, ev, c.Handle, EventQUICDatagram, c.SendDatagram); got != "dg" {
		t.Fatalf("echo %q", got)
	}
	if _, err := c.StartFetch(&FetchRequest{Method: "GET", Path: "/", ContentLength: -1}, false, false); !errors.Is(err, server.ErrState) {
		t.Errorf("fetch on an alpn connection: %v", err)
	}
	if _, err := c.OpenWebTransport("/wt/echo", nil); !errors.Is(err, server.ErrState) {
		t.Errorf("session on an alpn connection: %v", err)
	}
}

// A server that closes the connection with an application code and reason
// ends the client with EventClientClosed (CLOSED, that code, the reason).
func TestClientPeerClose(t *testing.T) {
	cert := clienttest.NewCA(t).Leaf(t)
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{http3.NextProtoH3}}
	ln, err := quic.ListenAddr("127.0.0.1:0", tlsConf, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		conn, err := ln.Accept(context.Background())
		if err == nil {
			time.Sleep(100 * time.Millisecond)
			conn.CloseWithError(0x142, "server going away")
		}
	}()
	_, ev := queueClient(t, ClientConfig{}, "", ln.Addr().String())
	ev.typed(EventClientConnected)
	closed := ev.typed(EventClientClosed)
	if closed.ErrCode != abi.ErrClosed || closed.Code != 0x142 || !strings.Contains(string(closed.Data), "server going away") {
		t.Fatalf("closed %s", describe([]Event{closed}))
	}
}
