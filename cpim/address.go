package cpim

import "strings"

// Address is the value of a From, To or cc header (RFC 3862 §4.1–4.3):
//
//	[ Formal-name ] "<" URI ">"
//	Formal-name = 1*( Token SP ) / String
//
// DisplayName is decoded (quotes removed, escapes resolved); "" when absent.
// URI is the text between the angle brackets, verbatim. Compare URIs with
// URIEqual, never with ==.
type Address struct {
	DisplayName string
	URI         string
}

// ParseAddress parses a From, To or cc value. Beyond the grammar it accepts
// surrounding whitespace, several SPs between tokens, a missing SP before
// "<", and an unquoted display name made of characters other than Token
// characters (kept as written). It rejects control characters, an
// unterminated or badly escaped quoted name, a missing or empty <URI>, a URI
// containing SP, "<" or a control character, and anything after ">".
// Errors wrap ErrInvalidAddress.
func ParseAddress(s string) (Address, error) {
	s = trimWS(s)
	if s == "" {
		return Address{}, invalidAddress("empty")
	}
	var a Address
	var rest string
	if s[0] == '"' {
		name, n, err := parseQuoted(s)
		if err != nil {
			return Address{}, err
		}
		a.DisplayName, rest = name, trimLeftWS(s[n:])
		if !strings.HasPrefix(rest, "<") {
			return Address{}, invalidAddress("missing '<' after display name")
		}
	} else {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			return Address{}, invalidAddress("missing '<'")
		}
		a.DisplayName, rest = trimRightWS(s[:lt]), s[lt:]
		for i := 0; i < len(a.DisplayName); i++ {
			if c := a.DisplayName[i]; c == '"' || isCTL(c) {
				return Address{}, invalidAddress("invalid character in display name")
			}
		}
	}
	gt := strings.IndexByte(rest, '>')
	if gt < 0 {
		return Address{}, invalidAddress("missing '>'")
	}
	if gt+1 != len(rest) {
		return Address{}, invalidAddress("characters after '>'")
	}
	a.URI = rest[1:gt]
	if a.URI == "" {
		return Address{}, invalidAddress("empty URI")
	}
	for i := 0; i < len(a.URI); i++ {
		if c := a.URI[i]; c == '<' || c == ' ' || isCTL(c) {
			return Address{}, invalidAddress("invalid character in URI")
		}
	}
	return a, nil
}

// parseQuoted decodes the String at the start of s (s[0] is DQUOTE) and
// returns it with the number of bytes it used. It does not allocate unless
// the string contains escapes.
func parseQuoted(s string) (string, int, error) {
	var buf []byte // nil until the first escape
	for i := 1; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			if buf == nil {
				return s[1:i], i + 1, nil
			}
			return string(buf), i + 1, nil
		case c == '\\':
			if buf == nil {
				buf = append(make([]byte, 0, len(s)), s[1:i]...)
			}
			var n int
			var ok bool
			if buf, n, ok = decodeEscape(buf, s, i); !ok {
				return "", 0, invalidAddress("invalid escape in display name")
			}
			i += n
		case isCTL(c):
			return "", 0, invalidAddress("control character in display name")
		default:
			if buf != nil {
				buf = append(buf, c)
			}
			i++
		}
	}
	return "", 0, invalidAddress("unterminated quoted display name")
}

// String formats a as [ Formal-name SP ] "<" URI ">". The display name is
// written bare when it is Tokens separated by single spaces, and quoted with
// escapes otherwise.
func (a Address) String() string {
	return string(a.Append(make([]byte, 0, len(a.DisplayName)+len(a.URI)+5)))
}

// Append appends the formatted address to dst.
func (a Address) Append(dst []byte) []byte {
	if a.DisplayName != "" {
		if isTokenPhrase(a.DisplayName) {
			dst = append(dst, a.DisplayName...)
		} else {
			dst = appendQuoted(dst, a.DisplayName)
		}
		dst = append(dst, ' ')
	}
	dst = append(dst, '<')
	dst = append(dst, a.URI...)
	return append(dst, '>')
}

// isTokenPhrase reports whether s is 1*Token separated by single SPs.
func isTokenPhrase(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ' ' {
			if s[i-1] == ' ' {
				return false
			}
		} else if !isTokenChar(c) {
			return false
		}
	}
	return true
}
