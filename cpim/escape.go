package cpim

import (
	"strings"
	"unicode/utf8"
)

// The RFC 3862 §2.3 escape mechanism:
//
//	Escape = "\" ( "u" 4(HEXDIG) / "b" / "t" / "n" / "r" / DQUOTE / "'" / "\" )
//
// A \uXXXX escape names one UTF-16 code unit; a high surrogate followed by an
// escaped low surrogate is joined into one rune, a lone surrogate becomes
// U+FFFD.

// decodeEscape decodes the escape that starts with the backslash at s[i]. It
// appends the decoded bytes to dst and returns how many bytes of s it used;
// ok is false for a malformed escape.
func decodeEscape(dst []byte, s string, i int) (_ []byte, n int, ok bool) {
	if i+1 >= len(s) {
		return dst, 0, false
	}
	switch s[i+1] {
	case 'b':
		return append(dst, '\b'), 2, true
	case 't':
		return append(dst, '\t'), 2, true
	case 'n':
		return append(dst, '\n'), 2, true
	case 'r':
		return append(dst, '\r'), 2, true
	case '"', '\'', '\\':
		return append(dst, s[i+1]), 2, true
	case 'u':
		u, ok := hex4(s, i+2)
		if !ok {
			return dst, 0, false
		}
		if u >= 0xd800 && u < 0xdc00 && i+12 <= len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
			if lo, ok := hex4(s, i+8); ok && lo >= 0xdc00 && lo < 0xe000 {
				r := 0x10000 + (u-0xd800)<<10 + (lo - 0xdc00)
				return utf8.AppendRune(dst, r), 12, true
			}
		}
		return utf8.AppendRune(dst, u), 6, true // a lone surrogate is written as U+FFFD
	}
	return dst, 0, false
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		if !isHex(c) {
			return 0, false
		}
		r = r<<4 | rune(unhex(c))
	}
	return r, true
}

// unescape decodes the escapes in a header value. It is lenient: a backslash
// that does not start a valid escape is kept as it is. It allocates only when
// s contains a backslash.
func unescape(s string) string {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s
	}
	buf := make([]byte, 0, len(s))
	buf = append(buf, s[:i]...)
	for i < len(s) {
		if s[i] != '\\' {
			buf = append(buf, s[i])
			i++
			continue
		}
		var n int
		var ok bool
		if buf, n, ok = decodeEscape(buf, s, i); !ok {
			buf = append(buf, '\\')
			n = 1
		}
		i += n
	}
	return string(buf)
}

// appendEscapedValue appends s as a header value: backslashes and control
// characters are escaped, and so is trailing whitespace, which a reader would
// otherwise trim.
func appendEscapedValue(dst []byte, s string) []byte {
	body := trimRightWS(s)
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '\\' {
			dst = append(dst, '\\', '\\')
		} else if isCTL(c) {
			dst = appendCTLEscape(dst, c)
		} else {
			dst = append(dst, c)
		}
	}
	for i := len(body); i < len(s); i++ {
		dst = appendUnicodeEscape(dst, s[i])
	}
	return dst
}

// appendQuoted appends s as a String: DQUOTE *( Str-char / Escape ) DQUOTE.
func appendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case isCTL(c):
			dst = appendCTLEscape(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

func appendCTLEscape(dst []byte, c byte) []byte {
	switch c {
	case '\b':
		return append(dst, '\\', 'b')
	case '\t':
		return append(dst, '\\', 't')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	}
	return appendUnicodeEscape(dst, c)
}

func appendUnicodeEscape(dst []byte, c byte) []byte {
	const hexdig = "0123456789ABCDEF"
	return append(dst, '\\', 'u', '0', '0', hexdig[c>>4], hexdig[c&0xf])
}
