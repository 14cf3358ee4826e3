package bridge

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zig-h3/h3bun/server"
)

// ClientConfig is a client's configuration (zig_h3_client_config).
type ClientConfig struct {
	// VerifyPeer verifies the server's certificate chain (against the
	// system roots or the "ca" option); without it any certificate is
	// accepted, unless pinned with "serverCertificateHashes".
	VerifyPeer bool
	// EnableDatagrams negotiates QUIC datagrams and, on "h3", HTTP/3 datagrams.
	EnableDatagrams bool
	// EnableWebTransport allows WebTransport sessions (implies datagrams).
	EnableWebTransport bool
	// Debug writes connection events to stderr.
	Debug bool
	// IdleTimeout closes the connection after this long without traffic
	// (0: 30 s); RequestTimeout bounds each fetch, from start to end (0: no
	// limit); ConnectTimeout bounds the connect (0: 10 s).
	IdleTimeout, RequestTimeout, ConnectTimeout time.Duration
}

// Defaults of ClientConfig.
const (
	defaultIdleTimeout    = 30 * time.Second
	defaultConnectTimeout = 10 * time.Second
	// clientWaitLimit bounds how long closing a client waits for its
	// fetches to report their end.
	clientWaitLimit = 5 * time.Second
)

// clientState is where a client is in its life.
type clientState int

const (
	clientNew        clientState = iota // Connect not called yet
	clientConnecting                    // dialing
	clientConnected                     // the connection is up
	clientClosed                        // the connection failed or ended
)

// Client is one QUIC connection to one origin (zig_h3_client): HTTP/3
// requests (fetches), HTTP/3 datagrams, WebTransport sessions and raw QUIC
// datagrams. In event-queue mode (EventQueue called before Connect)
// everything it reports goes to its own queue; in callback mode to the
// functions its consumer gave.
type Client struct {
	Handle uint64
	cfg    ClientConfig

	mu         sync.Mutex
	opts       clientOptions
	state      clientState
	queue      *EventQueue
	freed      bool
	conn       *clientConn
	end        *EndError     // why the connection failed or ended
	ready      chan struct{} // closed when the connect is over, either way
	dialCancel context.CancelFunc
	closing    bool // Close was called
	authority  string
	remote     string
	fetches    map[*Fetch]struct{}
	byStream   map[uint64]*Fetch // callback-mode fetches by stream id
	sessions   map[*Session]struct{}
	work       sync.WaitGroup // fetch goroutines

	muted            atomic.Bool // the client's own events (CLIENT_*) are over
	calls            callGate    // onDatagram's calls: none once the client is freed
	onDatagram       atomic.Pointer[func(flow uint64, p []byte)]
	datagramsDropped atomic.Uint64
}

// NewClient makes a client and gives it a handle.
func NewClient(cfg ClientConfig) *Client {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = defaultIdleTimeout
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	if cfg.EnableWebTransport {
		cfg.EnableDatagrams = true
	}
	c := &Client{Handle: Clients.New(), cfg: cfg, ready: make(chan struct{}),
		fetches: map[*Fetch]struct{}{}, byStream: map[uint64]*Fetch{}, sessions: map[*Session]struct{}{}}
	Clients.Store(c.Handle, c)
	return c
}

// Config returns the client's configuration (with its defaults).
func (c *Client) Config() ClientConfig { return c.cfg }

// SetOptions applies options given as JSON (zig_h3_client_set_options);
// only before Connect.
func (c *Client) SetOptions(spec []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != clientNew || c.freed {
		return fmt.Errorf("%w: options are set before connect", server.ErrState)
	}
	o := c.opts
	if err := decodeClientOptions(spec, &o); err != nil {
		return err
	}
	c.opts = o
	return nil
}

// EventQueue returns the client's event queue, creating it on first use:
// the client is in event-queue mode from then on. Once connected in
// callback mode it is too late (ErrState).
func (c *Client) EventQueue() (*EventQueue, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.freed {
		return nil, ErrServerClosed
	}
	if c.queue != nil {
		return c.queue, nil
	}
	if c.state != clientNew {
		return nil, fmt.Errorf("%w: the client connected in callback mode", server.ErrState)
	}
	q, err := newEventQueue(c.Handle, DefaultQueueEvents, DefaultQueueBytes)
	if err != nil {
		return nil, err
	}
	c.queue = q
	return q, nil
}

// ExistingEventQueue returns the event queue, or ErrState if there is none.
func (c *Client) ExistingEventQueue() (*EventQueue, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.queue == nil {
		return nil, fmt.Errorf("%w: the client has no event queue", server.ErrState)
	}
	return c.queue, nil
}

// queued reports whether the client is in event-queue mode.
func (c *Client) queued() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queue != nil
}

// Pending returns the number of events waiting in the queue (0 without one).
func (c *Client) Pending() int {
	if q, err := c.ExistingEventQueue(); err == nil {
		return q.Len()
	}
	return 0
}

// Connect connects to host:port with sni as the TLS server name (empty:
// host). In event-queue mode it returns at once (EventClientConnected or
// EventClientClosed follows); in callback mode when the connection is up
// or failed.
func (c *Client) Connect(host string, port int, sni string) error {
	if host == "" || port <= 0 || port > 65535 {
		return fmt.Errorf("%w: connect needs a host and a port", server.ErrInvalidArgument)
	}
	name := sni
	if name == "" {
		name = host
	}
	c.mu.Lock()
	if c.state != clientNew || c.freed {
		c.mu.Unlock()
		return fmt.Errorf("%w: the client connected already (one connection per client)", server.ErrState)
	}
	opts, queued := c.opts, c.queue != nil
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.ConnectTimeout)
	c.state, c.dialCancel = clientConnecting, cancel
	c.authority = authority(name, port)
	c.remote = net.JoinHostPort(host, strconv.Itoa(port))
	c.mu.Unlock()
	go c.dial(ctx, cancel, c.remote, name, opts)
	if queued {
		return nil
	}
	<-c.ready
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == clientConnected {
		return nil
	}
	return c.end
}

// authority is the :authority of requests to host (a name or an address)
// on port: the port is left out when it is 443.
func authority(host string, port int) string {
	if port == 443 {
		if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// Close closes the connection with an application error code and reason
// (the client stays allocated); a connect in progress is abandoned. The
// connection's end is reported as for a peer's close, with code 0.
func (c *Client) Close(code uint32, reason string) error {
	if len(reason) > server.MaxCloseReason {
		return fmt.Errorf("%w: the close reason is longer than %d bytes", server.ErrInvalidArgument, server.MaxCloseReason)
	}
	c.mu.Lock()
	state, conn, cancel := c.state, c.conn, c.dialCancel
	ok := !c.freed && !c.closing && (state == clientConnecting || state == clientConnected)
	if ok {
		c.closing = true
	}
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: the client is not connected", server.ErrState)
	}
	if state == clientConnecting {
		cancel()
		return nil
	}
	conn.close(code, reason)
	return nil
}

// Free closes the connection (H3_NO_ERROR), ends every fetch and session
// (a callback-mode consumer hears of their end first), discards the queue
// and retires the handle. The caller took the handle out of Clients.
func (c *Client) Free() {
	c.mu.Lock()
	if c.freed {
		c.mu.Unlock()
		return
	}
	c.freed, c.closing = true, true
	conn, cancel, q := c.conn, c.dialCancel, c.queue
	fetches, sessions := c.takeAllLocked()
	c.mu.Unlock()
	if q != nil {
		q.Mute(&c.muted) // queued events are discarded below: nothing more
		q.Retire()       // no drain by the retired handle from now on
	}
	if cancel != nil {
		cancel()
	}
	gone := endErr(server.ErrClosed, "the client was freed")
	for _, f := range fetches {
		f.abort(gone, h3RequestCancelled)
	}
	for _, s := range sessions {
		s.client.end() // its last event first
		s.Free()
	}
	if conn != nil {
		conn.close(h3NoError, "")
	}
	c.waitFetches()
	c.calls.close() // no datagram callback runs once Free returns
	if q != nil {
		q.Close()
	}
}

// takeAllLocked empties the client's fetch and session sets.
func (c *Client) takeAllLocked() ([]*Fetch, []*Session) {
	fetches := make([]*Fetch, 0, len(c.fetches))
	for f := range c.fetches {
		fetches = append(fetches, f)
	}
	sessions := make([]*Session, 0, len(c.sessions))
	for s := range c.sessions {
		sessions = append(sessions, s)
	}
	return fetches, sessions
}

// waitFetches waits, up to clientWaitLimit, for the fetch goroutines to
// have reported their end.
func (c *Client) waitFetches() {
	done := make(chan struct{})
	go func() {
		c.work.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(clientWaitLimit):
	}
}

// push adds one of the client's own events to its queue, if it has one.
func (c *Client) push(ev []byte, last bool) {
	c.mu.Lock()
	q := c.queue
	c.mu.Unlock()
	if q == nil {
		putEventBuf(ev)
		return
	}
	_ = q.pushControl(ev, &c.muted, last)
}

// SetDatagramHandler sets the function that receives the datagrams of the
// connection in callback mode (flow: the request's quarter stream id, or
// FlowIDRaw for a raw QUIC datagram); nil removes it.
func (c *Client) SetDatagramHandler(f func(flow uint64, p []byte)) {
	if f == nil {
		c.onDatagram.Store(nil)
		return
	}
	c.onDatagram.Store(&f)
}

// DatagramsDropped counts received datagrams dropped because the queue
// was full.
func (c *Client) DatagramsDropped() uint64 { return c.datagramsDropped.Load() }
