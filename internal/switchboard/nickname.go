package switchboard

import (
	"github.com/parley-im/parley/msrp"
)

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
		if !l.m.rs.rm.Policy.Nicknames {
			return msrp.StatusForbidden // policy first (RFC 7701 §7.1: "SHOULD first check")
		}
		return msrp.StatusMalformedNickname
	}
	rm := l.m.rs.rm
	pol := rm.Policy.Nick
	pol.Allowed = rm.Policy.Nicknames
	res := s.nicks.Request(rm.Name, l.m.p, nick, pol, s.cfg.Now())
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
