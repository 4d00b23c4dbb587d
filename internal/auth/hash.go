package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// The algorithm names of the "Hash Algorithms for HTTP Digest
// Authentication" registry that this package supports (RFC 7616 §3.3 and
// §6.1, RFC 8760 §2.1). SHA-512-256 and the "-sess" variants are neither
// offered nor accepted.
const (
	SHA256 = "SHA-256"
	MD5    = "MD5"
)

// canonicalAlg maps an algorithm parameter (case-insensitive, RFC 7616
// §3.3) to SHA256 or MD5; an empty one is MD5 (RFC 7616 §3.3, RFC 3261
// §22.4). ok is false for anything else, the -sess variants included.
func canonicalAlg(alg string) (string, bool) {
	switch {
	case alg == "" || strings.EqualFold(alg, MD5):
		return MD5, true
	case strings.EqualFold(alg, SHA256):
		return SHA256, true
	}
	return "", false
}

// hexLen is the length of alg's digests in hex (RFC 8760 §2.2: 32 for MD5,
// 64 for SHA-256).
func hexLen(alg string) int {
	if alg == SHA256 {
		return 2 * sha256.Size
	}
	return 2 * md5.Size
}

// appendDigest appends H(data) in lowercase hex to dst (RFC 7616 §3.4:
// H(data); RFC 8760 §2.2: the digest in lowercase hex).
func appendDigest(dst []byte, alg string, data []byte) []byte {
	if alg == SHA256 {
		sum := sha256.Sum256(data)
		return hex.AppendEncode(dst, sum[:])
	}
	sum := md5.Sum(data)
	return hex.AppendEncode(dst, sum[:])
}

// appendJoined appends the parts to dst, separated by ":".
func appendJoined(dst []byte, parts ...string) []byte {
	for i, p := range parts {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = append(dst, p...)
	}
	return dst
}

// HA1 is H(username ":" realm ":" password) in lowercase hex for alg
// (SHA256 or MD5, RFC 7616 §3.4.2, without -sess); "" for an unknown alg.
// This is what an account store keeps instead of the password, one per
// algorithm offered.
func HA1(alg, username, realm, password string) string {
	a, ok := canonicalAlg(alg)
	if !ok || alg == "" {
		return ""
	}
	var buf [256]byte
	return string(appendDigest(nil, a, appendJoined(buf[:0], username, realm, password)))
}

// HA1s are the HA1 of username, realm and password for every algorithm
// the server offers (SHA256 and MD5): an account's record.
func HA1s(username, realm, password string) map[string]string {
	return map[string]string{
		SHA256: HA1(SHA256, username, realm, password),
		MD5:    HA1(MD5, username, realm, password),
	}
}

// appendResponse appends to dst the request-digest for alg (canonical)
// from the stored ha1 (lowercase hex), in lowercase hex:
//
//	qop=auth:  KD(HA1, nonce ":" nc ":" cnonce ":" qop ":" HA2)  (RFC 7616 §3.4.1)
//	no qop:    KD(HA1, nonce ":" HA2)                            (RFC 2069, RFC 2617 §3.2.2.1)
//
// with KD(secret, data) = H(secret ":" data) and HA2 = H(method ":" uri)
// (RFC 7616 §3.4.3, qop=auth or none).
func appendResponse(dst []byte, alg, ha1, nonce, nc, cnonce, qop, method, uri string) []byte {
	var buf [512]byte
	var ha2 [2 * sha256.Size]byte
	h2 := appendDigest(ha2[:0], alg, appendJoined(buf[:0], method, uri))
	data := appendJoined(buf[:0], ha1, nonce)
	if qop != "" {
		data = appendJoined(append(data, ':'), nc, cnonce, qop)
	}
	data = append(append(data, ':'), h2...)
	return appendDigest(dst, alg, data)
}

// response is appendResponse as a string.
func response(alg, ha1, nonce, nc, cnonce, qop, method, uri string) string {
	return string(appendResponse(nil, alg, ha1, nonce, nc, cnonce, qop, method, uri))
}
