package sdp

import (
	"fmt"
	"strings"
)

// FormatList is an RFC 4975 §8.6 format-list, the value of a=accept-types
// and a=accept-wrapped-types:
//
//	format-list  = format-entry *( SP format-entry )
//	format-entry = ( ( (type "/" subtype) / (type "/" "*") ) *( ";" type-param ) ) / ("*")
//	type-param   = parm-attribute "=" parm-value   ; parm-value = token / quoted-string
type FormatList []FormatEntry

// FormatEntry is one entry of a format list. The lone "*" entry has Type
// "*" and an empty Subtype; "text/*" has Subtype "*". Spelling is kept as
// written; matching is case-insensitive.
type FormatEntry struct {
	Type    string
	Subtype string
	Params  []Param
}

// Param is a ";name=value" media-type parameter. Value is kept as written,
// so a quoted-string keeps its quotes and escapes.
type Param struct {
	Name  string
	Value string
}

// ParseFormatList parses a format list. Entries are separated by one or
// more spaces or tabs; leading and trailing blanks are ignored. Every error
// wraps ErrInvalidFormatList.
func ParseFormatList(s string) (FormatList, error) {
	p := skipSpace(s, 0)
	if p == len(s) {
		return nil, formatListError(s, "empty")
	}
	n := 0
	for i := p; i < len(s); i++ {
		if !isSpace(s[i]) && (i == 0 || isSpace(s[i-1])) {
			n++
		}
	}
	list := make(FormatList, 0, n)
	for p < len(s) {
		e, next, reason := parseFormatEntry(s, p)
		if reason != "" {
			return nil, formatListError(s, reason)
		}
		list = append(list, e)
		p = skipSpace(s, next)
		if p == next && p < len(s) {
			return nil, formatListError(s, fmt.Sprintf("unexpected %q after an entry", s[p]))
		}
	}
	return list, nil
}

func formatListError(s, reason string) error {
	return fmt.Errorf("%w %q: %s", ErrInvalidFormatList, s, reason)
}

// parseFormatEntry parses the entry at s[p:] and returns the offset after it.
func parseFormatEntry(s string, p int) (FormatEntry, int, string) {
	var e FormatEntry
	e.Type, p = scanToken(s, p)
	if e.Type == "" {
		return e, p, "expected a media type"
	}
	if p == len(s) || s[p] != '/' {
		if e.Type == "*" && (p == len(s) || isSpace(s[p])) {
			return e, p, ""
		}
		return e, p, "expected type/subtype or *"
	}
	e.Subtype, p = scanToken(s, p+1)
	if e.Subtype == "" {
		return e, p, "expected a media subtype"
	}
	for p < len(s) && s[p] == ';' {
		var prm Param
		prm.Name, p = scanToken(s, p+1)
		if prm.Name == "" {
			return e, p, "expected a parameter name"
		}
		if p == len(s) || s[p] != '=' {
			return e, p, "expected = after parameter name"
		}
		p++
		start := p
		if p < len(s) && s[p] == '"' {
			end, ok := scanQuoted(s, p)
			if !ok {
				return e, p, "malformed quoted-string"
			}
			p = end
		} else {
			_, p = scanToken(s, p)
		}
		if p == start {
			return e, p, "expected a parameter value"
		}
		prm.Value = s[start:p]
		e.Params = append(e.Params, prm)
	}
	return e, p, ""
}

// scanToken returns the RFC 4975 token at s[p:] (possibly empty) and the
// offset after it.
func scanToken(s string, p int) (string, int) {
	start := p
	for p < len(s) && isTokenChar(s[p]) {
		p++
	}
	return s[start:p], p
}

// scanQuoted scans the quoted-string starting at s[p] == '"' and returns the
// offset after its closing quote.
//
//	quoted-string = DQUOTE *(qdtext / qd-esc) DQUOTE
//	qdtext = SP / HTAB / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII
//	qd-esc = (BACKSLASH BACKSLASH) / (BACKSLASH DQUOTE)
func scanQuoted(s string, p int) (int, bool) {
	for p++; p < len(s); p++ {
		switch c := s[p]; {
		case c == '"':
			return p + 1, true
		case c == '\\':
			if p+1 == len(s) || (s[p+1] != '\\' && s[p+1] != '"') {
				return p, false
			}
			p++
		case c < 0x20 && c != '\t', c == 0x7f:
			return p, false
		}
	}
	return p, false
}

// isTokenChar reports whether c may appear in an RFC 4975 token:
// %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E.
func isTokenChar(c byte) bool {
	switch {
	case c == 0x21, 0x23 <= c && c <= 0x27, c == 0x2a, c == 0x2b, c == 0x2d, c == 0x2e:
		return true
	case '0' <= c && c <= '9', 'A' <= c && c <= 'Z', 0x5e <= c && c <= 0x7e:
		return true
	}
	return false
}

func skipSpace(s string, p int) int {
	for p < len(s) && isSpace(s[p]) {
		p++
	}
	return p
}

// String formats the entry as it appears in a format list.
func (e FormatEntry) String() string { return string(e.appendTo(nil)) }

func (e FormatEntry) appendTo(dst []byte) []byte {
	dst = append(dst, e.Type...)
	if e.Subtype != "" {
		dst = append(dst, '/')
		dst = append(dst, e.Subtype...)
	}
	for _, p := range e.Params {
		dst = append(dst, ';')
		dst = append(dst, p.Name...)
		dst = append(dst, '=')
		dst = append(dst, p.Value...)
	}
	return dst
}

// String formats the list, entries separated by single spaces.
func (l FormatList) String() string {
	var b []byte
	for i, e := range l {
		if i > 0 {
			b = append(b, ' ')
		}
		b = e.appendTo(b)
	}
	return string(b)
}

// isAny reports whether e matches every media type: "*" (or "*/*").
func (e FormatEntry) isAny() bool { return e.Type == "*" && (e.Subtype == "" || e.Subtype == "*") }

// Accepts reports whether the list allows mediaType, a media type with or
// without parameters (a Content-Type value): an entry "type/subtype" matches
// it case-insensitively with parameters ignored on both sides, "type/*"
// matches any subtype of type, and "*" (or "*/*") matches any well-formed
// media type. A mediaType that is not "type/subtype" is never accepted.
func (l FormatList) Accepts(mediaType string) bool {
	t, st, ok := splitMediaType(mediaType)
	if !ok {
		return false
	}
	for _, e := range l {
		if e.isAny() {
			return true
		}
		if strings.EqualFold(e.Type, t) && (e.Subtype == "*" || strings.EqualFold(e.Subtype, st)) {
			return true
		}
	}
	return false
}

// Contains reports whether mediaType (parameters ignored) is listed
// explicitly, as "type/subtype" compared case-insensitively; the wildcard
// entries "*" and "type/*" do not count.
func (l FormatList) Contains(mediaType string) bool {
	t, st, ok := splitMediaType(mediaType)
	if !ok {
		return false
	}
	for _, e := range l {
		if e.Type != "*" && e.Subtype != "*" && strings.EqualFold(e.Type, t) && strings.EqualFold(e.Subtype, st) {
			return true
		}
	}
	return false
}

// HasWildcard reports whether the list contains "*" (or "*/*"), which lets
// the peer try types that are not listed (RFC 4975 §8.6).
func (l FormatList) HasWildcard() bool {
	for _, e := range l {
		if e.isAny() {
			return true
		}
	}
	return false
}

// BaseMediaType reduces a media type with parameters, such as the
// Content-Type value "Text/Plain; charset=utf-8", to its lower-case
// "type/subtype" ("text/plain"), for matching against a FormatList or using
// as a map key. It returns "" when v is not "type/subtype" made of tokens.
func BaseMediaType(v string) string {
	t, st, ok := splitMediaType(v)
	if !ok {
		return ""
	}
	if len(t)+1+len(st) == len(v) { // v is already "type/subtype"
		return strings.ToLower(v)
	}
	return strings.ToLower(t + "/" + st)
}

// splitMediaType splits "type/subtype[;params]", with blanks around the
// parts allowed, into its type and subtype tokens.
func splitMediaType(v string) (typ, subtype string, ok bool) {
	base, _, _ := strings.Cut(v, ";")
	base = strings.Trim(base, " \t")
	typ, subtype, ok = strings.Cut(base, "/")
	typ, subtype = strings.TrimRight(typ, " \t"), strings.TrimLeft(subtype, " \t")
	if !ok || !isToken(typ) || !isToken(subtype) {
		return "", "", false
	}
	return typ, subtype, true
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}
