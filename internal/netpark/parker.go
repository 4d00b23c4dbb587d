// Package netpark lets an idle connection wait for input with no goroutine
// at all: its read loop parks the connection here and ends, and the
// Parker starts a new goroutine to resume it when input comes, the peer
// closes, a deadline passes or this side closes the connection (issue 20).
//
// A goroutine blocked in a read costs its stack (2 KiB at least) and its
// descriptor for as long as the connection is quiet; a chat participant's
// SIP and MSRP connections are quiet nearly all the time. A parked
// connection costs a Ticket and an entry in the kernel's interest list.
//
// On Linux the Parker is one epoll instance, watched by one goroutine,
// besides the Go runtime's own: each parked socket is registered in it,
// level-triggered and one-shot, so input that is already there when a
// connection parks wakes it at once and a wake-up is delivered once. On
// other systems New returns an error and callers keep waiting on a
// goroutine.
package netpark

import (
	"container/heap"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Wake is why a parked wait ended.
type Wake uint8

const (
	// WakeInput: the connection has input, or the peer closed or reset it.
	WakeInput Wake = iota + 1
	// WakeDeadline: the deadline given to Park passed.
	WakeDeadline
	// WakeCancel: Ticket.Cancel was called (this side closed the
	// connection).
	WakeCancel
	// WakeClosed: the Parker was closed.
	WakeClosed
)

func (w Wake) String() string {
	switch w {
	case WakeInput:
		return "input"
	case WakeDeadline:
		return "deadline"
	case WakeCancel:
		return "cancel"
	case WakeClosed:
		return "closed"
	}
	return "unknown"
}

// Parker watches parked connections. Its methods are safe for concurrent
// use; a nil *Parker parks nothing (Park reports false).
type Parker struct {
	sys  poller        // the system's readiness interface (epoll)
	done chan struct{} // closed when the watching goroutine has ended

	mu        sync.Mutex // a leaf: nothing else is locked under it
	tickets   map[uint64]*Ticket
	deadlines deadlineHeap // the tickets with a deadline, earliest first
	wakeAt    int64        // when the watcher will look at the deadlines next (Unix ns); 0: not before an event
	next      uint64       // the last ticket id handed out; 0 is the poller's own
	shut      bool         // Close was called

	// open: tickets may be parked; cleared under mu by Close or when the
	// watcher fails, read without it by Open (on every quiet SIP wait).
	open atomic.Bool
}

// Ticket is one parked wait. Its resume function runs exactly once, on a
// goroutine of its own.
type Ticket struct {
	p      *Parker
	id     uint64
	fired  atomic.Bool
	resume func(Wake)
	when   int64 // the deadline (Unix ns), 0: none; guarded by p.mu
	hidx   int   // its index in p.deadlines, -1 when not there; guarded by p.mu
}

// New returns a Parker and starts the goroutine that watches it, which
// Close ends. It fails where the system offers no way to watch sockets
// apart from the Go runtime (errors.ErrUnsupported off Linux).
func New() (*Parker, error) {
	sys, err := newPoller()
	if err != nil {
		return nil, err
	}
	p := &Parker{sys: sys, done: make(chan struct{}), tickets: make(map[uint64]*Ticket)}
	p.open.Store(true)
	go p.watch()
	return p, nil
}

// NewTicket returns a ticket for one parked wait, to be parked with
// Ticket.Park; a nil Parker returns nil. Making it first lets the caller
// publish it (for whoever closes the connection, Ticket.Cancel) before it
// can fire.
func (p *Parker) NewTicket(resume func(Wake)) *Ticket {
	if p == nil {
		return nil
	}
	return &Ticket{p: p, resume: resume, hidx: -1}
}

// Park registers the connection behind rc and reports whether it did (a
// ticket parks once). When it did, resume runs exactly once, on a new
// goroutine, when the connection has input or its peer closed it
// (WakeInput), at the deadline unless it is zero (WakeDeadline), at
// Ticket.Cancel (WakeCancel) or at Close (WakeClosed), whichever comes
// first, possibly before Park returns; the caller's goroutine may end.
// When it did not (t is nil, the Parker closed, the socket closed), the
// caller waits as it would have.
//
// Whatever the caller wrote before Park is visible to resume. A
// connection closed while it is parked is not noticed by the kernel's
// interest list (closing a socket removes it from it): whoever closes it
// must Cancel the Ticket.
func (t *Ticket) Park(rc syscall.RawConn, deadline time.Time) bool {
	if t == nil || t.id != 0 {
		return false
	}
	p := t.p
	// Everything that uses the poller's descriptors happens under p.mu
	// with p.open set: Close closes them only after clearing it.
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.open.Load() {
		return false
	}
	p.next++
	t.id = p.next
	var armErr error
	err := rc.Control(func(fd uintptr) { armErr = p.sys.arm(int(fd), t.id) })
	if err == nil {
		err = armErr
	}
	if err != nil {
		return false // nothing can have fired it: it was in no table
	}
	p.tickets[t.id] = t
	if !deadline.IsZero() {
		// The watcher keeps the deadlines (no timer per ticket); one
		// earlier than it plans to look must wake it.
		t.when = max(deadline.UnixNano(), 1)
		heap.Push(&p.deadlines, t)
		if p.wakeAt == 0 || t.when < p.wakeAt {
			p.sys.interrupt()
		}
	}
	return true
}

// Open reports whether the Parker still parks (it is not closed, its
// watcher has not failed).
func (p *Parker) Open() bool {
	if p == nil {
		return false
	}
	return p.open.Load()
}

// Cancel ends the wait now (WakeCancel) unless it has ended already. Call
// it after closing a parked connection.
func (t *Ticket) Cancel() {
	if t != nil {
		t.fire(WakeCancel)
	}
}

// fire resumes the wait unless it has been resumed already.
func (t *Ticket) fire(w Wake) {
	if t.claim() {
		go t.resume(w)
	}
}

// claim makes the ticket fired and forgets it; it reports whether this
// call did.
func (t *Ticket) claim() bool {
	if !t.fired.CompareAndSwap(false, true) {
		return false
	}
	p := t.p
	p.mu.Lock()
	delete(p.tickets, t.id)
	if t.hidx >= 0 {
		heap.Remove(&p.deadlines, t.hidx)
	}
	p.mu.Unlock()
	return true
}

// lookup returns the ticket with the id, or nil if it has fired.
func (p *Parker) lookup(id uint64) *Ticket {
	p.mu.Lock()
	t := p.tickets[id]
	p.mu.Unlock()
	return t
}

// Parked returns how many connections are parked.
func (p *Parker) Parked() int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.tickets)
}

// Close ends the watching goroutine and resumes every parked wait with
// WakeClosed; Park reports false from then on. It is idempotent and
// returns once the goroutine has ended.
func (p *Parker) Close() error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	first := !p.shut
	p.shut = true
	p.open.Store(false)
	parked := p.parkedLocked()
	if first {
		p.sys.interrupt()
	}
	p.mu.Unlock()
	<-p.done
	if first {
		p.sys.close() // nothing uses the descriptors now: open is cleared, the watcher has ended
	}
	for _, t := range parked {
		t.fire(WakeClosed)
	}
	return nil
}

// parkedLocked returns the parked tickets. p.mu is held.
func (p *Parker) parkedLocked() []*Ticket {
	parked := make([]*Ticket, 0, len(p.tickets))
	for _, t := range p.tickets {
		parked = append(parked, t)
	}
	return parked
}

// fail stops parking after the watcher's poller failed: what is parked
// resumes (WakeClosed), and Park reports false from now on.
func (p *Parker) fail() {
	p.mu.Lock()
	p.open.Store(false)
	parked := p.parkedLocked()
	p.mu.Unlock()
	for _, t := range parked {
		t.fire(WakeClosed)
	}
}

// watch is the Parker's goroutine: it resumes the waits whose sockets the
// poller reports ready and those whose deadline has passed, until Close.
func (p *Parker) watch() {
	defer close(p.done)
	ready := func(id uint64) {
		if t := p.lookup(id); t != nil {
			t.fire(WakeInput)
		}
	}
	var due []*Ticket
	for {
		timeout := p.plan(time.Now().UnixNano())
		if err := p.sys.wait(timeout, ready); err != nil {
			p.fail() // the poller is unusable
			return
		}
		p.mu.Lock()
		if p.shut {
			p.mu.Unlock()
			return
		}
		now := time.Now().UnixNano()
		for len(p.deadlines) > 0 && p.deadlines[0].when <= now {
			due = append(due, heap.Pop(&p.deadlines).(*Ticket))
		}
		p.mu.Unlock()
		for i, t := range due {
			t.fire(WakeDeadline)
			due[i] = nil
		}
		due = due[:0]
	}
}

// plan records when the watcher looks at the deadlines next and returns
// how long it may wait for events until then, in milliseconds (rounded
// up; -1: no deadline).
func (p *Parker) plan(now int64) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.deadlines) == 0 {
		p.wakeAt = 0
		return -1
	}
	p.wakeAt = p.deadlines[0].when
	if d := p.wakeAt - now; d > 0 {
		return int(min((d+int64(time.Millisecond)-1)/int64(time.Millisecond), 1<<30))
	}
	return 0
}

// deadlineHeap is a min-heap of tickets by deadline (container/heap).
type deadlineHeap []*Ticket

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].when < h[j].when }
func (h deadlineHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx, h[j].hidx = i, j
}
func (h *deadlineHeap) Push(x any) {
	t := x.(*Ticket)
	t.hidx = len(*h)
	*h = append(*h, t)
}
func (h *deadlineHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.hidx = -1
	return t
}
