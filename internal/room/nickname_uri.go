package room

import (
	"strings"
	"sync/atomic"

	"github.com/parley-im/parley/cpim"
)

// DefaultIMHost is the host of nickname IM URIs when NewNicknames is given
// no WithIMHost: im:<local>@parley.invalid.
const DefaultIMHost = "parley"

// NicknamesOption configures NewNicknames.
type NicknamesOption func(*Nicknames)

// WithIMHost sets the host of the IM URIs the focus allocates for
// nicknames (draft-niemi-00 §4.3.1, §4.3.2.1): im:<local>@<host>.invalid,
// a non-routable URI in the focus's address space. host is the focus's host
// name; it is lowercased, characters a host name cannot have become "-",
// and ".invalid" is appended unless already there (RFC 2606 §2). An empty
// host keeps DefaultIMHost.
func WithIMHost(host string) NicknamesOption {
	return func(n *Nicknames) {
		if h := imHost(host); h != "" {
			n.imHost = h
		}
	}
}

// imHost turns a host name or address into the domain of nickname IM URIs,
// or "" when nothing is left of it.
func imHost(host string) string {
	host = strings.Trim(strings.ToLower(strings.TrimSpace(host)), "[]")
	b := make([]byte, 0, len(host)+len(".invalid"))
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' {
			b = append(b, c)
		} else {
			b = append(b, '-') // the colons of an IPv6 address, and anything else
		}
	}
	h := strings.Trim(string(b), ".")
	if h == "" {
		return ""
	}
	if !strings.HasSuffix(h, ".invalid") {
		h += ".invalid"
	}
	return h
}

// imLocal is the user part of the IM URI of the nickname whose PRECIS
// compare key is key: letters a-z and digits stay, every other octet is
// percent-encoded in upper-case hex ("blue arrow" → "blue%20arrow"). The
// encoding is one-to-one, so distinct keys get distinct URIs, and the result
// is a valid RFC 3860 / RFC 2822 local part made of atext and "%" only.
func imLocal(key string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(key) + 8)
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0x0f])
	}
	return b.String()
}

// nickAlias is the IM URI of a nickname, with its cpim.URIKey for Route's
// cheap "not this URI" test.
type nickAlias struct {
	uri, key string
}

func newNickAlias(host, key string) *nickAlias {
	uri := "im:" + imLocal(key) + "@" + host
	return &nickAlias{uri: uri, key: cpim.URIKey(uri)}
}

// aliasSlot holds a participant's nickname IM URI while it holds a
// nickname. Nicknames stores it under its lock; Route loads it without any.
type aliasSlot struct{ p atomic.Pointer[nickAlias] }

func (s *aliasSlot) load() *nickAlias   { return s.p.Load() }
func (s *aliasSlot) store(a *nickAlias) { s.p.Store(a) }

// NicknameURI returns the IM URI of p's nickname (draft-niemi-00 §4.3.1),
// or "" when p holds none. Every session holding one nickname has the same
// URI. It takes no lock.
func (p *Participant) NicknameURI() string {
	if a := p.nick.load(); a != nil {
		return a.uri
	}
	return ""
}

// URIOf returns the IM URI the focus allocated for p's nickname,
// im:<local>@<host>.invalid, or "" when p holds no nickname. The URI is a
// function of the nickname's compare key: it changes with the nickname, not
// with a respelling that compares equal. It is p.NicknameURI.
func (n *Nicknames) URIOf(p *Participant) string { return p.NicknameURI() }
