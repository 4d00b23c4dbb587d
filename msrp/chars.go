package msrp

// Character classes of the RFC 4975 §9 grammar. Each is a plain function over
// a byte so that the compiler can inline it into the scanning loops.

func isAlpha(c byte) bool    { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool    { return c >= '0' && c <= '9' }
func isAlphaNum(c byte) bool { return isAlpha(c) || isDigit(c) }
func isUpAlpha(c byte) bool  { return c >= 'A' && c <= 'Z' }

func isHex(c byte) bool { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }

func unhex(c byte) byte {
	if isDigit(c) {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}

// isUnreserved is RFC 3986 unreserved.
func isUnreserved(c byte) bool {
	return isAlphaNum(c) || c == '-' || c == '.' || c == '_' || c == '~'
}

// isSessionIDChar: session-id = 1*( unreserved / "+" / "=" / "/" ).
func isSessionIDChar(c byte) bool { return isUnreserved(c) || c == '+' || c == '=' || c == '/' }

// isRegNameChar accepts RFC 3986 reg-name characters usable in a host name:
// unreserved and percent escapes. IPv4 addresses are covered too.
func isRegNameChar(c byte) bool { return isUnreserved(c) || c == '%' }

// isUserinfoChar is RFC 3986 userinfo without ";" (which would be read as the
// start of the URI parameters) and without "@".
func isUserinfoChar(c byte) bool {
	switch c {
	case '%', '!', '$', '&', '\'', '(', ')', '*', '+', ',', '=', ':':
		return true
	}
	return isUnreserved(c)
}

// isIdentChar: ident-char = ALPHANUM / "." / "-" / "+" / "%" / "=".
func isIdentChar(c byte) bool {
	return isAlphaNum(c) || c == '.' || c == '-' || c == '+' || c == '%' || c == '='
}

// isTokenChar is RFC 4975 token:
// %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E.
func isTokenChar(c byte) bool {
	switch {
	case c == 0x21, c >= 0x23 && c <= 0x27, c == 0x2a, c == 0x2b, c == 0x2d, c == 0x2e,
		c >= 0x30 && c <= 0x39, c >= 0x41 && c <= 0x5a, c >= 0x5e && c <= 0x7e:
		return true
	}
	return false
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

// isIdent reports whether s is an RFC 4975 ident: ALPHANUM 3*31ident-char.
// Transaction ids and Message-IDs are idents.
func isIdent[T string | []byte](s T) bool {
	if len(s) < 4 || len(s) > 32 || !isAlphaNum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}

// isUTF8TextByte reports whether c may appear in utf8text: HTAB, printable
// ASCII and any byte of a multi-byte UTF-8 sequence (validity of the sequence
// is checked separately with utf8.Valid when it matters).
func isUTF8TextByte(c byte) bool { return c == '\t' || (c >= 0x20 && c != 0x7f) }
