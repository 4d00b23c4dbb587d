package conference

import (
	"time"

	"github.com/parley-im/parley/confinfo"
	"github.com/parley-im/parley/internal/room"
)

// Reasons of a terminated Subscription-State (RFC 6665 §4.1.3).
const (
	reasonTimeout    = "timeout"    // Unsubscribe, expiry
	reasonNoResource = "noresource" // RoomDeleted, Shutdown
)

// Subscription is one subscriber's subscription to one room.
type Subscription struct {
	n      *Notifier
	r      *roster // nil: ended before it began (Shutdown)
	rm     *room.Room
	handle any
	head   []byte     // see rootHead
	done   func(bool) // s.onDone, made once

	// Guarded by r.mu.
	idx        int       // in r.subs, -1 once out
	version    uint32    // of the last NOTIFY
	cursor     uint64    // the roster change told of last
	needFull   bool      // a full document is owed (Subscribe, Refresh)
	final      string    // the reason of the final NOTIFY owed, "" for none
	finalEmpty bool      // … with the deleted room's document
	ended      bool      // the final NOTIFY went out, or one failed: nothing more
	inFlight   bool      // a NOTIFY's done is awaited
	lastSent   time.Time // when the last NOTIFY was handed over
	expiresAt  time.Time
	flush      genTimer // armed for a rate-limited partial
	expiry     genTimer
}

// outgoing is a NOTIFY decided under roster.mu, to hand over after.
type outgoing struct {
	s    *Subscription
	n    Notify
	full bool
	err  error // encoding failed (cannot happen with cleaned strings): not sent
}

// Room returns the room s is subscribed to.
func (s *Subscription) Room() *room.Room { return s.rm }

// Refresh extends s to expires from now and sends the full document (RFC
// 6665 §4.2.1.2: a refresh is answered with a NOTIFY; RFC 4575 §4: the
// NOTIFY a SUBSCRIBE triggers carries full state), with the next version.
// An expires of zero or less ends s as Unsubscribe does. Refresh reports
// false when s has already ended (or is ending).
func (s *Subscription) Refresh(expires time.Duration) bool {
	r := s.r
	if r == nil {
		return false
	}
	r.mu.Lock()
	if s.ended || s.final != "" {
		r.mu.Unlock()
		return false
	}
	now := time.Now()
	s.expiresAt = now.Add(expires)
	if expires > 0 {
		s.armExpiry(expires)
		s.needFull = true
	} else {
		s.closeWith(reasonTimeout, false)
	}
	o, ok := s.next(now)
	s.n.finish(r, one(o, ok))
	return true
}

// Unsubscribe ends s with a final NOTIFY carrying the full document and
// Subscription-State: terminated;reason=timeout (RFC 6665 §4.2.1.4).
// It reports false when s had already ended (or was ending).
func (s *Subscription) Unsubscribe() bool {
	r := s.r
	if r == nil {
		return false
	}
	r.mu.Lock()
	if s.ended || s.final != "" {
		r.mu.Unlock()
		return false
	}
	s.closeWith(reasonTimeout, false)
	o, ok := s.next(time.Now())
	s.n.finish(r, one(o, ok))
	return true
}

// closeWith decides that s ends with a final NOTIFY, and stops its timers.
// Under r.mu.
func (s *Subscription) closeWith(reason string, empty bool) {
	s.final, s.finalEmpty = reason, empty
	s.stopFlush()
	s.stopExpiry()
}

// next decides the NOTIFY s sends now, if any: the final one owed, else a
// full document owed, else the changes past its cursor once the rate
// limit allows (arming the flush timer until then). Nothing while a NOTIFY
// is in flight: its done calls next again. Under r.mu.
func (s *Subscription) next(now time.Time) (outgoing, bool) {
	r := s.r
	if s.ended || s.inFlight {
		return outgoing{}, false
	}
	if s.final == "" && !now.Before(s.expiresAt) {
		s.closeWith(reasonTimeout, false)
	}
	o := outgoing{s: s}
	var tail []byte
	state := confinfo.StateFull
	switch {
	case s.final != "":
		if s.finalEmpty {
			tail, o.err = r.deletedTail()
		} else {
			tail, o.err = r.fullTail()
		}
		o.n.Terminated, o.n.Reason = true, s.final
		o.full = true
	case s.needFull || s.cursor < r.logBase:
		tail, o.err = r.fullTail()
		o.full = true
	case s.cursor < r.seq:
		if due := s.lastSent.Add(s.n.interval); now.Before(due) {
			s.armFlush(due.Sub(now))
			return outgoing{}, false
		}
		state = confinfo.StatePartial
		tail, o.err = r.partialTail(s.cursor)
	default:
		return outgoing{}, false
	}
	s.stopFlush()
	s.needFull = false
	s.cursor = r.seq
	if o.n.Terminated {
		s.ended = true
		s.stopExpiry()
		if r.removeSub(s) {
			s.n.subEnded()
		}
	} else {
		o.n.Expires = ceilSeconds(s.expiresAt.Sub(now))
	}
	if o.err != nil && !o.n.Terminated {
		return o, true // logged, not sent; the next change or refresh makes up for it
	}
	s.version++
	s.inFlight = true
	s.lastSent = now
	if o.err == nil {
		o.n.Body = compose(s.head, state, s.version, tail)
	}
	return o, true
}

// onDone is the done callback of every NOTIFY of s.
func (s *Subscription) onDone(ok bool) {
	r := s.r
	r.mu.Lock()
	if !s.inFlight { // a second call: the Sender broke its contract
		r.mu.Unlock()
		return
	}
	s.inFlight = false
	if s.ended {
		r.mu.Unlock()
		return
	}
	if !ok {
		s.ended = true
		s.stopFlush()
		s.stopExpiry()
		if r.removeSub(s) {
			s.n.subEnded()
		}
		s.n.dropped.Add(1)
		name := r.rm.Name
		s.n.finish(r, nil)
		s.n.log.Debug("NOTIFY failed; subscription dropped", "room", name)
		return
	}
	if s.final == "" && !s.needFull && s.cursor == r.seq {
		r.mu.Unlock() // the usual case: nothing owed (expiry has its timer)
		return
	}
	o, send := s.next(time.Now())
	s.n.finish(r, one(o, send))
}

// genTimer is a timer whose callback, run later under the roster's lock,
// can tell whether it is stale: stopped or re-armed since it was armed.
// Its fields are guarded by the roster's mutex.
type genTimer struct {
	t   *time.Timer
	gen uint64
}

// arm starts the timer: fn(gen) runs after d.
func (g *genTimer) arm(d time.Duration, fn func(gen uint64)) {
	g.gen++
	gen := g.gen
	g.t = time.AfterFunc(d, func() { fn(gen) })
}

func (g *genTimer) armed() bool { return g.t != nil }

// stop stops the timer; a callback already running finds itself stale.
func (g *genTimer) stop() {
	if g.t != nil {
		g.t.Stop()
		g.t = nil
		g.gen++
	}
}

// fired reports whether the callback for gen is current, and if so
// disarms the timer.
func (g *genTimer) fired(gen uint64) bool {
	if gen != g.gen {
		return false
	}
	g.t = nil
	return true
}

// armFlush arms the flush timer to fire after d, unless it is armed.
// Under r.mu.
func (s *Subscription) armFlush(d time.Duration) {
	if !s.flush.armed() {
		s.flush.arm(d, s.onFlushTimer)
	}
}

func (s *Subscription) stopFlush() { s.flush.stop() }

func (s *Subscription) onFlushTimer(gen uint64) {
	r := s.r
	r.mu.Lock()
	if !s.flush.fired(gen) {
		r.mu.Unlock()
		return
	}
	o, ok := s.next(time.Now())
	s.n.finish(r, one(o, ok))
}

// armExpiry (re)arms the expiry timer. Under r.mu.
func (s *Subscription) armExpiry(d time.Duration) {
	s.expiry.stop()
	s.expiry.arm(d, s.onExpiry)
}

func (s *Subscription) stopExpiry() { s.expiry.stop() }

func (s *Subscription) onExpiry(gen uint64) {
	r := s.r
	r.mu.Lock()
	if s.ended || s.final != "" || !s.expiry.fired(gen) {
		r.mu.Unlock()
		return
	}
	s.closeWith(reasonTimeout, false)
	o, ok := s.next(time.Now())
	s.n.finish(r, one(o, ok))
}

// ceilSeconds rounds d up to whole seconds.
func ceilSeconds(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return (d + time.Second - 1) / time.Second * time.Second
}

// one returns o as a slice if ok.
func one(o outgoing, ok bool) []outgoing {
	if !ok {
		return nil
	}
	return []outgoing{o}
}
