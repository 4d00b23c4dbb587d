package cpim

// Character classes of the RFC 3862 §3.6 grammar and RFC 3261 §25.1. Each is
// a plain function over a byte so that the compiler can inline it.

func isAlpha(c byte) bool    { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool    { return c >= '0' && c <= '9' }
func isAlphaNum(c byte) bool { return isAlpha(c) || isDigit(c) }
func isHex(c byte) bool      { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }

func unhex(c byte) byte {
	if isDigit(c) {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}

// isCTL reports an ASCII control character (including HTAB and DEL).
func isCTL(c byte) bool { return c < 0x20 || c == 0x7f }

// isNameChar is NAMECHAR:
// %x21 / %x23-27 / %x2a-2b / %x2d / %x5e-60 / %x7c / %x7e / ALPHA / DIGIT.
func isNameChar(c byte) bool {
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '^', '_', '`', '|', '~':
		return true
	}
	return isAlphaNum(c)
}

// isTokenChar is TOKENCHAR = NAMECHAR / "." / UCS-high. Any byte >= 0x80 is
// taken as part of a UTF-8 sequence; validity is not checked.
func isTokenChar(c byte) bool { return isNameChar(c) || c == '.' || c >= 0x80 }

// isWireNameChar is what Parse accepts in a header name: visible US-ASCII
// except ":". Looser than Header-name so that unknown extension headers from
// sloppy peers still parse; AddHeader enforces the grammar on output.
func isWireNameChar(c byte) bool { return c > 0x20 && c < 0x7f && c != ':' }

// isUnreserved is RFC 3261 unreserved = alphanum / mark.
func isUnreserved(c byte) bool {
	switch c {
	case '-', '_', '.', '!', '~', '*', '\'', '(', ')':
		return true
	}
	return isAlphaNum(c)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold is ASCII-only case-insensitive equality (no Unicode folding, so
// that it agrees byte for byte with appendLower).
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && equalFold(s[:len(prefix)], prefix)
}

func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = append(dst, lower(s[i]))
	}
	return dst
}

// trimWS removes SP and HTAB from both ends.
func trimWS(s string) string { return trimLeftWS(trimRightWS(s)) }

func trimLeftWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

func trimRightWS(s string) string {
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
