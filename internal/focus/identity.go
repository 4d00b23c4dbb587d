package focus

import (
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/room"
)

// Identity (issue 17). RFC 7701 §11 makes the focus responsible for
// knowing who a participant is. Before a request outside a dialog starts
// anything (an INVITE that joins, a SUBSCRIBE that watches), the focus
// asks its Authenticator who sent it: the account the request proved
// (SIP digest, RFC 3261 §22, RFC 8760; DigestAuth), or a guest when the
// room admits guests and the request claims no account. The identity it
// returns is the participant from then on: the switch's CPIM From check
// ties every message to it. MESSAGE and INFO outside a dialog start
// nothing (onNicknameRequest answers them 481), but are challenged first
// like an INVITE: an account's URI is never used without its password.

// Authenticator decides who sends a request that starts a dialog.
type Authenticator interface {
	// Authenticate returns who req proves to be, for a room whose policy
	// is pol. When res is non-nil, the focus sends res after delay (a
	// challenge, a refusal, slowed down after repeated failures) and goes
	// no further with req.
	Authenticate(req *sip.Request, pol room.Policy) (id Identity, res *sip.Response, delay time.Duration)
}

// Identity is who a request proved to be.
type Identity struct {
	// URI is the participant's identity: the request's From URI (without
	// parameters), which for an account is the account's URI unless the
	// participant asked for anonymity (then the account's URI, which
	// nothing sent to others reveals).
	URI string
	// Account is the username of the account the request authenticated
	// as; "" for a guest.
	Account string
	// Guest: the request proved no account (the room admits guests).
	Guest bool
}

// authenticate asks the Authenticator who sent req, for a room with
// policy pol. Without one, everyone is who their From says (the focus's
// own tests, and embedders that authenticate in a proxy before it). It
// returns false when it has answered req (or will, after a delay).
func (f *Focus) authenticate(req *sip.Request, tx sip.ServerTransaction, pol room.Policy) (Identity, bool) {
	from := req.From()
	if f.cfg.Auth == nil || from == nil {
		id := Identity{}
		if from != nil {
			id.URI = from.Address.Addr()
		}
		return id, true
	}
	id, res, delay := f.cfg.Auth.Authenticate(req, pol)
	if res == nil {
		return id, true
	}
	f.stats.authAnswer(res)
	if delay <= 0 {
		f.send(tx, res)
		return Identity{}, false
	}
	// Slowed down (repeated failures from one source): the answer goes
	// out later from a timer, bounded by the Authenticator's longest delay;
	// the transaction absorbs retransmissions meanwhile.
	time.AfterFunc(delay, func() { f.send(tx, res) })
	return Identity{}, false
}

// inRoom reports whether identity is a participant of the room called
// name (by the URI it joined with, or signalled when anonymous).
func (f *Focus) inRoom(name, identity string) bool {
	rm, ok := f.cfg.Rooms.Get(name)
	if !ok || identity == "" {
		return false
	}
	for _, p := range f.cfg.Rooms.Members(rm) {
		if p.URI == identity || p.Signalled == identity {
			return true
		}
	}
	return false
}
