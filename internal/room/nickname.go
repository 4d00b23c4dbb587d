package room

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
)

// MaxNicknameBytes is the longest nickname RFC 7701 §7.1 allows, in octets.
const MaxNicknameBytes = 1023

// MSRP status codes of the NICKNAME and SEND decisions (RFC 4975 §10,
// RFC 7701 §10.3).
const (
	statusOK                = 200
	statusForbidden         = 403
	statusRecipientNotFound = 404
	statusMalformedNickname = 424
	statusNicknameInUse     = 425
	statusPrivateNotSupp    = 428
)

// NickScope is where a nickname must be unique (RFC 7701 §7; SPEC §14 item 11).
type NickScope uint8

const (
	ScopeRoom  NickScope = iota // unique in its room: the RFC 7701 minimum, the default
	ScopeFocus                  // unique across every room of the focus (draft-niemi-00 §4.3)
)

// NickPolicy is the nickname policy of one room, passed with each request so
// that a reloaded configuration applies at once.
type NickPolicy struct {
	Allowed    bool          // the switch advertised the "nickname" token; else every request is 403
	Scope      NickScope     // where a nickname is unique
	MaxBytes   int           // longest nickname in octets; ≤ 0 or > 1023 means 1023
	Reserved   []string      // nobody may take these (425); compared like nicknames, invalid entries ignored
	Quarantine time.Duration // a released nickname stays its previous holder's this long; ≤ 0: none
}

func (pol *NickPolicy) maxBytes() int {
	if pol.MaxBytes <= 0 || pol.MaxBytes > MaxNicknameBytes {
		return MaxNicknameBytes
	}
	return pol.MaxBytes
}

// NickResult is the answer to a NICKNAME request.
type NickResult struct {
	Code     int    // MSRP status to answer: 200, 403, 424 or 425
	Nickname string // on 200: the participant's nickname now, in enforced form (RFC 8266 §2.3); "" after a removal
	Released string // on 200: the nickname it held before, when that is no longer in effect; else ""
	Changed  bool   // on 200: the nickname changed (the focus notifies the roster, RFC 7701 §7.4)
	Reason   string // why, for logs; not a reason phrase
}

// Nicknames holds the nicknames of every room (RFC 7701 §7). It is safe for
// concurrent use. Its one mutex is a leaf lock: no method calls out of the
// package while holding it, so callers may hold their own locks (the
// Registry's included) when they call it. Nicknames does no I/O and reads no
// clock: times come from the caller.
//
// A nickname is claimed by an identity (the participant's URI, compared with
// cpim.URIEqual) and used by one or more of that identity's sessions
// (Participant.ID). A participant holds at most one nickname; the caller
// calls Release when the participant leaves its room.
//
// Every nickname in effect has an IM URI (draft-niemi-00 §4.3.1, URIOf),
// however it was obtained (MSRP NICKNAME, or a SIP nickname-info offer);
// Route accepts it as a CPIM To naming its holders and as the CPIM From of
// its holders.
type Nicknames struct {
	imHost string     // domain of the IM URIs, ending in ".invalid"; immutable
	owners NickOwners // registered nicknames (nil: none); immutable

	mu     sync.Mutex
	keys   map[string]*keyClaims // PRECIS compare key → its claims
	held   map[string]*holding   // Participant.ID → the nickname it uses
	expiry deadlines             // quarantined claims by deadline
	// quarantined is the one claim in quarantine per identity per room:
	// releasing a nickname ends the quarantine of the one that identity
	// released before in that room, so that one identity cannot reserve
	// every name it ever took (issue 14).
	quarantined map[quarantineKey]*claim
}

// NewNicknames returns an empty registry. Its IM URIs are in
// DefaultIMHost+".invalid" unless WithIMHost says otherwise.
func NewNicknames(opts ...NicknamesOption) *Nicknames {
	n := &Nicknames{imHost: DefaultIMHost + ".invalid", keys: make(map[string]*keyClaims), held: make(map[string]*holding),
		quarantined: make(map[quarantineKey]*claim)}
	for _, o := range opts {
		o(n)
	}
	return n
}

// Request decides a NICKNAME request (SPEC §14A.3) of participant p in the
// room roomName. nick is the Use-Nickname value already unquoted
// (msrp.ParseUseNickname); "" asks to remove the nickname (RFC 7701 §7.3,
// SPEC §14 item 1). A nickname is only ever assigned by a request naming it:
// Request never assigns one on its own (RFC 7701 §7.1). A failed request
// leaves the participant's nickname as it was (RFC 7701 §7.2).
//
// The PRECIS work (RFC 8266) is done before the lock is taken; its cost grows
// with len(pol.Reserved), each of which is prepared per request.
func (n *Nicknames) Request(roomName string, p *Participant, nick string, pol NickPolicy, now time.Time) NickResult {
	if !pol.Allowed {
		return NickResult{Code: statusForbidden, Reason: "nicknames are not allowed in this room"}
	}
	if nick == "" {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.expire(now)
		prev := n.drop(p.ID, pol.Quarantine, now)
		return NickResult{Code: statusOK, Released: prev, Changed: prev != "", Reason: "nickname removed"}
	}
	display, key, res := prepare(nick, &pol)
	if res.Code != 0 {
		return res
	}
	if n.owners != nil { // before the lock: the owners' answer is theirs to make
		if owner, ok := n.owners.NicknameOwner(key); ok && owner != p.Account {
			return NickResult{Code: statusNicknameInUse, Reason: "nickname registered to another account"}
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.expire(now)
	old := n.held[p.ID]
	if old != nil && old.c.key == key && old.c.room == roomName {
		if old.display == display {
			return NickResult{Code: statusOK, Nickname: display, Reason: "nickname unchanged"}
		}
		prev := old.display
		old.display = display
		return NickResult{Code: statusOK, Nickname: display, Released: prev, Changed: true, Reason: "nickname respelt"}
	}
	if n.conflict(roomName, key, p.URI, pol.Scope) {
		return NickResult{Code: statusNicknameInUse, Reason: "nickname in use by another user"}
	}
	prev := ""
	if old != nil {
		prev = n.drop(p.ID, pol.Quarantine, now)
	}
	n.claim(roomName, key, pol.Scope, p, display, pol.Quarantine)
	return NickResult{Code: statusOK, Nickname: display, Released: prev, Changed: true, Reason: "nickname set"}
}

// prepare enforces nick with the RFC 8266 Nickname profile and returns the
// enforced (display) form and its compare key, or a 424/425 result.
func prepare(nick string, pol *NickPolicy) (display, key string, res NickResult) {
	display, key, res = enforce(nick, pol)
	if res.Code != 0 {
		return "", "", res
	}
	if reserved(key, pol) {
		return "", "", NickResult{Code: statusNicknameInUse, Reason: "nickname reserved"}
	}
	return display, key, NickResult{}
}

// enforce is prepare without the reserved words: 424 or nothing.
func enforce(nick string, pol *NickPolicy) (display, key string, res NickResult) {
	max := pol.maxBytes()
	if len(nick) > max {
		return "", "", NickResult{Code: statusMalformedNickname, Reason: "nickname too long: at most " + strconv.Itoa(max) + " octets"}
	}
	if !utf8.ValidString(nick) {
		return "", "", NickResult{Code: statusMalformedNickname, Reason: "not UTF-8"}
	}
	display, err := precis.Nickname.String(nick)
	if err != nil || display == "" || len(display) > max {
		return "", "", NickResult{Code: statusMalformedNickname, Reason: "not a valid RFC 8266 nickname"}
	}
	key, err = nickKey(display)
	if err != nil || key == "" {
		return "", "", NickResult{Code: statusMalformedNickname, Reason: "not a valid RFC 8266 nickname"}
	}
	return display, key, NickResult{}
}

// reserved reports whether key is one of pol's reserved words.
func reserved(key string, pol *NickPolicy) bool {
	for _, r := range pol.Reserved {
		if k, err := nickKey(r); err == nil && k == key {
			return true
		}
	}
	return false
}

// Release releases p's nickname when p leaves its room. The nickname stays
// reserved for p's identity for the quarantine of the policy under which p
// took it, unless the identity releases another nickname in that room
// meanwhile: only its most recently released one stays reserved.
func (n *Nicknames) Release(p *Participant, now time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.expire(now)
	if h := n.held[p.ID]; h != nil {
		n.drop(p.ID, h.quarantine, now)
	}
}

// Lookup returns the sessions in roomName that use nickname nick (compared
// per RFC 8266), for resolving a private message addressed by nickname. They
// all share one identity. A quarantined nickname has no holders.
func (n *Nicknames) Lookup(roomName, nick string) (holders []*Participant) {
	key, err := nickKey(nick)
	if err != nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	e := n.keys[key]
	if e == nil || e.rooms[roomName] == nil {
		return nil
	}
	for _, h := range e.rooms[roomName].holders {
		holders = append(holders, h.p)
	}
	return holders
}

// NicknameOf returns p's nickname in enforced form, or "" when it has none.
func (n *Nicknames) NicknameOf(p *Participant) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if h := n.held[p.ID]; h != nil {
		return h.display
	}
	return ""
}
