package msrp

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxNicknameOctets is the longest nickname RFC 7701 §7.1 allows, in octets
// of the unescaped UTF-8 string.
const MaxNicknameOctets = 1023

// ParseUseNickname returns the nickname carried by a Use-Nickname header
// value. RFC 7701 §7.1 defines it as a quoted-string whose only escapes are
// \\ and \"; deployed clients also send it unquoted (SPEC §13 row 1), so a
// value that does not start with a double quote is taken as is, trimmed. An
// empty result ("" or an empty value) is a request to remove the nickname
// (RFC 7701 §7.3). Errors wrap ErrMalformedNickname (answer 424).
func ParseUseNickname(v string) (string, error) {
	v = strings.Trim(v, " \t")
	if !utf8.ValidString(v) {
		return "", nickError("not valid UTF-8")
	}
	if !strings.HasPrefix(v, `"`) {
		for i := 0; i < len(v); i++ {
			if !isUTF8TextByte(v[i]) {
				return "", nickError("control character")
			}
		}
		if len(v) > MaxNicknameOctets {
			return "", nickError("longer than 1023 octets")
		}
		return v, nil
	}
	var b strings.Builder
	escaped := false
	for i := 1; i < len(v); i++ {
		c := v[i]
		switch {
		case escaped:
			if c != '\\' && c != '"' {
				return "", nickError(fmt.Sprintf("invalid escape \\%c", c))
			}
			b.WriteByte(c)
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			if i != len(v)-1 {
				return "", nickError("text after the closing quote")
			}
			if b.Len() > MaxNicknameOctets {
				return "", nickError("longer than 1023 octets")
			}
			return b.String(), nil
		case !isUTF8TextByte(c):
			return "", nickError("control character")
		default:
			b.WriteByte(c)
		}
	}
	return "", nickError("unterminated quoted-string")
}

// AppendQuotedNickname appends nick as an RFC 7701 quoted-string, escaping
// backslash and double quote. Control characters cannot be represented and
// are an error, as is a nickname over MaxNicknameOctets.
func AppendQuotedNickname(dst []byte, nick string) ([]byte, error) {
	if len(nick) > MaxNicknameOctets {
		return dst, nickError("longer than 1023 octets")
	}
	if !utf8.ValidString(nick) {
		return dst, nickError("not valid UTF-8")
	}
	dst = append(dst, '"')
	for i := 0; i < len(nick); i++ {
		c := nick[i]
		switch {
		case c == '\\' || c == '"':
			dst = append(dst, '\\', c)
		case !isUTF8TextByte(c):
			return dst, nickError("control character")
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"'), nil
}

// QuoteNickname returns nick as an RFC 7701 quoted-string.
func QuoteNickname(nick string) (string, error) {
	b, err := AppendQuotedNickname(nil, nick)
	return string(b), err
}

func nickError(reason string) error {
	return fmt.Errorf("%w: %s", ErrMalformedNickname, reason)
}
