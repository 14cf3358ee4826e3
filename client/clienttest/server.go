// Package clienttest provides a reference HTTP/3 and WebTransport server
// for testing clients, built from quic-go, http3 and webtransport-go
// alone, on 127.0.0.1 with a self-signed certificate.
package clienttest

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"
)

// ALPN is the extra ALPN whose connections carry only raw datagrams.
const ALPN = "zig-h3-test"

// connKey is the context key under which the reference server's
// ConnContext stores the *quic.Conn of a request.
type connKey struct{}

// Server is the reference server:
//   - ALPN "zig-h3-test": every QUIC datagram is echoed;
//   - ALPN "h3": HTTP/3 and WebTransport. GET / answers "ok" and, when the
//     client's SETTINGS do not enable HTTP/3 datagrams, starts echoing the
//     connection's raw QUIC datagrams (http3 does not read them then);
//   - /echo: the request body echoed (200), the request method in the
//     header "x-method";
//   - /h3dg/echo: HTTP/3 datagrams echoed on the request stream until the
//     request body ends;
//   - /wt/echo: WebTransport echo (datagrams; bidi streams echoed and
//     closed; a client uni stream answered by a server uni stream);
//   - /wt/reject: 403;
//   - /wt/close: the datagram "close" closes the session with 42 "server
//     bye"; a session closed by the client is reported on clientCloses;
//   - /wt/server-streams: the server opens a bidi stream ("ping", then it
//     reads the reply into pongs) and a uni stream ("hello uni");
//   - the routes of handleResponses (responses.go): large, truncated,
//     reset and trailer-carrying responses.
type Server struct {
	// Addr is the server's UDP address, 127.0.0.1:port.
	Addr string
	// Certificate is the server's certificate (self-signed, for 127.0.0.1,
	// unless given).
	Certificate tls.Certificate
	// ClientCloses receives the WT_CLOSE_SESSION of each session on
	// /wt/close that the client closed.
	ClientCloses chan *webtransport.SessionError
	// Pongs receives what the client wrote back on /wt/server-streams.
	Pongs chan string

	wt      *webtransport.Server
	rawEcho sync.Map // *quic.Conn -> bool: raw echo started
}

// NewServer starts a reference server on 127.0.0.1 with a self-signed
// certificate; it stops when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	return NewServerWithCertificate(t, newCert(t))
}

// NewServerWithCertificate is NewServer with the certificate cert (see
// NewCA for one signed by a test CA).
func NewServerWithCertificate(t testing.TB, cert tls.Certificate) *Server {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	tr := &quic.Transport{Conn: udp}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{http3.NextProtoH3, ALPN}}
	ln, err := tr.Listen(tlsConf, &quic.Config{EnableDatagrams: true, EnableStreamResetPartialDelivery: true})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{
		Addr:         udp.LocalAddr().String(),
		Certificate:  cert,
		ClientCloses: make(chan *webtransport.SessionError, 4),
		Pongs:        make(chan string, 4),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", s.handleRoot)
	mux.HandleFunc("/echo", handleEcho)
	mux.HandleFunc("/h3dg/echo", s.handleH3Echo)
	mux.HandleFunc("/wt/echo", s.session(s.wtEcho))
	mux.HandleFunc("/wt/reject", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) })
	mux.HandleFunc("/wt/close", s.session(s.wtClose))
	mux.HandleFunc("/wt/server-streams", s.session(s.wtServerStreams))
	handleResponses(mux)
	h3 := &http3.Server{
		Handler:         mux,
		EnableDatagrams: true,
		ConnContext: func(ctx context.Context, c *quic.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	s.wt = &webtransport.Server{H3: h3, CheckOrigin: func(*http.Request) bool { return true }}
	go func() {
		for {
			conn, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			switch conn.ConnectionState().TLS.NegotiatedProtocol {
			case ALPN:
				go echoRaw(conn)
			default:
				go s.wt.ServeQUICConn(conn)
			}
		}
	}()
	t.Cleanup(func() {
		s.wt.Close()
		ln.Close()
		tr.Close()
	})
	return s
}

// echoRaw sends every QUIC datagram of conn back until conn closes.
func echoRaw(conn *quic.Conn) {
	for {
		b, err := conn.ReceiveDatagram(context.Background())
		if err != nil || conn.SendDatagram(b) != nil {
			return
		}
	}
}

// peerSettings waits (up to 2 s) for the client's SETTINGS.
func peerSettings(w http.ResponseWriter) *http3.Settings {
	st, ok := w.(http3.Settingser)
	if !ok {
		return nil
	}
	select {
	case <-st.ReceivedSettings():
		return st.Settings()
	case <-time.After(2 * time.Second):
		return nil
	}
}

// handleRoot answers "ok"; on a connection whose client did not enable
// HTTP/3 datagrams it starts the raw datagram echo first.
func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	if st := peerSettings(w); st != nil && !st.EnableDatagrams {
		conn := r.Context().Value(connKey{}).(*quic.Conn)
		if _, started := s.rawEcho.LoadOrStore(conn, true); !started {
			go echoRaw(conn)
		}
	}
	io.WriteString(w, "ok")
}

// handleEcho answers with the request body and the method in x-method.
func handleEcho(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-method", r.Method)
	io.Copy(w, r.Body)
}

// handleH3Echo echoes HTTP/3 datagrams on the request stream until the
// request body ends, then ends the response.
func (s *Server) handleH3Echo(w http.ResponseWriter, r *http.Request) {
	if st := peerSettings(w); st == nil || !st.EnableDatagrams {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
	str := w.(http3.HTTPStreamer).HTTPStream()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			b, err := str.ReceiveDatagram(ctx)
			if err != nil || str.SendDatagram(b) != nil {
				return
			}
		}
	}()
	io.Copy(io.Discard, str)
	str.Close()
}

// session upgrades to a WebTransport session, runs fn and waits for the
// session to end.
func (s *Server) session(fn func(*webtransport.Session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.wt.Upgrade(w, r)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		fn(sess)
		<-sess.Context().Done()
	}
}

// wtEcho starts the WebTransport echo behaviours.
func (s *Server) wtEcho(sess *webtransport.Session) {
	ctx := sess.Context()
	go func() {
		for {
			b, err := sess.ReceiveDatagram(ctx)
			if err != nil || sess.SendDatagram(b) != nil {
				return
			}
		}
	}()
	go func() {
		for {
			str, err := sess.AcceptStream(ctx)
			if err != nil {
				return
			}
			go func() {
				io.Copy(str, str)
				str.Close()
			}()
		}
	}()
	go func() {
		for {
			in, err := sess.AcceptUniStream(ctx)
			if err != nil {
				return
			}
			go func() {
				b, err := io.ReadAll(in)
				if err != nil {
					return
				}
				out, err := sess.OpenUniStreamSync(ctx)
				if err != nil {
					return
				}
				out.Write(b)
				out.Close()
			}()
		}
	}()
}

// wtClose closes the session on the datagram "close" and reports a close
// by the client.
func (s *Server) wtClose(sess *webtransport.Session) {
	go func() {
		for {
			b, err := sess.ReceiveDatagram(context.Background())
			if err != nil {
				return
			}
			if string(b) == "close" {
				sess.CloseWithError(42, "server bye")
				return
			}
		}
	}()
	go func() {
		_, err := sess.AcceptStream(context.Background())
		if se, ok := errors.AsType[*webtransport.SessionError](err); ok && se.Remote {
			s.ClientCloses <- se
		}
	}()
}

// wtServerStreams opens a bidi and a uni stream to the client.
func (s *Server) wtServerStreams(sess *webtransport.Session) {
	ctx := sess.Context()
	go func() {
		str, err := sess.OpenStreamSync(ctx)
		if err != nil {
			return
		}
		str.Write([]byte("ping"))
		str.Close()
		b, err := io.ReadAll(str)
		if err == nil {
			s.Pongs <- string(b)
		}
	}()
	go func() {
		str, err := sess.OpenUniStreamSync(ctx)
		if err != nil {
			return
		}
		str.Write([]byte("hello uni"))
		str.Close()
	}()
}

// CertificateHash is the SHA-256 of the DER of the server's certificate
// (for certificate pinning).
func (s *Server) CertificateHash() [sha256.Size]byte {
	return sha256.Sum256(s.Certificate.Certificate[0])
}

// CertPool is a pool holding the server's certificate as a root.
func (s *Server) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	leaf, err := x509.ParseCertificate(s.Certificate.Certificate[0])
	if err == nil {
		pool.AddCert(leaf)
	}
	return pool
}

// newCert makes a self-signed certificate for 127.0.0.1 and localhost.
// (Not server.DevCertificate: server's tests use this package.)
func newCert(t testing.TB) tls.Certificate {
	t.Helper()
	der, key := issue(t, serverTemplate(1, "clienttest"), nil)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// Context returns a context that ends after 8 s or with the test, to
// bound one scenario.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	t.Cleanup(cancel)
	return ctx
}
