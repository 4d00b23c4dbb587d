package cpim

import "strings"

// sipURI is a sip or sips URI after the scheme, cut into its parts. Nothing
// is validated: any string splits, so that URIEqual is total.
type sipURI struct {
	userinfo string // user[:password], escapes intact
	host     string
	port     string
	params   string // after the first ";" of the host part, without it
	headers  string // after the "?", without it
	hasUser  bool   // an "@" was present
	hasPort  bool   // a ":" followed the host
}

// splitSIP splits userinfo@hostport;params?headers. The userinfo ends at the
// last "@" (it may itself contain ";" and "?", RFC 3261 user-unreserved).
func splitSIP(s string) sipURI {
	var u sipURI
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		u.userinfo, s, u.hasUser = s[:at], s[at+1:], true
	}
	if q := strings.IndexByte(s, '?'); q >= 0 {
		s, u.headers = s[:q], s[q+1:]
	}
	if sc := strings.IndexByte(s, ';'); sc >= 0 {
		s, u.params = s[:sc], s[sc+1:]
	}
	u.host = s
	if strings.HasPrefix(s, "[") { // IPv6 reference
		if rb := strings.IndexByte(s, ']'); rb >= 0 && strings.HasPrefix(s[rb+1:], ":") {
			u.host, u.port, u.hasPort = s[:rb+1], s[rb+2:], true
		}
	} else if c := strings.LastIndexByte(s, ':'); c >= 0 {
		u.host, u.port, u.hasPort = s[:c], s[c+1:], true
	}
	return u
}

// maxParts bounds the parameters or headers of a URI that URIEqual looks
// into; comparing lists is quadratic in their length. URIs beyond it (no
// real one comes close) equal only themselves.
const maxParts = 64

func tooManyParts(list string, sep byte) bool { return strings.Count(list, string(sep)) >= maxParts }

func sipEqual(a, b sipURI) bool {
	if tooManyParts(a.params, ';') || tooManyParts(b.params, ';') ||
		tooManyParts(a.headers, '&') || tooManyParts(b.headers, '&') {
		return false // the callers handle identical strings
	}
	return a.hasUser == b.hasUser &&
		unitsEqual(a.userinfo, b.userinfo, false) &&
		equalFold(a.host, b.host) &&
		a.hasPort == b.hasPort && a.port == b.port &&
		paramsEqual(a.params, b.params, sipMustMatch) &&
		headersEqual(a.headers, b.headers)
}

// sipMustMatch: parameters that make two URIs differ when only one has them
// (RFC 3261 §19.1.4).
func sipMustMatch(name string) bool {
	return unitsEqual(name, "user", true) || unitsEqual(name, "ttl", true) ||
		unitsEqual(name, "method", true) || unitsEqual(name, "maddr", true)
}

// paramsEqual compares two ";"-separated name[=value] lists. A parameter in
// both must have equal values; a parameter in one only makes them differ
// when must(name). Only the first occurrence of a name counts.
func paramsEqual(a, b string, must func(name string) bool) bool {
	return paramsCovered(a, b, must) && paramsCovered(b, a, must)
}

// paramsCovered checks every parameter of a against b.
func paramsCovered(a, b string, must func(string) bool) bool {
	for off, end := 0, 0; off < len(a); off = end + 1 {
		end = strings.IndexByte(a[off:], ';')
		if end < 0 {
			end = len(a)
		} else {
			end += off
		}
		name, value, hasValue := strings.Cut(a[off:end], "=")
		if name == "" {
			continue
		}
		if _, _, dup := lookupParam(a[:off], name); dup {
			continue // only the first occurrence counts
		}
		v, hv, found := lookupParam(b, name)
		if !found {
			if must(name) {
				return false
			}
			continue
		}
		if hv != hasValue || !unitsEqual(value, v, true) {
			return false
		}
	}
	return true
}

// lookupParam finds the first parameter called name (case-insensitively,
// escapes decoded) in a ";"-separated list.
func lookupParam(list, name string) (value string, hasValue, found bool) {
	for rest := list; rest != ""; {
		var p string
		p, rest, _ = strings.Cut(rest, ";")
		n, v, hv := strings.Cut(p, "=")
		if n != "" && unitsEqual(n, name, true) {
			return v, hv, true
		}
	}
	return "", false, false
}

// headersEqual compares two "&"-separated hname=hvalue lists as sets.
func headersEqual(a, b string) bool { return headersCovered(a, b) && headersCovered(b, a) }

func headersCovered(a, b string) bool {
	for rest := a; rest != ""; {
		var h string
		h, rest, _ = strings.Cut(rest, "&")
		if h != "" && !hasHeader(b, h) {
			return false
		}
	}
	return true
}

func hasHeader(list, h string) bool {
	name, value, hv := strings.Cut(h, "=")
	for rest := list; rest != ""; {
		var g string
		g, rest, _ = strings.Cut(rest, "&")
		n, v, gv := strings.Cut(g, "=")
		if g != "" && hv == gv && unitsEqual(n, name, true) && unitsEqual(v, value, true) {
			return true
		}
	}
	return false
}

// unitAt reads the unit at s[i]: a literal byte, or a percent-escape. An
// escaped unreserved character reads as that literal character (RFC 3261
// §19.1.4: it is equivalent to its encoding); other escapes stay escapes.
func unitAt(s string, i int) (c byte, escaped bool, n int) {
	if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
		v := unhex(s[i+1])<<4 | unhex(s[i+2])
		return v, !isUnreserved(v), 3
	}
	return s[i], false, 1
}

// unitsEqual compares two URI components unit by unit; fold compares
// literal characters case-insensitively.
func unitsEqual(a, b string, fold bool) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, ea, na := unitAt(a, i)
		cb, eb, nb := unitAt(b, j)
		if ea != eb {
			return false
		}
		if fold && !ea {
			ca, cb = lower(ca), lower(cb)
		}
		if ca != cb {
			return false
		}
		i, j = i+na, j+nb
	}
	return i == len(a) && j == len(b)
}

// appendUnits appends the canonical form of s: escaped unreserved characters
// decoded, other escapes in upper-case hex.
func appendUnits(dst []byte, s string) []byte {
	const hexdig = "0123456789ABCDEF"
	for i := 0; i < len(s); {
		c, esc, n := unitAt(s, i)
		if esc {
			dst = append(dst, '%', hexdig[c>>4], hexdig[c&0xf])
		} else {
			dst = append(dst, c)
		}
		i += n
	}
	return dst
}
