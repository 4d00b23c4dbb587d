package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"strconv"
	"strings"
)

// Verify checks c for a request with the given method (RFC 3261 §22.4,
// RFC 7616 §3.4.1 to §3.4.3 computations, RFC 2069 without qop).
//
// ha1 returns the stored HA1 (lowercase hex) of c.Username for the
// algorithm — SHA256 when c.Algorithm is "SHA-256", MD5 when it is "MD5"
// or empty (RFC 7616 §3.3: MD5 is the default) — and whether it exists. A
// stored HA1 that is not a hex digest of the algorithm's size counts as
// missing.
//
// The checks come in this order, and the first failing one is the result:
// the fields (Malformed), the realm (WrongRealm), the nonce's tag
// (UnknownNonce), the user (UnknownUser), the response (WrongPassword),
// then the nonce's age and the replay table (Stale, Replayed). So Stale
// means the credentials were good (RFC 2617 §3.2.1: stale=TRUE "with a
// valid digest for that nonce"), and a password guessed with an old nonce
// still counts as WrongPassword.
//
// On OK the nonce's nc is recorded (or, without qop, the nonce is used
// up). The response is compared in constant time (crypto/subtle). The
// digest-uri is not compared with the Request-URI here: the caller does
// that with its SIP parser (RFC 3261 §22.4).
func (d *Digest) Verify(method string, c Credentials, ha1 func(alg string) (string, bool)) Result {
	if c.Username == "" || c.Realm == "" || c.Nonce == "" || c.URI == "" || c.Response == "" {
		return Malformed
	}
	alg, ok := canonicalAlg(c.Algorithm)
	if !ok {
		return Malformed
	}
	withQOP, nc, ok := checkQOP(c)
	if !ok {
		return Malformed
	}
	if len(c.Response) != hexLen(alg) {
		return Malformed
	}
	var respBuf [2 * sha256.Size]byte
	resp := appendLower(respBuf[:0], c.Response)
	if !isLowerHex(resp) {
		return Malformed
	}
	if c.Realm != d.realm {
		return WrongRealm
	}
	id, ok := openNonce(d.key, c.Nonce)
	if !ok {
		return UnknownNonce
	}
	stored, ok := ha1(alg)
	if !ok || len(stored) != hexLen(alg) {
		return UnknownUser
	}
	var storedBuf [2 * sha256.Size]byte
	lowerHA1 := appendLower(storedBuf[:0], stored)
	if !isLowerHex(lowerHA1) {
		return UnknownUser
	}
	qop := ""
	if withQOP {
		qop = c.QOP // hashed as sent, like nc
	}
	if string(lowerHA1) != stored {
		stored = string(lowerHA1) // stored in uppercase: a copy
	}
	var wantBuf [2 * sha256.Size]byte
	want := appendResponse(wantBuf[:0], alg, stored, c.Nonce, c.NC, c.CNonce, qop, method, c.URI)
	if subtle.ConstantTimeCompare(want, resp) != 1 {
		return WrongPassword
	}
	now := d.now()
	if now.Sub(id.issued()) > d.lifetime {
		return Stale
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.nonces.accept(id, withQOP, nc)
}

// checkQOP checks the qop, nc and cnonce of c (RFC 7616 §3.4, RFC 3261
// §25.1): with qop=auth (any case), nc is 8 hex digits, not all zero (the
// count starts at 1), and cnonce is present; without qop, neither nc nor
// cnonce is (RFC 2617 §3.2.2). Any other qop, auth-int included, is not
// offered and fails.
func checkQOP(c Credentials) (withQOP bool, nc uint32, ok bool) {
	if c.QOP == "" {
		return false, 0, c.NC == "" && c.CNonce == ""
	}
	if !strings.EqualFold(c.QOP, "auth") || c.CNonce == "" || len(c.NC) != 8 {
		return false, 0, false
	}
	n, err := strconv.ParseUint(c.NC, 16, 32)
	if err != nil || n == 0 {
		return false, 0, false
	}
	return true, uint32(n), true
}

// appendLower appends s to dst with ASCII letters in lowercase.
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// isLowerHex reports whether s is made of 0-9 and a-f only.
func isLowerHex(s []byte) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
