package msrp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// URI is an MSRP URI (RFC 4975 §6, RFC 7977 §5.2.1):
//
//	msrp-scheme "://" authority ["/" session-id] ";" transport *( ";" URI-parameter)
//
// The zero value is not a valid URI. Parsing does not allocate: every string
// field is a substring of the parsed text.
type URI struct {
	Secure    bool   // msrps (TLS) rather than msrp
	User      string // userinfo without the "@", usually empty
	Host      string // host name or IP address; an IPv6 literal without brackets
	Port      int    // 0 when the URI has no explicit port
	SessionID string // empty for a URI without a session-id (relay AUTH URIs)
	Transport string // "tcp", "ws" (RFC 7977), or another ALPHANUM token, as written
	Params    string // further ";name[=value]" parameters after the transport, without the leading ";"
}

// ParseURI parses one MSRP URI.
func ParseURI(s string) (URI, error) {
	var u URI
	rest := s
	switch {
	case hasPrefixFold(rest, "msrp://"):
		rest = rest[len("msrp://"):]
	case hasPrefixFold(rest, "msrps://"):
		u.Secure = true
		rest = rest[len("msrps://"):]
	default:
		return URI{}, uriError(s, "scheme is not msrp or msrps")
	}
	semi := strings.IndexByte(rest, ';')
	if semi < 0 {
		return URI{}, uriError(s, "missing transport parameter")
	}
	hierPart, params := rest[:semi], rest[semi+1:]

	authority := hierPart
	if slash := strings.IndexByte(hierPart, '/'); slash >= 0 {
		authority, u.SessionID = hierPart[:slash], hierPart[slash+1:]
		if u.SessionID == "" {
			return URI{}, uriError(s, "empty session-id")
		}
		for i := 0; i < len(u.SessionID); i++ {
			if !isSessionIDChar(u.SessionID[i]) {
				return URI{}, uriError(s, "invalid character in session-id")
			}
		}
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		u.User, authority = authority[:at], authority[at+1:]
		for i := 0; i < len(u.User); i++ {
			if !isUserinfoChar(u.User[i]) {
				return URI{}, uriError(s, "invalid character in userinfo")
			}
		}
	}
	host, port, err := splitHostPort(authority)
	if err != "" {
		return URI{}, uriError(s, err)
	}
	u.Host, u.Port = host, port

	transport, more, _ := strings.Cut(params, ";")
	if transport == "" {
		return URI{}, uriError(s, "empty transport parameter")
	}
	for i := 0; i < len(transport); i++ {
		if !isAlphaNum(transport[i]) {
			return URI{}, uriError(s, "transport is not alphanumeric")
		}
	}
	u.Transport = transport
	u.Params = more
	for p := range strings.SplitSeq(more, ";") {
		if more == "" {
			break
		}
		name, value, hasValue := strings.Cut(p, "=")
		if !isToken(name) || (hasValue && !isToken(value)) {
			return URI{}, uriError(s, "malformed URI parameter")
		}
	}
	return u, nil
}

// splitHostPort splits an RFC 3986 authority (without userinfo). It returns a
// reason string instead of an error so that ParseURI can wrap it once.
func splitHostPort(a string) (host string, port int, reason string) {
	hostPart, portPart := a, ""
	hasPort := false
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "", 0, "unterminated IPv6 literal"
		}
		hostPart = a[1:end]
		addr, err := netip.ParseAddr(hostPart)
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", 0, "invalid IPv6 literal"
		}
		switch rest := a[end+1:]; {
		case rest == "":
		case rest[0] == ':':
			portPart, hasPort = rest[1:], true
		default:
			return "", 0, "junk after IPv6 literal"
		}
	} else {
		if colon := strings.IndexByte(a, ':'); colon >= 0 {
			hostPart, portPart, hasPort = a[:colon], a[colon+1:], true
		}
		if hostPart == "" {
			return "", 0, "empty host"
		}
		for i := 0; i < len(hostPart); i++ {
			if !isRegNameChar(hostPart[i]) {
				return "", 0, "invalid character in host"
			}
		}
	}
	if hasPort {
		if portPart == "" || len(portPart) > 5 {
			return "", 0, "invalid port"
		}
		n := 0
		for i := 0; i < len(portPart); i++ {
			c := portPart[i]
			if c < '0' || c > '9' {
				return "", 0, "invalid port"
			}
			n = n*10 + int(c-'0')
		}
		if n == 0 || n > 65535 {
			return "", 0, "port out of range"
		}
		port = n
	}
	return hostPart, port, ""
}

// MustParseURI is ParseURI for constants in tests and examples; it panics on error.
func MustParseURI(s string) URI {
	u, err := ParseURI(s)
	if err != nil {
		panic(err)
	}
	return u
}

// HasPort reports whether the URI carries an explicit port, which RFC 4975
// §8.2 requires of every URI in SDP and in the To-Path/From-Path of non-AUTH
// requests.
func (u URI) HasPort() bool { return u.Port != 0 }

// Scheme returns "msrps" or "msrp".
func (u URI) Scheme() string {
	if u.Secure {
		return "msrps"
	}
	return "msrp"
}

// String formats the URI in its canonical form (lower-case scheme).
func (u URI) String() string { return string(u.AppendTo(make([]byte, 0, 64))) }

// AppendTo appends the formatted URI to dst.
func (u URI) AppendTo(dst []byte) []byte {
	dst = append(dst, u.Scheme()...)
	dst = append(dst, "://"...)
	if u.User != "" {
		dst = append(dst, u.User...)
		dst = append(dst, '@')
	}
	if strings.IndexByte(u.Host, ':') >= 0 {
		dst = append(dst, '[')
		dst = append(dst, u.Host...)
		dst = append(dst, ']')
	} else {
		dst = append(dst, u.Host...)
	}
	if u.Port != 0 {
		dst = append(dst, ':')
		dst = strconv.AppendInt(dst, int64(u.Port), 10)
	}
	if u.SessionID != "" {
		dst = append(dst, '/')
		dst = append(dst, u.SessionID...)
	}
	dst = append(dst, ';')
	dst = append(dst, u.Transport...)
	if u.Params != "" {
		dst = append(dst, ';')
		dst = append(dst, u.Params...)
	}
	return dst
}

// Equal compares two URIs by the rules of RFC 4975 §6.1: the scheme must
// match; userinfo is not considered; an IP address is compared as an address
// and a host name case-insensitively after percent-decoding; an explicit port
// in either URI must match exactly; the session-id is case-sensitive (a URI
// without one never equals a URI with one); the transport must match,
// case-insensitively. Other URI parameters are not compared.
func (u URI) Equal(v URI) bool {
	if u.Secure != v.Secure || u.Port != v.Port || u.SessionID != v.SessionID {
		return false
	}
	if !strings.EqualFold(u.Transport, v.Transport) {
		return false
	}
	return hostEqual(u.Host, v.Host)
}

func hostEqual(a, b string) bool {
	if a == b {
		return true
	}
	if ia, err := netip.ParseAddr(a); err == nil {
		ib, err := netip.ParseAddr(b)
		return err == nil && ia == ib
	}
	if strings.IndexByte(a, '%') >= 0 || strings.IndexByte(b, '%') >= 0 {
		return strings.EqualFold(pctDecode(a), pctDecode(b))
	}
	return strings.EqualFold(a, b)
}

// pctDecode decodes percent-encoded octets; malformed escapes are kept as is.
func pctDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ParsePath parses the value of a To-Path or From-Path header, or of an SDP
// a=path attribute: one or more MSRP URIs separated by spaces. The leftmost
// URI is the next hop, the rightmost the endpoint.
func ParsePath(s string) ([]URI, error) {
	n := 0
	for f := range strings.FieldsSeq(s) {
		_ = f
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("msrp: empty path: %w", ErrInvalidURI)
	}
	path := make([]URI, 0, n)
	for f := range strings.FieldsSeq(s) {
		u, err := ParseURI(f)
		if err != nil {
			return nil, err
		}
		path = append(path, u)
	}
	return path, nil
}

// AppendPath appends the URIs of path separated by single spaces.
func AppendPath(dst []byte, path []URI) []byte {
	for i, u := range path {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = u.AppendTo(dst)
	}
	return dst
}

// FormatPath formats a path for a To-Path or From-Path header or an a=path attribute.
func FormatPath(path []URI) string { return string(AppendPath(nil, path)) }

// PathEqual reports whether two paths have the same length and pairwise Equal URIs.
func PathEqual(a, b []URI) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

func uriError(s, reason string) error {
	return fmt.Errorf("msrp: invalid URI %q: %s: %w", s, reason, ErrInvalidURI)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
