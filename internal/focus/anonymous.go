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
	return "sip:anonymous-" + msrp.NewTID() + "@" + f.cfg.Host
}

// bareURI is u without parameters or headers: scheme:user@host[:port].
func bareURI(u sip.Uri) string {
	b := sip.Uri{Scheme: u.Scheme, User: u.User, Host: u.Host, Port: u.Port}
	if b.Scheme == "" {
		b.Scheme = "sip"
	}
	return b.String()
}
