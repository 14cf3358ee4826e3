package bridge

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/zig-h3/h3bun/client/clienttest"
	"github.com/zig-h3/h3bun/server"
)

// eventWait bounds every wait for an event.
const eventWait = 10 * time.Second

// queueClient makes a client in event-queue mode with options (JSON, ""
// for none), connected to the reference server at addr; it is freed when
// the test ends.
func queueClient(t *testing.T, cfg ClientConfig, opts, addr string) (*Client, *clientEvents) {
	t.Helper()
	c := NewClient(cfg)
	t.Cleanup(func() {
		if _, ok := Clients.Take(c.Handle); ok {
			c.Free()
		}
	})
	q, err := c.EventQueue()
	if err != nil {
		t.Fatal(err)
	}
	if opts != "" {
		if err := c.SetOptions([]byte(opts)); err != nil {
			t.Fatal(err)
		}
	}
	host, port := splitAddr(t, addr)
	if err := c.Connect(host, port, ""); err != nil {
		t.Fatal(err)
	}
	return c, &clientEvents{t: t, q: q}
}

func splitAddr(t *testing.T, addr string) (string, int) {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(p)
	return host, port
}

// clientEvents reads a client's queue.
type clientEvents struct {
	t       *testing.T
	q       *EventQueue
	backlog []Event
}

// poll drains the queue into the backlog (the data copied out).
func (e *clientEvents) poll() {
	buf := make([]byte, 1<<20)
	for {
		n, need := e.q.Drain(buf)
		if n == 0 {
			if need == 0 {
				return
			}
			buf = make([]byte, need)
			continue
		}
		evs, err := Decode(append([]byte(nil), buf[:n]...))
		if err != nil {
			e.t.Fatalf("decode: %v", err)
		}
		e.backlog = append(e.backlog, evs...)
	}
}

// next returns (and removes) the first event that match accepts, waiting
// for it up to eventWait.
func (e *clientEvents) next(match func(Event) bool) Event {
	e.t.Helper()
	deadline := time.Now().Add(eventWait)
	for {
		e.poll()
		for i, ev := range e.backlog {
			if match(ev) {
				e.backlog = append(e.backlog[:i:i], e.backlog[i+1:]...)
				return ev
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no matching event after %v; backlog %s", eventWait, describe(e.backlog))
		}
		time.Sleep(time.Millisecond)
	}
}

// of returns the next event about handle h.
func (e *clientEvents) of(h uint64) Event {
	e.t.Helper()
	return e.next(func(ev Event) bool { return ev.Handle == h })
}

// typed returns the next event of type typ.
func (e *clientEvents) typed(typ uint8) Event {
	e.t.Helper()
	return e.next(func(ev Event) bool { return ev.Type == typ })
}

// none checks that no event about h arrives for a while.
func (e *clientEvents) none(h uint64, d time.Duration) {
	e.t.Helper()
	time.Sleep(d)
	e.poll()
	for _, ev := range e.backlog {
		if ev.Handle == h {
			e.t.Fatalf("unexpected event %s", describe([]Event{ev}))
		}
	}
}

func describe(evs []Event) string {
	s := "["
	for _, ev := range evs {
		s += " type " + strconv.Itoa(int(ev.Type)) + " handle " + strconv.FormatUint(ev.Handle, 16) +
			" code " + strconv.Itoa(int(ev.ErrCode)) + " " + strconv.Quote(string(ev.Data[:min(len(ev.Data), 80)]))
	}
	return s + " ]"
}

// outcome is how a fetch ended, as its events told.
type outcome struct {
	head    Event // EventFetchHead (Type 0 if none)
	body    []byte
	last    Event // EventFetchEnd or EventFetchError
	events  []uint8
	writers int // EventWritable events
}

// finish reads the events of fetch f until its last, acknowledging the
// body as it arrives.
func (e *clientEvents) finish(f *Fetch) outcome {
	e.t.Helper()
	var o outcome
	for {
		ev := e.of(f.Handle)
		o.events = append(o.events, ev.Type)
		switch ev.Type {
		case EventFetchHead:
			o.head = ev
		case EventFetchData:
			o.body = append(o.body, ev.Data...)
			if err := f.Ack(len(ev.Data)); err != nil {
				e.t.Fatal(err)
			}
		case EventWritable:
			o.writers++
		case EventFetchEnd, EventFetchError:
			o.last = ev
			return o
		}
	}
}

// field returns the value of the first field named name.
func field(fields []server.HeaderField, name string) string {
	for _, f := range fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// startFetch starts a queue-mode fetch of a head block.
func startFetch(t *testing.T, c *Client, body, dgrams bool, head ...string) *Fetch {
	t.Helper()
	var block []byte
	for _, s := range head {
		block = append(append(block, s...), 0)
	}
	r, err := ParseFetchHead(block)
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.StartFetch(r, body, dgrams)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// refServer is the reference server of client/clienttest.
var refServer = clienttest.NewServer
