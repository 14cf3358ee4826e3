package bridge

import (
	"encoding/binary"
	"sync"
	"syscall"
)

// EventStore holds the events of an EventQueue. The queue decides what may
// enter (closed, muted, which limits apply); the store keeps the events,
// rings the doorbell and hands them to the consumer. A store other than
// the package's own (NewEventStore) can be drained without Go, as the C
// face's is.
type EventStore interface {
	// Push appends ev, unless the store holds events already and ev would
	// pass its limits (force: whatever the limits). It reports whether ev was
	// taken, false only for a full store; the store then owns ev's buffer
	// (see eventbuf.go). The doorbell rings when the store goes from empty
	// to non-empty.
	Push(ev []byte, force bool) bool
	// Drain is EventQueue.Drain.
	Drain(dst []byte) (n, need int)
	// Space returns a channel closed once a Drain frees room after this
	// call (or the store closes).
	Space() <-chan struct{}
	// Len is the number of events held; NextSize the size of the oldest (0:
	// none).
	Len() int
	NextSize() int
	// Retire stops serving drains by the owner's handle (its server or
	// client is being freed); Drain still works.
	Retire()
	// Close discards the events and closes the channels from Space. The
	// store is not used afterwards.
	Close()
}

// NewEventStore, when set, makes the store of each new EventQueue: owner
// is the handle of the server or client the queue belongs to, fd the
// queue's doorbell. Set it once, before any queue is made; nil means the
// package's own store.
var NewEventStore func(owner uint64, fd int, maxEvents, maxBytes int) (EventStore, error)

// NewEventFD creates an eventfd (non-blocking, close-on-exec), the
// doorbell of a queue.
func NewEventFD() (int, error) {
	const efdCloexec, efdNonblock = 0x80000, 0x800
	fd, _, errno := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, efdCloexec|efdNonblock, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// ringEventFD makes an eventfd readable.
func ringEventFD(fd int) {
	var one [8]byte
	binary.LittleEndian.PutUint64(one[:], 1)
	_, _ = syscall.Write(fd, one[:]) // EAGAIN only if the counter is saturated: still readable
}

// memStore is the package's own EventStore: the events' buffers, in Go.
type memStore struct {
	fd                  int
	maxEvents, maxBytes int

	mu     sync.Mutex
	events [][]byte
	bytes  int
	space  chan struct{} // closed when Drain frees room; nil if nobody waits
}

// newMemStore makes a store whose doorbell is fd.
func newMemStore(fd, maxEvents, maxBytes int) *memStore {
	return &memStore{fd: fd, maxEvents: maxEvents, maxBytes: maxBytes}
}

// Push implements EventStore.
func (s *memStore) Push(ev []byte, force bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !force && len(s.events) > 0 && (len(s.events) >= s.maxEvents || s.bytes+len(ev) > s.maxBytes) {
		return false
	}
	s.events = append(s.events, ev)
	s.bytes += len(ev)
	if len(s.events) == 1 {
		ringEventFD(s.fd)
	}
	return true
}

// Drain implements EventStore.
func (s *memStore) Drain(dst []byte) (n, need int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := 0
	for ; i < len(s.events); i++ {
		ev := s.events[i]
		if n+len(ev) > len(dst) {
			if i == 0 {
				need = len(ev)
			}
			break
		}
		n += copy(dst[n:], ev)
		s.bytes -= len(ev)
		s.events[i] = nil
		putEventBuf(ev)
	}
	if i == 0 {
		return n, need
	}
	if i == len(s.events) {
		// Emptied: keep the backing array for the next batch, unless a
		// burst grew it far past what a batch usually holds.
		if cap(s.events) > 4096 {
			s.events = nil
		} else {
			s.events = s.events[:0]
		}
	} else {
		// Some did not fit: ring again, so that a consumer that drains once
		// per ring (Bun) comes back for them.
		s.events = s.events[i:]
		ringEventFD(s.fd)
	}
	s.wakeLocked()
	return n, need
}

// wakeLocked closes the channel of Space, if any. s.mu is held.
func (s *memStore) wakeLocked() {
	if s.space != nil {
		close(s.space)
		s.space = nil
	}
}

// Space implements EventStore.
func (s *memStore) Space() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.space == nil {
		s.space = make(chan struct{})
	}
	return s.space
}

// Len implements EventStore.
func (s *memStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

// NextSize implements EventStore.
func (s *memStore) NextSize() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.events) == 0 {
		return 0
	}
	return len(s.events[0])
}

// Retire implements EventStore: drains by handle are the C face's.
func (s *memStore) Retire() {}

// Close implements EventStore.
func (s *memStore) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range s.events {
		putEventBuf(ev)
	}
	s.events, s.bytes = nil, 0
	s.wakeLocked()
}
