package focus

import (
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/msrp"
)

// wantsAnonymity reports whether an INVITE asks for the participant's
// identity to be withheld from the other participants: a Privacy header
// (RFC 3323 §4.2, RFC 3325 §9.3) with the id, user or header value, or a
// From that is already anonymous (RFC 3323 §4.1.1.3:
// sip:anonymous@anonymous.invalid, or any user "anonymous").
func wantsAnonymity(req *sip.Request) bool {
	for _, h := range req.GetHeaders("Privacy") {
		for _, v := range strings.FieldsFunc(h.Value(), func(r rune) bool { return r == ';' || r == ',' || r == ' ' || r == '\t' }) {
			switch strings.ToLower(v) {
			case "id", "user", "header":
				return true
			}
		}
	}
	if from := req.From(); from != nil {
		return strings.EqualFold(from.Address.User, "anonymous") || strings.EqualFold(from.Address.Host, "anonymous.invalid")
	}
	return false
}

// anonymousURI allocates the URI an anonymous participant is known by in
// its room (RFC 7701 §2, §5.2): random (95 bits), valid for the length of
// its session, revealing nothing of its AOR.
func (f *Focus) anonymousURI() string {
	return "sip:" + anonymousUserPrefix + msrp.NewTID() + "@" + f.cfg.Host
}

// anonymousUserPrefix begins the user part of every anonymous URI the
// focus allocates; at the focus's host, the whole namespace is reserved
// (reservedIdentity).
const anonymousUserPrefix = "anonymous-"

// reservedIdentity reports whether the From of a request that would join
// or watch a room (INVITE, SUBSCRIBE) names what no participant may be:
// the room itself as the request addressed it (CPIM From the room URI is
// how the room's own notices are told apart, RFC 7701 §6.1), any room or
// the focus itself at our host (the focus's URIs, RFC 4579 §3), or an
// anonymous URI the focus allocates (a private message to an anonymous
// participant is routed by it, RFC 7701 §5.2). Users are compared after
// unescaping, hosts without case and ports ignored, as cpim.SameUserHost
// compares a From with the room's URI.
func (f *Focus) reservedIdentity(req *sip.Request) bool {
	from := req.From()
	if from == nil {
		return false
	}
	user, host := unescapeUser(from.Address.User), from.Address.Host
	if user != "" && user == unescapeUser(req.Recipient.User) && strings.EqualFold(host, req.Recipient.Host) {
		return true
	}
	if !strings.EqualFold(host, f.cfg.Host) {
		return false
	}
	if user == "" || strings.HasPrefix(strings.ToLower(user), anonymousUserPrefix) {
		return true
	}
	_, isRoom := f.cfg.Rooms.Lookup(user)
	return isRoom
}

// bareURI is u without parameters or headers: scheme:user@host[:port].
func bareURI(u sip.Uri) string {
	b := sip.Uri{Scheme: u.Scheme, User: u.User, Host: u.Host, Port: u.Port}
	if b.Scheme == "" {
		b.Scheme = "sip"
	}
	return b.String()
}
