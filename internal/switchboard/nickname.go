package switchboard

import (
	"errors"

	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/msrp"
)

// Registering a nickname (issue 17): a participant that authenticated as
// an account sends NICKNAME with the extension header RegisterHeader
// ("Parley-Register: nickname"; RFC 4975 §7.1.1 lets a receiver ignore
// headers it does not know, so other switches just set the nickname). The
// switch grants the nickname as for any NICKNAME, then registers it to the
// account (Registrar): from then on it, and every look-alike, is refused
// to everyone else in every room (room.WithOwners). A guest's request, or
// one the store cannot register, is answered 403 (RFC 4975 has no server
// error code; the nickname stays granted for the session), one registered
// to another account 425. The registration is written on the sender's
// read goroutine: it is rare, and only the sender waits.
const (
	RegisterHeader = "Parley-Register"
	RegisterValue  = "nickname"
)

// Registrar registers nicknames to accounts: the store, through the
// server.
type Registrar interface {
	// RegisterNickname registers nick (key: its room.NicknameKey) to
	// account; registering it again to the same account succeeds;
	// ErrRegistered when another account holds it. It may wait for the
	// store, bounded.
	RegisterNickname(account, nick, key string) error
}

// ErrRegistered: the nickname is registered to another account.
var ErrRegistered = errors.New("switchboard: nickname registered to another account")

// nickname handles a NICKNAME request (RFC 7701 §7, SPEC §14A.3): 400 when
// Use-Nickname is missing or the request carries Success-Report or
// Failure-Report (RFC 7701 §7.1 forbids them; SPEC §13 row 2), 424 for a
// value that is not a nickname, then room.Nicknames decides: 403 when the
// room does not allow nicknames, 424, 425 reserved or in use, 200.
func (s *Switch) nickname(l *link, msg *msrp.Message) int {
	if msg.Header.Has(msrp.HeaderSuccessReport) || msg.Header.Has(msrp.HeaderFailureReport) {
		return msrp.StatusBadRequest
	}
	nick, ok, err := msg.Nickname()
	switch {
	case !ok:
		return msrp.StatusBadRequest
	case err != nil:
		if !l.m.rs.rm.Policy().Nicknames {
			return msrp.StatusForbidden // policy first (RFC 7701 §7.1: "SHOULD first check")
		}
		return msrp.StatusMalformedNickname
	}
	rm := l.m.rs.rm
	register := msg.Header.Get(RegisterHeader) == RegisterValue
	if register && (l.m.p.Account == "" || s.cfg.Registrar == nil) {
		return msrp.StatusForbidden // a guest owns nothing; or nowhere to keep it
	}
	pol := rm.Policy().Nick
	pol.Allowed = rm.Policy().Nicknames
	res := s.nicks.Request(rm.Name, l.m.p, nick, pol, s.cfg.Now())
	if register && res.Code == msrp.StatusOK {
		if code := s.register(l.m.p, res.Nickname); code != msrp.StatusOK {
			return code
		}
	}
	if res.Code == msrp.StatusOK && res.Changed {
		s.log.Debug("nickname changed", "room", rm.Name, "session", l.sess.ID(), "nickname", res.Nickname, "released", res.Released)
		if s.cfg.Observer != nil {
			s.cfg.Observer.NicknameChanged(rm, l.m.p, res.Nickname)
		}
	} else if res.Code != msrp.StatusOK {
		s.log.Debug("nickname refused", "room", rm.Name, "session", l.sess.ID(), "code", res.Code, "reason", res.Reason)
	}
	return res.Code
}

// register registers nick, just granted to p, to p's account.
func (s *Switch) register(p *room.Participant, nick string) int {
	_, key, err := room.NicknameKey(nick)
	if err == nil {
		err = s.cfg.Registrar.RegisterNickname(p.Account, nick, key)
	}
	switch {
	case err == nil:
		s.log.Info("nickname registered", "nickname", nick, "account", p.Account)
		return msrp.StatusOK
	case errors.Is(err, ErrRegistered):
		return msrp.StatusNicknameInUse
	default:
		s.log.Warn("nickname not registered", "nickname", nick, "account", p.Account, "error", err)
		return msrp.StatusForbidden
	}
}
