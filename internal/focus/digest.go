package focus

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/room"
)

// Accounts is where DigestAuth finds the server's accounts
// (internal/store, adapted by the server). It must answer from memory:
// it is asked on every INVITE and SUBSCRIBE.
type Accounts interface {
	// HA1 returns the account username's stored HA1 for alg (auth.SHA256
	// or auth.MD5), and whether the account exists with one.
	HA1(username, alg string) (string, bool)
	// Exists reports whether username is an account.
	Exists(username string) bool
}

// DigestAuth is the focus's Authenticator: SIP digest authentication
// against the server's accounts (RFC 3261 §22: the focus is a UAS, so it
// challenges with 401 and WWW-Authenticate; RFC 8760: SHA-256 offered
// first, MD5 for older clients). The accounts' domain and the realm are
// Host: the account alice is sip:alice@<Host>.
//
// The rules (docs/DESIGN.md, "Who is speaking"):
//   - A request with credentials must prove them: a wrong password or an
//     unknown user gets 403 (slowed down after repeated failures from one
//     source, auth.Throttle); an expired nonce a new challenge with
//     stale=true; a nonce we did not issue, a replayed nonce count or
//     another realm a new challenge. Its From must then be the account's
//     URI (or anonymous, RFC 3323), else 403.
//   - A request without credentials whose From is an account's URI gets
//     401: an account's URI is never taken without its password.
//   - Any other request without credentials is a guest's, admitted when
//     the room admits guests (room.Policy.DenyGuests false), else 401;
//     with room.Policy.GuestsForeignOnly, a guest's URI in the accounts'
//     domain is refused (403).
type DigestAuth struct {
	Host     string
	Accounts Accounts
	Digest   *auth.Digest
	Throttle *auth.Throttle
	// Algorithms are those a challenge offers, most preferred first (RFC
	// 8760 §2.3); nil: SHA-256 then MD5.
	Algorithms []string
	// Trusted are the sources whose P-Asserted-Identity is the identity
	// (RFC 3325 §9.1: a network that authenticated its users); from any
	// other source the header is ignored.
	Trusted []netip.Prefix
	// TrustedNames are trusted sources by the names of their verified TLS
	// client certificates (lower case), which PeerNames gives for a
	// request's source ("ip:port"; nil: none known).
	TrustedNames []string
	PeerNames    func(source string) []string
}

// Authenticate implements Authenticator.
func (a *DigestAuth) Authenticate(req *sip.Request, pol room.Policy) (Identity, *sip.Response, time.Duration) {
	from := req.From()
	if from == nil {
		return Identity{}, sip.NewResponseFromRequest(req, 400, "Missing From", nil), 0
	}
	if id, ok := a.asserted(req); ok {
		return id, nil, 0
	}
	if h := req.GetHeader("Authorization"); h != nil {
		return a.verify(req, from, h.Value())
	}
	if a.isLocal(from.Address) && a.Accounts.Exists(from.Address.User) {
		return Identity{}, a.challenge(req, false), 0
	}
	if pol.DenyGuests {
		return Identity{}, a.challenge(req, false), 0
	}
	if pol.GuestsForeignOnly && a.isLocal(from.Address) && !isAnonymousURI(from.Address) {
		// No guest may look like an account of this server.
		return Identity{}, sip.NewResponseFromRequest(req, 403, "Guests Must Use A URI Outside This Domain", nil), 0
	}
	return Identity{URI: from.Address.Addr(), Guest: true}, nil, 0
}

// verify checks the credentials v of req.
func (a *DigestAuth) verify(req *sip.Request, from *sip.FromHeader, v string) (Identity, *sip.Response, time.Duration) {
	c, err := auth.ParseCredentials(v)
	if err != nil {
		return Identity{}, sip.NewResponseFromRequest(req, 400, "Malformed Authorization", nil), 0
	}
	if !sameRequestURI(c.URI, req.Recipient) {
		return Identity{}, sip.NewResponseFromRequest(req, 400, "Authorization uri Is Not The Request-URI", nil), 0
	}
	src := sourceHost(req.Source())
	res := a.Digest.Verify(string(req.Method), c, func(alg string) (string, bool) { return a.Accounts.HA1(c.Username, alg) })
	switch res {
	case auth.OK:
	case auth.Stale:
		return Identity{}, a.challenge(req, true), 0
	case auth.Malformed:
		return Identity{}, sip.NewResponseFromRequest(req, 400, "Malformed Authorization", nil), 0
	case auth.UnknownUser, auth.WrongPassword:
		delay := a.Throttle.Delay(src)
		a.Throttle.Fail(src)
		return Identity{}, sip.NewResponseFromRequest(req, 403, "Authentication Failed", nil), delay
	default: // WrongRealm, UnknownNonce, Replayed: try again with a nonce of ours
		return Identity{}, a.challenge(req, false), 0
	}
	a.Throttle.Succeed(src)
	u := from.Address
	switch {
	case a.isLocal(u) && u.User == c.Username:
	case isAnonymousURI(u):
		// RFC 3323: the participant hides who it is from the others; the
		// focus knows. Its identity is the account's URI.
		return Identity{URI: "sip:" + c.Username + "@" + a.Host, Account: c.Username}, nil, 0
	default:
		return Identity{}, sip.NewResponseFromRequest(req, 403, "From Is Not The Authenticated User", nil), 0
	}
	return Identity{URI: u.Addr(), Account: c.Username}, nil, 0
}

// asserted returns the identity a trusted proxy asserts for req (RFC 3325
// §9.1: the first P-Asserted-Identity that is a SIP URI), and false when
// req comes from an untrusted source or asserts none. An asserted URI in
// the accounts' domain naming an account is that account.
func (a *DigestAuth) asserted(req *sip.Request) (Identity, bool) {
	if !a.trusted(req.Source()) {
		return Identity{}, false
	}
	for _, h := range req.GetHeaders("P-Asserted-Identity") {
		for _, v := range strings.Split(h.Value(), ",") {
			v = strings.TrimSpace(v)
			if i := strings.IndexByte(v, '<'); i >= 0 {
				v = strings.TrimSuffix(v[i+1:], ">")
				if j := strings.IndexByte(v, '>'); j >= 0 {
					v = v[:j]
				}
			}
			var u sip.Uri
			if sip.ParseUri(v, &u) != nil || (u.Scheme != "sip" && u.Scheme != "sips") || u.Host == "" {
				continue // a tel: URI, or garbage: the next one
			}
			id := Identity{URI: u.Addr()}
			if a.isLocal(u) && a.Accounts.Exists(u.User) {
				id.Account = u.User
			}
			return id, true
		}
	}
	return Identity{}, false
}

// trusted reports whether source ("ip:port") is a trusted proxy: by its
// address, or by a name its TLS client certificate proved.
func (a *DigestAuth) trusted(source string) bool {
	if len(a.Trusted) > 0 {
		if src, err := netip.ParseAddrPort(source); err == nil && containsAddr(a.Trusted, src.Addr().Unmap()) {
			return true
		}
	}
	if len(a.TrustedNames) > 0 && a.PeerNames != nil {
		for _, n := range a.PeerNames(source) {
			if slices.Contains(a.TrustedNames, n) {
				return true
			}
		}
	}
	return false
}

// containsAddr reports whether one of ps contains addr.
func containsAddr(ps []netip.Prefix, addr netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// challenge is a 401 with a WWW-Authenticate per algorithm offered.
func (a *DigestAuth) challenge(req *sip.Request, stale bool) *sip.Response {
	res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
	chals := a.Digest.Challenges(stale)
	if a.Algorithms == nil {
		for _, v := range chals {
			res.AppendHeader(sip.NewHeader("WWW-Authenticate", v))
		}
		return res
	}
	for _, alg := range a.Algorithms {
		for _, v := range chals {
			if strings.Contains(v, "algorithm="+alg+",") || strings.HasSuffix(v, "algorithm="+alg) {
				res.AppendHeader(sip.NewHeader("WWW-Authenticate", v))
			}
		}
	}
	return res
}

// isLocal reports whether u is in the accounts' domain.
func (a *DigestAuth) isLocal(u sip.Uri) bool {
	return strings.EqualFold(u.Host, a.Host)
}

// isAnonymousURI reports whether u is RFC 3323's anonymous URI
// (sip:anonymous@anonymous.invalid) or any URI in the .invalid domain.
func isAnonymousURI(u sip.Uri) bool {
	h := strings.ToLower(u.Host)
	return h == "anonymous.invalid" || strings.HasSuffix(h, ".invalid")
}

// sameRequestURI reports whether the digest-uri v designates the host of
// the Request-URI r. RFC 3261 §22.4 wants them equal; clients differ on
// the user part and the port (sipp 3.6 sends sip:<host>:<port>), so only
// the scheme's family and the host are compared (without case): the
// response is bound to the request by its nonce, nonce count and method
// all the same.
func sameRequestURI(v string, r sip.Uri) bool {
	var u sip.Uri
	if err := sip.ParseUri(v, &u); err != nil {
		return false
	}
	return (u.Scheme == "sip" || u.Scheme == "sips") && strings.EqualFold(u.Host, r.Host)
}

// sourceHost is the IP address of a request's source "ip:port".
func sourceHost(src string) string {
	if i := strings.LastIndexByte(src, ':'); i > 0 {
		return strings.Trim(src[:i], "[]")
	}
	return src
}
