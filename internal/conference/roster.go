package conference

import (
	"strconv"
	"strings"
	"sync"

	"github.com/parley-im/parley/internal/room"
)

// rosterState is the life cycle of a roster.
type rosterState uint8

const (
	rosterLive    rosterState = iota
	rosterRetired             // empty and unwatched: out of the map; look again
	rosterDeleted             // RoomDeleted or Shutdown: out of the map for good
)

// roster is one room as the event package shows it, with the
// subscriptions to it. Every field is guarded by mu.
type roster struct {
	mu      sync.Mutex
	rm      *room.Room
	display string   // the conference display-text
	subject string   // the conference <subject> (RFC 4575 §5.3.2), "" for none
	uris    []string // the room's URIs, for <conf-uris>
	state   rosterState

	users       map[string]*user     // by entity
	first, last *user                // the users in join order, linked by prev and next
	nusers      int                  // len(users)
	endpoints   map[string]*endpoint // by participant ID
	nickSeq     uint64               // stamps nicknames as they are set

	// The change log: log[i] is the entity of change logBase+i+1; seq is
	// the number of changes so far. A subscription's cursor is the change
	// it has been told of last, so its dirty set is log[cursor-logBase:].
	// The log is trimmed up to the least cursor.
	seq     uint64
	log     []string
	logBase uint64
	// gone holds the users who left, by entity, while the log still names
	// them: a partial document names a deleted user (display-text,
	// xcon:nickname) so that a subscriber who never saw a short visit can
	// still tell it (issue 19).
	gone map[string]*user

	subs []*Subscription // live subscriptions; Subscription.idx is the index

	// Encoded tails (see document.go), valid for the roster state seq they
	// were built at.
	fullBody    []byte
	fullSeq     uint64
	partials    map[uint64][]byte // by cursor
	partialSeq  uint64
	deletedBody []byte
}

// user is a <user>: one participant URI.
type user struct {
	entity    string
	anonymous bool
	guest     bool   // a guest (issue 17): shown with the role "guest"
	display   string // derived, see refresh
	nickname  string // derived, see refresh
	endpoints []*endpoint
	prev      *user
	next      *user
}

// endpoint is an <endpoint>: one participant session of a user.
type endpoint struct {
	id        string // room.Participant.ID
	user      *user
	entity    string
	display   string // the participant's display name ("" if anonymous)
	connected bool   // bound; else pending
	nickname  string
	nickSeq   uint64 // when nickname was set
}

func (n *Notifier) newRoster(rm *room.Room) *roster {
	display := rm.Policy().Subject
	if display == "" {
		display = rm.Name
	}
	var uris []string
	if n.uris != nil {
		for _, u := range n.uris(rm) {
			uris = append(uris, clean(u))
		}
	}
	return &roster{
		uris:      uris,
		rm:        rm,
		display:   clean(display),
		subject:   clean(rm.Policy().Subject),
		users:     make(map[string]*user),
		endpoints: make(map[string]*endpoint),
	}
}

// empty reports whether r can be retired: live, no users, no subscribers.
func (r *roster) empty() bool {
	return r.state == rosterLive && r.nusers == 0 && len(r.subs) == 0
}

// join adds p's endpoint, and its user if new. It returns the user's
// entity, or false when p is already in the roster.
func (r *roster) join(p *room.Participant) (string, bool) {
	if _, dup := r.endpoints[p.ID]; dup {
		return "", false
	}
	entity := clean(p.URI)
	u := r.users[entity]
	if u == nil {
		u = &user{entity: entity, prev: r.last}
		if r.last != nil {
			r.last.next = u
		} else {
			r.first = u
		}
		r.last = u
		r.users[entity] = u
		r.nusers++
		delete(r.gone, entity)
	}
	u.anonymous = u.anonymous || p.Anonymous
	u.guest = u.guest || p.Guest
	e := &endpoint{id: p.ID, user: u, entity: u.endpointEntity(p)}
	if !p.Anonymous {
		e.display = clean(p.Display)
	}
	u.endpoints = append(u.endpoints, e)
	r.endpoints[p.ID] = e
	u.refresh()
	return entity, true
}

// leave removes p's endpoint, and its user with its last endpoint. It
// returns the user's entity, or false when p is not in the roster.
func (r *roster) leave(p *room.Participant) (string, bool) {
	e := r.endpoints[p.ID]
	if e == nil {
		return "", false
	}
	delete(r.endpoints, p.ID)
	u := e.user
	for i, x := range u.endpoints {
		if x == e {
			u.endpoints = append(u.endpoints[:i], u.endpoints[i+1:]...)
			break
		}
	}
	if len(u.endpoints) > 0 {
		u.refresh()
		return u.entity, true
	}
	if u.prev != nil {
		u.prev.next = u.next
	} else {
		r.first = u.next
	}
	if u.next != nil {
		u.next.prev = u.prev
	} else {
		r.last = u.prev
	}
	u.prev, u.next = nil, nil
	delete(r.users, u.entity)
	r.nusers--
	if len(r.subs) > 0 {
		if r.gone == nil {
			r.gone = make(map[string]*user)
		}
		r.gone[u.entity] = u
	}
	return u.entity, true
}

// bind marks p's endpoint connected. It reports whether anything changed.
func (r *roster) bind(p *room.Participant) (string, bool) {
	e := r.endpoints[p.ID]
	if e == nil || e.connected {
		return "", false
	}
	e.connected = true
	return e.user.entity, true
}

// setNickname sets the nickname of p's endpoint ("" removes it). It
// reports whether its user's xcon:nickname changed.
func (r *roster) setNickname(p *room.Participant, nick string) (string, bool) {
	e := r.endpoints[p.ID]
	if e == nil {
		return "", false
	}
	nick = clean(nick)
	if nick == e.nickname {
		return "", false
	}
	e.nickname = nick
	if nick != "" {
		r.nickSeq++
		e.nickSeq = r.nickSeq
	}
	u := e.user
	old := u.nickname
	u.refresh()
	return u.entity, u.nickname != old
}

// refresh derives the user's display-text (that of its most recently
// joined endpoint with one; none for an anonymous user) and xcon:nickname
// (the most recently set one that an endpoint still holds).
func (u *user) refresh() {
	u.display, u.nickname = "", ""
	var latest uint64
	for _, e := range u.endpoints {
		if e.display != "" && !u.anonymous {
			u.display = e.display
		}
		if e.nickname != "" && e.nickSeq > latest {
			u.nickname, latest = e.nickname, e.nickSeq
		}
	}
}

// endpointEntity returns the <endpoint> entity for p, a new endpoint of u:
// p.Endpoint (its anonymous URI if it is anonymous, its URI if it has no
// endpoint URI), made unique within the user with an "ep" URI parameter
// when another of its endpoints has the same URI.
func (u *user) endpointEntity(p *room.Participant) string {
	ent := p.Endpoint
	if p.Anonymous || ent == "" {
		ent = p.URI
	}
	ent = clean(ent)
	if !u.hasEndpoint(ent) {
		return ent
	}
	base, headers := ent, ""
	if i := strings.IndexByte(ent, '?'); i >= 0 {
		base, headers = ent[:i], ent[i:]
	}
	for n := 2; ; n++ {
		cand := base + ";ep=" + strconv.Itoa(n) + headers
		if !u.hasEndpoint(cand) {
			return cand
		}
	}
}

func (u *user) hasEndpoint(entity string) bool {
	for _, e := range u.endpoints {
		if e.entity == entity {
			return true
		}
	}
	return false
}

// record logs a change of the user entity.
func (r *roster) record(entity string) {
	r.seq++
	r.log = append(r.log, entity)
}

// trim drops the log entries every subscription has been told of.
func (r *roster) trim() {
	least := r.seq
	for _, s := range r.subs {
		least = min(least, s.cursor)
	}
	k := least - r.logBase
	if k == 0 {
		return
	}
	r.log = r.log[k:]
	if len(r.log) == 0 {
		r.log = nil
	}
	r.logBase = least
	switch {
	case len(r.log) == 0:
		r.gone = nil
	case len(r.gone) > 0: // forget those the log no longer names
		named := make(map[string]bool, len(r.log))
		for _, e := range r.log {
			named[e] = true
		}
		for e := range r.gone {
			if !named[e] {
				delete(r.gone, e)
			}
		}
	}
}

// addSub adds s to r's subscriptions.
func (r *roster) addSub(s *Subscription) {
	s.idx = len(r.subs)
	r.subs = append(r.subs, s)
}

// removeSub removes s from r's subscriptions, if it is one.
func (r *roster) removeSub(s *Subscription) bool {
	i := s.idx
	if i < 0 {
		return false
	}
	last := len(r.subs) - 1
	r.subs[i] = r.subs[last]
	r.subs[i].idx = i
	r.subs[last] = nil
	r.subs = r.subs[:last]
	s.idx = -1
	return true
}

// forget drops the roster's users, for a deleted room.
func (r *roster) forget() {
	r.users, r.endpoints = nil, nil
	r.first, r.last, r.nusers = nil, nil, 0
	r.log, r.logBase, r.gone = nil, r.seq, nil
	r.fullBody, r.partials = nil, nil
}
