package room

import (
	"container/heap"
	"time"

	"golang.org/x/text/secure/precis"

	"github.com/parley-im/parley/cpim"
)

// keyClaims are the claims on one compare key, one per room.
type keyClaims struct {
	rooms map[string]*claim
	focus int // how many of them have focus scope
}

// claim is a nickname taken in one room by one identity. While it has no
// holders it is in quarantine until its deadline, for its identity only.
type claim struct {
	key, room string
	scope     NickScope
	uri       string     // the identity: the URI of the participant that took it
	holders   []*holding // the sessions using it
	until     time.Time  // quarantine deadline, when there are no holders
	gen       uint64     // bumped on each quarantine, to void stale deadlines
	alias     *nickAlias // its IM URI, given to each holder
}

// quarantineKey is an identity (cpim.URIKey of its URI) in a room.
type quarantineKey struct{ room, identity string }

func (c *claim) quarantineKey() quarantineKey {
	return quarantineKey{room: c.room, identity: cpim.URIKey(c.uri)}
}

// holding is one session's use of a claim.
type holding struct {
	p          *Participant
	c          *claim
	display    string        // the session's own spelling (enforced form)
	quarantine time.Duration // of the policy in force when it was taken
}

// conflict reports whether another identity than uri holds or quarantines
// key where a request with scope in room would collide: in the same room,
// and in any room when either side has focus scope.
func (n *Nicknames) conflict(room, key, uri string, scope NickScope) bool {
	e := n.keys[key]
	if e == nil {
		return false
	}
	if scope == ScopeRoom && e.focus == 0 {
		c := e.rooms[room]
		return c != nil && !cpim.URIEqual(c.uri, uri)
	}
	for r, c := range e.rooms {
		if (r == room || scope == ScopeFocus || c.scope == ScopeFocus) && !cpim.URIEqual(c.uri, uri) {
			return true
		}
	}
	return false
}

// claim makes p use key in room, joining the claim of its identity if there
// is one (another device, or a quarantined claim being taken back).
func (n *Nicknames) claim(room, key string, scope NickScope, p *Participant, display string, q time.Duration) {
	e := n.keys[key]
	if e == nil {
		e = &keyClaims{rooms: make(map[string]*claim, 1)}
		n.keys[key] = e
	}
	c := e.rooms[room]
	if c == nil {
		// The IM URI spells the nickname's RFC 8266 compare key, not the
		// skeleton that key is (confusable.go): readable, and as unique,
		// since two claims never share a skeleton.
		ck, err := precis.Nickname.CompareKey(display)
		if err != nil {
			ck = key
		}
		c = &claim{key: key, room: room, scope: scope, uri: p.URI, alias: newNickAlias(n.imHost, ck)}
		e.rooms[room] = c
		if scope == ScopeFocus {
			e.focus++
		}
	}
	if len(c.holders) == 0 {
		c.gen++ // out of quarantine: its pending deadline no longer applies
		if k := c.quarantineKey(); n.quarantined[k] == c {
			delete(n.quarantined, k)
		}
	}
	h := &holding{p: p, c: c, display: display, quarantine: q}
	c.holders = append(c.holders, h)
	n.held[p.ID] = h
	p.nick.store(c.alias)
}

// drop ends the session id's use of its nickname and returns the nickname.
// When it was the last holder, the claim goes into quarantine for q, or away.
func (n *Nicknames) drop(id string, q time.Duration, now time.Time) string {
	h := n.held[id]
	if h == nil {
		return ""
	}
	delete(n.held, id)
	h.p.nick.store(nil)
	c := h.c
	for i, x := range c.holders {
		if x == h {
			last := len(c.holders) - 1
			c.holders[i] = c.holders[last]
			c.holders[last] = nil
			c.holders = c.holders[:last]
			break
		}
	}
	if len(c.holders) == 0 {
		if q > 0 {
			c.gen++
			c.until = now.Add(q)
			heap.Push(&n.expiry, deadline{until: c.until, c: c, gen: c.gen})
			// One quarantined claim per identity per room: the previous
			// one goes (its deadline voided), so the names an identity
			// keeps from others are bounded by the rooms it is in.
			k := c.quarantineKey()
			if old := n.quarantined[k]; old != nil && old != c && len(old.holders) == 0 {
				old.gen++
				n.remove(old)
			}
			n.quarantined[k] = c
		} else {
			n.remove(c)
		}
	}
	return h.display
}

// remove forgets a claim.
func (n *Nicknames) remove(c *claim) {
	if k := c.quarantineKey(); n.quarantined[k] == c {
		delete(n.quarantined, k)
	}
	e := n.keys[c.key]
	delete(e.rooms, c.room)
	if c.scope == ScopeFocus {
		e.focus--
	}
	if len(e.rooms) == 0 {
		delete(n.keys, c.key)
	}
}

// expire forgets the claims whose quarantine ended at or before now.
func (n *Nicknames) expire(now time.Time) {
	for len(n.expiry) > 0 && !n.expiry[0].until.After(now) {
		d := heap.Pop(&n.expiry).(deadline)
		if d.gen == d.c.gen && len(d.c.holders) == 0 {
			n.remove(d.c)
		}
	}
}

// deadline is a quarantine end; stale when its gen is not its claim's.
type deadline struct {
	until time.Time
	c     *claim
	gen   uint64
}

// deadlines is a min-heap of deadlines (container/heap).
type deadlines []deadline

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].until.Before(d[j].until) }
func (d deadlines) Swap(i, j int)      { d[i], d[j] = d[j], d[i] }
func (d *deadlines) Push(x any)        { *d = append(*d, x.(deadline)) }
func (d *deadlines) Pop() any {
	old := *d
	x := old[len(old)-1]
	old[len(old)-1] = deadline{}
	*d = old[:len(old)-1]
	return x
}
