package room

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/parley-im/parley/cpim"
	"github.com/parley-im/parley/sdp"
)

// Errors of Join, each with the SIP answer the focus gives.
var (
	ErrNoSuchRoom   = errors.New("room: no such room")           // 404
	ErrRoomFull     = errors.New("room: room is full")           // 486
	ErrTooManyRooms = errors.New("room: room limit reached")     // 503
	ErrRoomDeleted  = errors.New("room: room is being deleted")  // 404
	ErrAlreadyIn    = errors.New("room: participant already in") // programming error
	ErrNameTooLong  = errors.New("room: room name too long")     // 414 (RFC 3261 §21.4.12)
)

// Participant is one participant's presence in one room: one SIP dialog
// and one MSRP session (RFC 7701 §4). The same user on two devices is two
// Participants with the same URI.
type Participant struct {
	ID    string // unique in the registry: the MSRP session-id the participant joined with (a re-INVITE may move the session; the focus's dialog knows the current one)
	URI   string // the identity the participant is known by in the room (its From URI, or its anonymous URI)
	Caps  Caps   // its a=chatroom capabilities
	Value any    // the caller's handle (the focus keeps its dialog here)

	// Anonymous: the participant asked for privacy (RFC 3323 Privacy, or an
	// anonymous From); URI is then a switch-allocated anonymous URI and
	// Signalled its own From URI, which nothing sent to others may reveal
	// (RFC 7701 §5.2, §6.1).
	Anonymous bool
	Signalled string // the From URI of its INVITE (equal to URI unless Anonymous)
	RoomURI   string // the room's URI as this participant addressed it (its INVITE's Request-URI, without parameters)

	// Who the focus found it to be (issue 17): Account is the username of
	// the account it authenticated as ("" when none); Guest marks a
	// participant that did not authenticate, shown as a guest everywhere.
	Account string
	Guest   bool

	// What the conference event package shows of it (RFC 4575 §5.6, §5.7):
	// Display is its display name ("" when anonymous); Endpoint the URI of
	// its device (its Contact, or its anonymous URI when anonymous).
	Display  string
	Endpoint string

	// What its SDP said it accepts (RFC 4975 §8.6; RFC 7701 §6.1).
	AcceptTypes sdp.FormatList // its a=accept-types
	Wrapped     sdp.FormatList // its a=accept-wrapped-types
	HasWrapped  bool           // the offer had a=accept-wrapped-types
	MaxSize     int64          // its a=max-size; 0: none

	uriKey string    // cpim.URIKey(URI), set by Registry.Join: a cheap "not the same URI" test for Route
	nick   aliasSlot // the IM URI of its nickname while it holds one, set by Nicknames (nickname_uri.go)

	accepts atomic.Pointer[acceptMemo] // AcceptsWrapped's latest answers
}

// acceptMemo is AcceptsWrapped's answers for the last few types it was
// asked about, most recent first. Fan-out asks it of every recipient for
// every message (Route's Accepts), nearly always for one of a few types;
// parsing the type each time was 8 % of the switch's CPU, and remembering
// a single type cost 35 µs and 197 allocations per message in a room of
// 100 once text and typing indications alternated (issue 20). Immutable
// once stored.
type acceptMemo struct {
	n       int
	entries [acceptMemoSize]acceptAnswer
}

type acceptAnswer struct {
	mediaType string
	ok        bool
}

// acceptMemoSize is how many types a participant's memo holds: a chat
// has text/plain, application/im-iscomposing+xml, perhaps text/html and
// an image type.
const acceptMemoSize = 4

// AcceptsWrapped reports whether mediaType may be sent to p inside
// message/cpim: unknown (true) when its offer had no accept-wrapped-types,
// else when accept-wrapped-types or accept-types admit it (RFC 4975 §8.6:
// the types of accept-types may be wrapped as well). The answers for the
// last few types are remembered (the accept lists do not change once the
// participant has joined): a remembered type costs no parsing and no
// allocation. It is safe for concurrent use.
func (p *Participant) AcceptsWrapped(mediaType string) bool {
	if !p.HasWrapped {
		return true
	}
	old := p.accepts.Load()
	if old != nil {
		for i := range old.n {
			if e := &old.entries[i]; e.mediaType == mediaType {
				return e.ok
			}
		}
	}
	ok := p.Wrapped.Accepts(mediaType) || p.AcceptTypes.Accepts(mediaType)
	m := &acceptMemo{n: 1}
	m.entries[0] = acceptAnswer{mediaType: strings.Clone(mediaType), ok: ok}
	if old != nil {
		m.n += copy(m.entries[1:], old.entries[:old.n])
	}
	p.accepts.Store(m) // a lost race forgets an answer, which is asked again
	return ok
}

// Caps are a participant's chat-room capabilities from its SDP (RFC 7701 §8).
type Caps struct {
	ChatroomAware   bool // offered a=chatroom at all
	Nicknames       bool
	PrivateMessages bool
}

// Room is a chat room. Its fields other than through Registry methods are
// read-only after creation; its policy may be replaced whole (SetPolicy,
// issue 18's reconfiguration and reload) and is read through Policy.
type Room struct {
	Name       string
	Configured bool

	policy atomic.Pointer[Policy] // never nil once the room is made (newRoom, SetPolicy)

	creator string // participant ID of the creator, for DeleteWhenCreatorLeaves
	owner   any    // JoinAs's owner of an ad hoc room it created; immutable
	members map[string]*Participant
	deleted bool
}

// PolicySource returns the policy of a room and whether it is configured; ok
// is false for a room that is neither configured nor allowed ad hoc.
type PolicySource func(name string) (p Policy, configured bool, ok bool)

// Owner returns the owner JoinAs gave the ad hoc room when it created it
// (nil for a configured room, or one created by Join). It never changes:
// the focus reads it when the room is deleted, to credit the room back to
// the source and identity that created it.
func (rm *Room) Owner() any { return rm.owner }

// Policy returns the room's policy. The Policy it points to is never
// modified: a change replaces it whole (SetPolicy), so a caller that reads
// several fields through one Policy call sees one version.
func (rm *Room) Policy() *Policy {
	if p := rm.policy.Load(); p != nil {
		return p
	}
	return &zeroPolicy
}

var zeroPolicy Policy

// SetPolicy replaces the room's policy. What reads it later (the next join,
// message or nickname) sees the new one; nobody already in the room is
// removed by it (the focus does that where the new policy forbids them).
func (rm *Room) SetPolicy(p Policy) { rm.policy.Store(&p) }

// newRoom makes a room with its policy.
func newRoom(name string, p Policy, configured bool) *Room {
	rm := &Room{Name: name, Configured: configured, members: make(map[string]*Participant)}
	rm.SetPolicy(p)
	return rm
}

// Registry holds the rooms.
type Registry struct {
	mu           sync.Mutex
	rooms        map[string]*Room
	policy       PolicySource
	maxRooms     int
	maxNameBytes int // immutable; 0: no limit
	// key is what names compare by (the map's key), canonical the name a
	// room created under a name gets; both immutable, see WithNames.
	key       func(string) string
	canonical func(string) string
}

// RegistryOption configures a Registry.
type RegistryOption func(*Registry)

// WithMaxNameBytes makes room names longer than n bytes ErrNameTooLong:
// no room is created, opened or joined under such a name. n ≤ 0: no limit.
func WithMaxNameBytes(n int) RegistryOption {
	return func(r *Registry) { r.maxNameBytes = max(n, 0) }
}

// WithNames makes room names compare by key (e.g. their lower case: room
// names compare case-insensitively) and gives a room created under a name
// the name canonical returns for it (e.g. a configured room's own
// spelling). Room.Name is that canonical name, whatever name found it.
func WithNames(key, canonical func(string) string) RegistryOption {
	return func(r *Registry) { r.key, r.canonical = key, canonical }
}

func identity(s string) string { return s }

// NewRegistry returns a registry whose rooms get their policy from policy.
// maxRooms ≤ 0 means no limit.
func NewRegistry(policy PolicySource, maxRooms int, opts ...RegistryOption) *Registry {
	r := &Registry{rooms: make(map[string]*Room), policy: policy, maxRooms: maxRooms, key: identity, canonical: identity}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Canonical returns the name of the room name refers to: the live room's
// Name, else the name a room created under name would get.
func (r *Registry) Canonical(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rm, ok := r.rooms[r.key(name)]; ok && !rm.deleted {
		return rm.Name
	}
	return r.canonical(name)
}

// NameTooLong reports whether name is longer than WithMaxNameBytes allows.
// It takes no lock: the focus asks it first, before anything else about a
// request to a room.
func (r *Registry) NameTooLong(name string) bool {
	return r.maxNameBytes > 0 && len(name) > r.maxNameBytes
}

// Lookup returns the room, creating nothing; for OPTIONS and SUBSCRIBE.
// A configured room exists even when empty.
func (r *Registry) Lookup(name string) (Policy, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rm, ok := r.rooms[r.key(name)]; ok && !rm.deleted {
		return *rm.Policy(), true
	}
	p, configured, ok := r.policy(name)
	return p, ok && configured
}

// Exists reports whether an INVITE to name could join a room (existing,
// configured, or creatable ad hoc).
func (r *Registry) Exists(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rm, ok := r.rooms[r.key(name)]; ok && !rm.deleted {
		return true
	}
	_, _, ok := r.policy(name)
	return ok
}

// Open returns the live room called name for a subscription to it: an
// existing room, or a configured one, created empty (RFC 4575 subscribers
// may watch a configured room before anyone joins). An ad hoc room that
// does not exist yet is ErrNoSuchRoom: subscribing creates no room.
func (r *Registry) Open(name string) (*Room, error) {
	if r.NameTooLong(name) {
		return nil, ErrNameTooLong
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if rm, ok := r.rooms[r.key(name)]; ok {
		if rm.deleted {
			return nil, ErrRoomDeleted
		}
		return rm, nil
	}
	pol, configured, ok := r.policy(name)
	if !ok || !configured {
		return nil, ErrNoSuchRoom
	}
	if r.maxRooms > 0 && len(r.rooms) >= r.maxRooms {
		return nil, ErrTooManyRooms
	}
	rm := newRoom(r.canonical(name), pol, true)
	r.rooms[r.key(name)] = rm
	return rm, nil
}

// Live reports whether rm has not been deleted.
func (r *Registry) Live(rm *Room) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !rm.deleted
}

// Join adds p to the room called name, creating the room if its policy
// allows. It returns the room.
func (r *Registry) Join(name string, p *Participant) (*Room, error) {
	rm, _, err := r.JoinAs(name, p, nil)
	return rm, err
}

// JoinAs is Join that reports whether it created an ad hoc room, and then
// gives that room owner (Room.Owner), under the registry's lock: so the
// room cannot be deleted before its owner is recorded. A configured room
// is never created this way (created is false).
func (r *Registry) JoinAs(name string, p *Participant, owner any) (_ *Room, created bool, _ error) {
	if r.NameTooLong(name) {
		return nil, false, ErrNameTooLong
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, ok := r.rooms[r.key(name)]
	if ok && rm.deleted {
		return nil, false, ErrRoomDeleted
	}
	if !ok {
		pol, configured, allowed := r.policy(name)
		if !allowed {
			return nil, false, ErrNoSuchRoom
		}
		if r.maxRooms > 0 && len(r.rooms) >= r.maxRooms {
			return nil, false, ErrTooManyRooms
		}
		rm = newRoom(r.canonical(name), pol, configured)
		if !configured {
			rm.owner, created = owner, true
		}
		r.rooms[r.key(name)] = rm
	}
	if _, dup := rm.members[p.ID]; dup {
		return nil, false, ErrAlreadyIn
	}
	if maxp := rm.Policy().MaxParticipants; maxp > 0 && len(rm.members) >= maxp {
		return nil, false, ErrRoomFull // never a room just created: it is empty
	}
	if len(rm.members) == 0 && rm.creator == "" {
		rm.creator = p.ID
	}
	p.uriKey = cpim.URIKey(p.URI)
	rm.members[p.ID] = p
	return rm, created, nil
}

// Leave removes the participant with the given ID. When the room's
// deletion policy says the room ends now, Leave deletes it and returns the
// participants still in it, whom the caller must disconnect (BYE).
func (r *Registry) Leave(rm *Room, id string) (deleted bool, evict []*Participant) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := rm.members[id]; !ok {
		return false, nil
	}
	delete(rm.members, id)
	switch {
	case rm.deleted:
		return false, nil
	case rm.Policy().DeleteWhen == DeleteNever:
		return false, nil
	case rm.Policy().DeleteWhen == DeleteWhenCreatorLeaves && id == rm.creator,
		len(rm.members) == 0:
		rm.deleted = true
		delete(r.rooms, r.key(rm.Name))
		for _, m := range rm.members {
			evict = append(evict, m)
		}
		return true, evict
	}
	return false, nil
}

// Members returns a snapshot of the room's participants.
func (r *Registry) Members(rm *Room) []*Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Participant, 0, len(rm.members))
	for _, m := range rm.members {
		out = append(out, m)
	}
	return out
}

// Len returns the number of rooms.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.rooms)
}

// Get returns a live room by name.
func (r *Registry) Get(name string) (*Room, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, ok := r.rooms[r.key(name)]
	return rm, ok && !rm.deleted
}

// Rooms returns the live rooms, sorted by name.
func (r *Registry) Rooms() []*Room {
	r.mu.Lock()
	out := make([]*Room, 0, len(r.rooms))
	for _, rm := range r.rooms {
		if !rm.deleted {
			out = append(out, rm)
		}
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b *Room) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Delete deletes the live room called name whatever its deletion policy
// (an operator's deletion, RFC 7701 §5.3) and returns it with the
// participants still in it, whom the caller must disconnect (BYE). Their
// later Leave calls do nothing more. ok is false when no such room lives.
func (r *Registry) Delete(name string) (rm *Room, evict []*Participant, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, ok = r.rooms[r.key(name)]
	if !ok || rm.deleted {
		return nil, nil, false
	}
	rm.deleted = true
	delete(r.rooms, r.key(name))
	for _, m := range rm.members {
		evict = append(evict, m)
	}
	return rm, evict, true
}
