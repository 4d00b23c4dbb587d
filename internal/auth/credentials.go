package auth

import (
	"fmt"
	"strings"
)

// Credentials is a parsed Authorization / Proxy-Authorization value
// (RFC 3261 §25.1 digest-response, RFC 7616 §3.4). The values are as
// sent, unquoted and unescaped; Verify compares Algorithm and QOP without
// case.
type Credentials struct {
	Username, Realm, Nonce, URI, Response, Algorithm, CNonce, QOP, NC, Opaque string
}

// The digest-response parameters ParseCredentials keeps, by their
// lowercase names (RFC 3261 §25.1: username, realm, nonce, uri, response,
// algorithm, cnonce, opaque, qop, nc). Any other auth-param is checked for
// syntax and duplicates, then ignored.
var credentialParams = [...]string{
	"username", "realm", "nonce", "uri", "response",
	"algorithm", "cnonce", "qop", "nc", "opaque",
}

// field returns the field of c that holds the parameter credentialParams[i].
func (c *Credentials) field(i int) *string {
	return [...]*string{
		&c.Username, &c.Realm, &c.Nonce, &c.URI, &c.Response,
		&c.Algorithm, &c.CNonce, &c.QOP, &c.NC, &c.Opaque,
	}[i]
}

// maxOtherParams bounds the parameters ParseCredentials ignores (each is
// checked for duplicates against the others): clients send one or two.
const maxOtherParams = 32

// requiredParams is how many of credentialParams, from the first, a
// digest-response must carry with a non-empty value (RFC 3261 §22.4: the
// username, realm, nonce, digest-uri and response).
const requiredParams = 5

// ParseCredentials parses a header value starting with the scheme
// "Digest" (case-insensitive), then at least one space, then
// comma-separated auth-params (RFC 3261 §25.1 digest-response):
// parameter names without case, values as quoted strings with backslash
// escapes (quoted-pair) or as tokens, optional whitespace (with RFC 3261
// §7.3.1 line folding) around "=" and ",". Every parameter may come
// quoted or as a token, as clients differ there.
//
// It fails, with an error wrapping ErrMalformed, on a syntax error, a
// duplicate parameter (of any name, without case), more than 32 unknown
// parameters, a missing or empty username, realm, nonce, uri or response,
// invalid UTF-8 in a quoted string, or a quoted control character other
// than HTAB; another scheme than Digest also wraps ErrNotDigest.
func ParseCredentials(v string) (Credentials, error) {
	var c Credentials
	p := lexer{s: v}
	p.skipLWS()
	scheme := p.token()
	if scheme == "" {
		return c, p.errorf("no auth scheme")
	}
	if !strings.EqualFold(scheme, "Digest") {
		return c, fmt.Errorf("%w: %w: %.40q", ErrMalformed, ErrNotDigest, scheme)
	}
	if !p.skipLWS() {
		return c, p.errorf(`no space after "Digest"`)
	}
	var seen uint16     // bit i: credentialParams[i] seen
	var others []string // names of the other parameters seen
	for {
		name := p.token()
		if name == "" {
			return c, p.errorf("expected a parameter name")
		}
		p.skipLWS()
		if !p.consume('=') {
			return c, p.errorf("expected '=' after %.40q", name)
		}
		p.skipLWS()
		val, err := p.value()
		if err != nil {
			return c, err
		}
		if i := paramIndex(name); i >= 0 {
			if seen&(1<<i) != 0 {
				return c, fmt.Errorf("%w: duplicate parameter %q", ErrMalformed, credentialParams[i])
			}
			seen |= 1 << i
			*c.field(i) = val
		} else {
			if len(others) == maxOtherParams {
				return c, fmt.Errorf("%w: more than %d other parameters", ErrMalformed, maxOtherParams)
			}
			for _, o := range others {
				if strings.EqualFold(o, name) {
					return c, fmt.Errorf("%w: duplicate parameter %.40q", ErrMalformed, name)
				}
			}
			others = append(others, name)
		}
		p.skipLWS()
		if p.eof() {
			break
		}
		if !p.consume(',') {
			return c, p.errorf("expected ',' after parameter %.40q", name)
		}
		p.skipLWS()
	}
	for i := range requiredParams {
		if *c.field(i) == "" {
			return c, fmt.Errorf("%w: missing or empty %s", ErrMalformed, credentialParams[i])
		}
	}
	return c, nil
}

// paramIndex is the index of name in credentialParams, compared without
// case (RFC 3261 §7.3.1: parameter names are case-insensitive), or -1.
func paramIndex(name string) int {
	for i, p := range credentialParams {
		if strings.EqualFold(name, p) {
			return i
		}
	}
	return -1
}

// String formats c as an Authorization value (a client's side of RFC 3261
// §22.4): Digest, then username, realm, nonce, uri and response quoted,
// algorithm, qop and nc as tokens, cnonce and opaque quoted; empty
// optional fields are left out. ParseCredentials reads it back to c.
func (c Credentials) String() string {
	var b strings.Builder
	b.WriteString("Digest ")
	first := true
	for i, name := range credentialParams {
		val := *c.field(i)
		if val == "" && i >= requiredParams {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(name)
		b.WriteByte('=')
		switch name {
		case "algorithm", "qop", "nc":
			if isToken(val) {
				b.WriteString(val)
				continue
			}
		}
		writeQuoted(&b, val)
	}
	return b.String()
}
