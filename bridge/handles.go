package bridge

import (
	"sync"
	"sync/atomic"
)

// Kind is a kind of handle. Handles are numbers, never addresses: each kind
// has its own range, above every user-space address on x86-64 (2^47) and
// below 2^53, so a handle travels as an opaque C pointer that the Go
// garbage collector never mistakes for a heap pointer, as an exact
// JavaScript number, and is never valid as a handle of another kind.
type Kind uint8

// The kinds of handles.
const (
	KindServer Kind = iota
	KindResponse
	KindConn
	KindSession
	KindStream
	KindClient
	KindFetch
)

// bases lists the first handle of each kind, the one list of bases.
var bases = [...]uint64{
	KindServer:   1 << 49,
	KindResponse: 1 << 50,
	KindConn:     1 << 51,
	KindSession:  1 << 52,
	KindStream:   1<<52 + 1<<51,
	KindClient:   1<<52 + 1<<51 + 1<<50,
	KindFetch:    1<<52 + 1<<51 + 1<<50 + 1<<49,
}

// Handle is the handle of the object numbered n (from 1) of a kind.
func (k Kind) Handle(n uint64) uint64 { return bases[k] + n }

// Limit is the first value past the handles of kind k. The bases increase
// with the kinds: the next kind's base (2^53 after the last) ends a kind's
// range.
func (k Kind) Limit() uint64 {
	if int(k)+1 < len(bases) {
		return bases[k+1]
	}
	return 1 << 53
}

// Number is the inverse of Handle; ok is false for a value that is not a
// handle of kind k.
func (k Kind) Number(h uint64) (n uint64, ok bool) {
	if h <= bases[k] || h >= k.Limit() {
		return 0, false
	}
	return h - bases[k], true
}

// Table maps the handles of one kind to their objects. Handles are never
// reused: a removed handle stays unknown.
type Table[T any] struct {
	kind Kind
	last atomic.Uint64
	m    sync.Map // uint64 handle -> T
}

// The handle tables of the process.
var (
	Servers   = &Table[*Server]{kind: KindServer}
	Responses = &Table[*Response]{kind: KindResponse}
	Sessions  = &Table[*Session]{kind: KindSession}
	Streams   = &Table[*Stream]{kind: KindStream}
	Clients   = &Table[*Client]{kind: KindClient}
	Fetches   = &Table[*Fetch]{kind: KindFetch}
)

// New returns a handle of the table's kind never given before. Set up the
// object with it, then Store it: a handle can be guessed as soon as it is
// stored.
func (t *Table[T]) New() uint64 { return t.kind.Handle(t.last.Add(1)) }

// Store makes h (from New, or the Handle of a number unique in the
// process) the handle of v.
func (t *Table[T]) Store(h uint64, v T) { t.m.Store(h, v) }

// Get returns the object of handle h.
func (t *Table[T]) Get(h uint64) (T, bool) {
	v, ok := t.m.Load(h)
	if !ok {
		var zero T
		return zero, false
	}
	return v.(T), true
}

// Take returns the object of handle h and removes it, in one step: of
// calls racing to take one handle, exactly one gets it.
func (t *Table[T]) Take(h uint64) (T, bool) {
	v, ok := t.m.LoadAndDelete(h)
	if !ok {
		var zero T
		return zero, false
	}
	return v.(T), true
}

// Delete removes handle h.
func (t *Table[T]) Delete(h uint64) { t.m.Delete(h) }
