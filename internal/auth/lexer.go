package auth

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// lexer reads an auth header value (RFC 3261 §25.1).
type lexer struct {
	s   string
	pos int
}

func (p *lexer) eof() bool { return p.pos >= len(p.s) }

// errorf is a syntax error at the current offset, wrapping ErrMalformed.
func (p *lexer) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: offset %d: %s", ErrMalformed, p.pos, fmt.Sprintf(format, args...))
}

// consume skips b if it is next.
func (p *lexer) consume(b byte) bool {
	if p.pos < len(p.s) && p.s[p.pos] == b {
		p.pos++
		return true
	}
	return false
}

// skipLWS skips linear white space: SP and HTAB, and CRLF when a SP or
// HTAB follows (a folded line, RFC 3261 §7.3.1 and §25.1 LWS). It reports
// whether it skipped anything.
func (p *lexer) skipLWS() bool {
	start := p.pos
	for p.pos < len(p.s) {
		switch {
		case isWSP(p.s[p.pos]):
			p.pos++
		case foldAt(p.s, p.pos):
			p.pos += 3
		default:
			return p.pos > start
		}
	}
	return p.pos > start
}

// foldAt reports whether s has CRLF followed by SP or HTAB at i.
func foldAt(s string, i int) bool {
	return i+2 < len(s) && s[i] == '\r' && s[i+1] == '\n' && isWSP(s[i+2])
}

func isWSP(b byte) bool { return b == ' ' || b == '\t' }

// token reads a token (RFC 3261 §25.1), possibly empty.
func (p *lexer) token() string {
	start := p.pos
	for p.pos < len(p.s) && isTokenByte(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// value reads an auth-param value: a quoted-string or a non-empty token.
func (p *lexer) value() (string, error) {
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		return p.quoted()
	}
	if t := p.token(); t != "" {
		return t, nil
	}
	return "", p.errorf("expected a token or a quoted string")
}

// quoted reads a quoted-string (RFC 3261 §25.1) at the opening DQUOTE and
// returns its value unescaped:
//
//	quoted-string = SWS DQUOTE *(qdtext / quoted-pair) DQUOTE
//	qdtext        = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII
//	quoted-pair   = "\" (%x00-09 / %x0B-0C / %x0E-7F)
//
// The value must be UTF-8 (UTF8-NONASCII). A folded line's CRLF is dropped, its white space kept. Stricter than the
// grammar, a quoted-pair may only escape HTAB or %x20-7E: an escaped
// control character has no business in a user name, a nonce or a URI.
func (p *lexer) quoted() (string, error) {
	p.pos++ // DQUOTE
	start := p.pos
	var b *strings.Builder // nil until an escape or a fold needs a copy
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '"':
			var v string
			if b == nil {
				v = p.s[start:p.pos]
			} else {
				v = b.String()
			}
			p.pos++
			if !utf8.ValidString(v) {
				return "", p.errorf("invalid UTF-8 in a quoted string")
			}
			return v, nil
		case c == '\\':
			if p.pos+1 >= len(p.s) {
				return "", p.errorf("unterminated quoted-pair")
			}
			e := p.s[p.pos+1]
			if e != '\t' && (e < 0x20 || e > 0x7e) {
				return "", p.errorf("quoted-pair escapes %#x", e)
			}
			if b == nil {
				b = new(strings.Builder)
				b.WriteString(p.s[start:p.pos])
			}
			b.WriteByte(e)
			p.pos += 2
		case foldAt(p.s, p.pos):
			if b == nil {
				b = new(strings.Builder)
				b.WriteString(p.s[start:p.pos])
			}
			p.pos += 2 // CRLF; the white space after it is kept
		case c == '\t' || (c >= 0x20 && c != 0x7f):
			if b != nil {
				b.WriteByte(c)
			}
			p.pos++
		default:
			return "", p.errorf("control character %#x in a quoted string", c)
		}
	}
	return "", p.errorf("unterminated quoted string")
}

// isTokenByte reports whether b may appear in a token (RFC 3261 §25.1):
// alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~".
func isTokenByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("-.!%*_+`'~", b) >= 0
}

// isToken reports whether s is a non-empty token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenByte(s[i]) {
			return false
		}
	}
	return true
}

// writeQuoted writes s as a quoted-string: DQUOTE and backslash escaped
// (quoted-pair), CR, LF and other control characters but HTAB left out
// (they cannot be carried, and must not split a header field).
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t' || (c >= 0x20 && c != 0x7f):
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
