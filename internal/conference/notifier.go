package conference

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-im/parley/confinfo"
	"github.com/parley-im/parley/internal/room"
)

// Notifier is the notifier of the conference event package (RFC 4575) for
// every room of the focus. See the package documentation.
type Notifier struct {
	sender   Sender
	interval time.Duration
	uris     func(*room.Room) []string
	log      *slog.Logger

	mu     sync.Mutex // guards rooms and closed; before any roster.mu
	rooms  map[*room.Room]*roster
	closed bool

	live      atomic.Int64 // subscriptions in some roster's subs
	draining  atomic.Bool  // Shutdown has ended every subscription it will
	drained   chan struct{}
	drainOnce sync.Once

	notifies atomic.Uint64
	full     atomic.Uint64
	bytes    atomic.Uint64
	dropped  atomic.Uint64
}

// Joined adds p to rm's roster: a user (keyed by p.URI) with an endpoint
// (p.Endpoint, status pending until Bound). It implements focus.Roster.
// A participant already in the roster is ignored.
func (n *Notifier) Joined(rm *room.Room, p *room.Participant) {
	n.update(rm, true, func(r *roster) (string, bool) { return r.join(p) })
}

// Left removes p's endpoint, and its user when that was its last endpoint.
func (n *Notifier) Left(rm *room.Room, p *room.Participant) {
	n.update(rm, false, func(r *roster) (string, bool) { return r.leave(p) })
}

// Bound marks p's endpoint connected: its MSRP session is bound. Calling it
// again (a re-INVITE) changes nothing; a participant not in the roster is
// ignored.
func (n *Notifier) Bound(rm *room.Room, p *room.Participant) {
	n.update(rm, false, func(r *roster) (string, bool) { return r.bind(p) })
}

// NicknameChanged sets the nickname of p's endpoint ("" removes it); its
// user's xcon:nickname is the most recently set nickname that one of its
// endpoints holds. A participant not in the roster is ignored.
func (n *Notifier) NicknameChanged(rm *room.Room, p *room.Participant, nick string) {
	n.update(rm, false, func(r *roster) (string, bool) { return r.setNickname(p, nick) })
}

// update applies a change to rm's roster (creating it if create) and
// notifies the subscribers that may be notified now.
func (n *Notifier) update(rm *room.Room, create bool, change func(*roster) (string, bool)) {
	r := n.lockRoster(rm, create)
	if r == nil {
		return
	}
	if r.state != rosterLive {
		r.mu.Unlock()
		return
	}
	entity, changed := change(r)
	if !changed {
		n.finish(r, nil)
		return
	}
	r.record(entity)
	now := time.Now()
	var out []outgoing
	// Backwards: a subscription that ends in next (expired) swaps the
	// last one, already seen, into its place.
	for i := len(r.subs) - 1; i >= 0; i-- {
		if o, ok := r.subs[i].next(now); ok {
			if out == nil {
				out = make([]outgoing, 0, i+1)
			}
			out = append(out, o)
		}
	}
	r.trim()
	n.finish(r, out)
}

// RoomDeleted ends every subscription to rm with a final NOTIFY
// (Subscription-State: terminated;reason=noresource, a document with no
// users and active false) and forgets rm. Idempotent. A Subscribe to rm
// that races it may find a fresh roster: call RoomDeleted again after
// such a Subscribe when the room turns out deleted.
func (n *Notifier) RoomDeleted(rm *room.Room) {
	n.mu.Lock()
	r := n.rooms[rm]
	if r != nil {
		delete(n.rooms, rm)
	}
	n.mu.Unlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	out := r.delete(time.Now())
	n.finish(r, out)
}

// delete ends r: every subscription gets the deleted room's document as
// its final NOTIFY (after the one in flight, if any). Under r.mu.
func (r *roster) delete(now time.Time) []outgoing {
	if r.state == rosterDeleted {
		return nil
	}
	r.state = rosterDeleted
	var out []outgoing
	for i := len(r.subs) - 1; i >= 0; i-- {
		s := r.subs[i]
		s.closeWith(reasonNoResource, true)
		if o, ok := s.next(now); ok {
			out = append(out, o)
		}
	}
	r.forget()
	return out
}

// Subscribe adds a subscription to rm for expires and sends it the full
// document at once, with version 1. entity is the conference URI the
// document names (the Request-URI the subscriber used, without
// parameters). handle identifies the subscription's dialog to the Sender;
// SendNotify may be called before Subscribe returns. An expires of zero or
// less makes that first NOTIFY the final one (terminated;reason=timeout).
// A subscription to a room being deleted gets terminated;reason=noresource
// at once. After Shutdown, Subscribe sends nothing and returns an ended
// Subscription.
func (n *Notifier) Subscribe(rm *room.Room, entity string, handle any, expires time.Duration) *Subscription {
	s := &Subscription{n: n, rm: rm, handle: handle, idx: -1}
	s.done = s.onDone
	head, err := rootHead(clean(entity))
	if err != nil { // cannot happen: entity is cleaned
		n.log.Error("conference: subscription refused", "room", rm.Name, "error", err)
		s.ended = true
		return s
	}
	s.head = head
	r := n.lockRoster(rm, true)
	if r == nil {
		s.ended = true
		return s
	}
	s.r = r
	now := time.Now()
	s.cursor = r.seq
	s.needFull = true
	s.expiresAt = now.Add(expires)
	switch {
	case r.state == rosterDeleted:
		s.closeWith(reasonNoResource, true)
	case expires <= 0:
		r.addSub(s)
		n.live.Add(1)
		s.closeWith(reasonTimeout, false)
	default:
		r.addSub(s)
		n.live.Add(1)
		s.armExpiry(expires)
	}
	o, ok := s.next(now)
	n.finish(r, one(o, ok))
	return s
}

// Shutdown ends every subscription with terminated;reason=noresource and
// stops every timer; later calls, and every other method called after it,
// do nothing. It waits, bounded by ctx, until every final NOTIFY has been
// handed to the Sender (those behind a NOTIFY in flight wait for its
// done); the NOTIFYs' transactions are the Sender's to wait for.
func (n *Notifier) Shutdown(ctx context.Context) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	rosters := make([]*roster, 0, len(n.rooms))
	for _, r := range n.rooms {
		rosters = append(rosters, r)
	}
	n.rooms = nil
	n.mu.Unlock()
	now := time.Now()
	for _, r := range rosters {
		r.mu.Lock()
		out := r.delete(now)
		n.finish(r, out)
	}
	// Every roster is deleted now, so no subscription is added any more.
	n.draining.Store(true)
	if n.live.Load() == 0 {
		n.drainOnce.Do(func() { close(n.drained) })
	}
	select {
	case <-n.drained:
	case <-ctx.Done():
		n.log.Warn("conference: shutdown before every final NOTIFY went out", "subscriptions", n.live.Load())
	}
}

// FullDocument returns the full document a new subscriber of rm naming
// entity would get now (with version 1), without subscribing: for tests,
// benchmarks and diagnostics. A room the notifier holds nothing of is
// shown empty; a deleted one as its subscribers saw it last. It returns
// nil only if the document cannot be encoded (which cleaned strings rule
// out).
func (n *Notifier) FullDocument(rm *room.Room, entity string) []byte {
	head, err := rootHead(clean(entity))
	if err != nil {
		return nil
	}
	n.mu.Lock()
	r := n.rooms[rm]
	n.mu.Unlock()
	if r == nil {
		r = n.newRoster(rm) // not in the map: nobody else sees it
	}
	r.mu.Lock()
	var tail []byte
	switch r.state {
	case rosterDeleted:
		tail, err = r.deletedTail()
	case rosterRetired:
		tail, err = n.newRoster(rm).fullTail()
	default:
		tail, err = r.fullTail()
	}
	r.mu.Unlock()
	if err != nil {
		return nil
	}
	return compose(head, confinfo.StateFull, 1, tail)
}

// Stats returns a snapshot of the counters.
func (n *Notifier) Stats() Stats {
	return Stats{
		Subscriptions: int(n.live.Load()),
		Notifies:      n.notifies.Load(),
		Full:          n.full.Load(),
		Bytes:         n.bytes.Load(),
		Dropped:       n.dropped.Load(),
	}
}

// subEnded counts a subscription out of its roster.
func (n *Notifier) subEnded() {
	if n.live.Add(-1) == 0 && n.draining.Load() {
		n.drainOnce.Do(func() { close(n.drained) })
	}
}

// lockRoster returns rm's roster, locked, creating it if create; nil after
// Shutdown or when there is none. The roster may be deleted (a racing
// RoomDeleted): the caller checks its state.
func (n *Notifier) lockRoster(rm *room.Room, create bool) *roster {
	for {
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			return nil
		}
		r := n.rooms[rm]
		if r == nil {
			if !create {
				n.mu.Unlock()
				return nil
			}
			r = n.newRoster(rm)
			n.rooms[rm] = r
		}
		n.mu.Unlock()
		r.mu.Lock()
		if r.state != rosterRetired {
			return r
		}
		r.mu.Unlock() // retired meanwhile: look again
	}
}

// finish releases r.mu, which the caller holds, hands out to the Sender,
// and retires r if it is empty and unwatched.
func (n *Notifier) finish(r *roster, out []outgoing) {
	empty := r.empty()
	r.mu.Unlock()
	n.send(out)
	if empty {
		n.retire(r)
	}
}

// retire takes an empty, unwatched roster out of the map, so that the
// notifier keeps nothing of rooms nobody is in or watches.
func (n *Notifier) retire(r *roster) {
	n.mu.Lock()
	defer n.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.empty() && n.rooms[r.rm] == r {
		delete(n.rooms, r.rm)
		r.state = rosterRetired
	}
}

// send hands NOTIFYs to the Sender. No lock is held.
func (n *Notifier) send(out []outgoing) {
	for i := range out {
		o := &out[i]
		if o.err != nil {
			n.log.Error("conference: cannot encode a NOTIFY body", "room", o.s.rm.Name, "error", o.err)
			if !o.n.Terminated {
				continue
			}
		}
		n.notifies.Add(1)
		if o.full {
			n.full.Add(1)
		}
		n.bytes.Add(uint64(len(o.n.Body)))
		n.sender.SendNotify(o.s.handle, o.n, o.s.done)
	}
}

// RoomSubscriptions returns how many subscriptions rm has now.
func (n *Notifier) RoomSubscriptions(rm *room.Room) int {
	n.mu.Lock()
	r := n.rooms[rm]
	n.mu.Unlock()
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.subs)
}
