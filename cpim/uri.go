package cpim

import "strings"

// URIEqual reports whether two URIs identify the same resource, following
// the comparison rules of the URI's scheme. Pass bare URIs (Address.URI):
// angle brackets and display names are the caller's business.
//
// sip and sips (RFC 3261 §19.1.4):
//   - the schemes must be equal; sip and sips never match;
//   - userinfo (user and password) is compared case-sensitively, after
//     decoding percent-escapes of unreserved characters;
//   - the host is compared case-insensitively;
//   - ports must be equal, and an absent port does not equal 5060;
//   - the user, ttl, method and maddr parameters must be present in both or
//     neither, with equal values; any other parameter (transport included)
//     must match when present in both and is ignored when present in one;
//   - URI headers (?name=value&…) must match when present in either,
//     compared as sets;
//   - parameter and header names and values are compared case-insensitively.
//     Where a parameter name repeats, the first occurrence counts.
//
// tel (RFC 3966 §4): the numbers are compared case-insensitively ignoring
// the visual separators "-", ".", "(" and ")", and the parameters must be
// the same set, compared case-insensitively.
//
// im and pres (RFC 3860, RFC 3859): the part before the last "@" is compared
// exactly, the part after it case-insensitively.
//
// Any other scheme: the scheme case-insensitively, the rest exactly. A
// string without a valid scheme equals only itself.
//
// URIEqual is reflexive and symmetric; it is not transitive (a transport
// parameter present on one side only is ignored). It does not allocate, and
// its cost is bounded: a URI with 64 or more parameters or headers equals
// only an identical string.
func URIEqual(a, b string) bool { return a == b || uriEqual(a, b) }

// SameUserHost reports whether a and b are sip or sips URIs naming the same
// user at the same host, compared as URIEqual compares those parts, whatever
// their schemes, ports, parameters and headers: one resource reachable under
// several ports, such as a conference focus's room URI on its UDP and TCP
// listeners. Anything else is never the same.
func SameUserHost(a, b string) bool {
	sa, ra, oka := splitScheme(a)
	sb, rb, okb := splitScheme(b)
	if !oka || !okb || !isSIPScheme(sa) || !isSIPScheme(sb) {
		return false
	}
	ua, ub := splitSIP(ra), splitSIP(rb)
	return ua.hasUser && ub.hasUser && unitsEqual(ua.userinfo, ub.userinfo, false) && equalFold(ua.host, ub.host)
}

func isSIPScheme(s string) bool { return equalFold(s, "sip") || equalFold(s, "sips") }

// uriEqual is URIEqual without the shortcut for identical strings, so that
// tests can check it is reflexive on its own.
func uriEqual(a, b string) bool {
	sa, ra, oka := splitScheme(a)
	sb, rb, okb := splitScheme(b)
	if !oka || !okb {
		return a == b
	}
	if !equalFold(sa, sb) {
		return false
	}
	switch {
	case equalFold(sa, "sip"), equalFold(sa, "sips"):
		return sipEqual(splitSIP(ra), splitSIP(rb))
	case equalFold(sa, "tel"):
		return telEqual(ra, rb)
	case equalFold(sa, "im"), equalFold(sa, "pres"):
		ua, ha, ata := splitMailbox(ra)
		ub, hb, atb := splitMailbox(rb)
		return ata == atb && ua == ub && equalFold(ha, hb)
	}
	return ra == rb
}

// URIKey returns a canonical string for map lookups: URIEqual(a, b) implies
// URIKey(a) == URIKey(b), so look a URI up by its key and then confirm with
// URIEqual. The key is the lowercased scheme, then:
//
//   - sip, sips: the userinfo with escaped unreserved characters decoded and
//     other escapes in upper-case hex, "@", the lowercased host, and ":port"
//     when a port is present. All URI parameters and headers are ignored.
//   - tel: the number lowercased without visual separators; parameters are
//     ignored.
//   - im, pres: the part before the last "@" as is, "@", the rest lowercased.
//   - other schemes: the rest as is.
//
// A string without a valid scheme is its own key.
func URIKey(s string) string {
	scheme, rest, ok := splitScheme(s)
	if !ok {
		return s
	}
	key := make([]byte, 0, len(s))
	key = appendLower(key, scheme)
	key = append(key, ':')
	switch {
	case equalFold(scheme, "sip"), equalFold(scheme, "sips"):
		u := splitSIP(rest)
		if u.hasUser {
			key = appendUnits(key, u.userinfo)
			key = append(key, '@')
		}
		key = appendLower(key, u.host)
		if u.hasPort {
			key = append(key, ':')
			key = append(key, u.port...)
		}
	case equalFold(scheme, "tel"):
		number, _, _ := strings.Cut(rest, ";")
		for i := 0; i < len(number); i++ {
			if !isVisualSeparator(number[i]) {
				key = append(key, lower(number[i]))
			}
		}
	case equalFold(scheme, "im"), equalFold(scheme, "pres"):
		user, host, at := splitMailbox(rest)
		if at {
			key = append(key, user...)
			key = append(key, '@')
		}
		key = appendLower(key, host)
	default:
		key = append(key, rest...)
	}
	return string(key)
}

// splitScheme splits "scheme:rest"; scheme = ALPHA *( ALPHA / DIGIT / "+" /
// "-" / "." ).
func splitScheme(s string) (scheme, rest string, ok bool) {
	i := strings.IndexByte(s, ':')
	if i <= 0 || !isAlpha(s[0]) {
		return "", "", false
	}
	for j := 1; j < i; j++ {
		if c := s[j]; !isAlphaNum(c) && c != '+' && c != '-' && c != '.' {
			return "", "", false
		}
	}
	return s[:i], s[i+1:], true
}

// splitMailbox splits at the last "@".
func splitMailbox(s string) (user, host string, at bool) {
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		return "", s, false
	}
	return s[:i], s[i+1:], true
}

func isVisualSeparator(c byte) bool { return c == '-' || c == '.' || c == '(' || c == ')' }

func telEqual(a, b string) bool {
	na, pa, _ := strings.Cut(a, ";")
	nb, pb, _ := strings.Cut(b, ";")
	i, j := 0, 0
	for {
		for i < len(na) && isVisualSeparator(na[i]) {
			i++
		}
		for j < len(nb) && isVisualSeparator(nb[j]) {
			j++
		}
		if i == len(na) || j == len(nb) {
			break
		}
		if lower(na[i]) != lower(nb[j]) {
			return false
		}
		i, j = i+1, j+1
	}
	if i != len(na) || j != len(nb) || tooManyParts(pa, ';') || tooManyParts(pb, ';') {
		return false
	}
	return paramsEqual(pa, pb, func(string) bool { return true })
}
