package sdp

import "strings"

// Setup is the RFC 4145 connection role of a=setup, as used by RFC 6135
// for MSRP.
type Setup int

// Setup values. SetupNone means no a=setup, or a value that is not one of
// the four RFC 4145 roles.
const (
	SetupNone     Setup = iota // absent or unrecognised
	SetupActive                // the endpoint opens the connection
	SetupPassive               // the endpoint accepts the connection
	SetupActpass               // the endpoint can do either (offers only)
	SetupHoldconn              // must be treated as absent (RFC 6135 §4.2.1); see Effective
)

// String returns the attribute value ("active", …), or "" for SetupNone.
func (s Setup) String() string {
	switch s {
	case SetupActive:
		return "active"
	case SetupPassive:
		return "passive"
	case SetupActpass:
		return "actpass"
	case SetupHoldconn:
		return "holdconn"
	}
	return ""
}

// Effective returns the role to act on: SetupNone for SetupHoldconn, which
// an MSRP endpoint receiving it must ignore (RFC 6135 §4.2.1), else s.
func (s Setup) Effective() Setup {
	if s == SetupHoldconn {
		return SetupNone
	}
	return s
}

// ParseSetup parses an a=setup value, case-insensitively and ignoring
// surrounding blanks. Anything but the four RFC 4145 roles is SetupNone.
func ParseSetup(v string) Setup {
	v = strings.Trim(v, " \t")
	for r := SetupActive; r <= SetupHoldconn; r++ {
		if strings.EqualFold(v, r.String()) {
			return r
		}
	}
	return SetupNone
}

// Setup returns the role of the first a=setup attribute, SetupNone if there
// is none. SetupHoldconn is returned as such: use Effective() to act on it.
// a=connection (RFC 4145) is ignored for MSRP (RFC 6135 §4.4) and has no
// accessor.
func (m *Media) Setup() Setup {
	v, ok := m.Attr(AttrSetup)
	if !ok {
		return SetupNone
	}
	return ParseSetup(v)
}

// SetSetup sets a=setup, or removes it for SetupNone. An MSRP endpoint must
// not send holdconn (RFC 6135 §4.2.1); SetSetup writes what it is given.
func (m *Media) SetSetup(s Setup) {
	if s.String() == "" {
		m.DelAttr(AttrSetup)
		return
	}
	m.SetAttr(AttrSetup, s.String())
}

// AnswerSetup returns the a=setup an always-reachable answerer (the
// parley focus) puts in its answer to an offer with role offer (SPEC §4):
// passive to actpass, active or no a=setup (holdconn counts as absent, so
// the offerer stays active as in plain RFC 4975); active to passive, which
// RFC 6135 forbids in offers but peers send.
func AnswerSetup(offer Setup) Setup {
	if offer.Effective() == SetupPassive {
		return SetupActive
	}
	return SetupPassive
}
