package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// A nonce (RFC 7616 §3.3, RFC 3261 §22.4: opaque to the client, unique
// per challenge) is self-validating:
//
//	base64url-nopad( issued[8] || random[12] || tag[16] )
//	tag = HMAC-SHA256(Key, issued || random)[:16]
//
// issued is the issue time in Unix nanoseconds, big-endian. 36 octets make
// 48 characters of the URL-safe base64 alphabet, which need no escaping in
// a quoted string. The tag lets Verify tell a nonce of ours from a forged
// one without looking it up, and read its age without trusting the client.
const (
	nonceTimeLen = 8
	nonceRandLen = 12
	nonceTagLen  = 16
	nonceIDLen   = nonceTimeLen + nonceRandLen
	nonceRawLen  = nonceIDLen + nonceTagLen
)

// nonceLen is the length of a nonce as sent: base64 without padding
// (36 octets are 48 characters exactly, with no partial group).
const nonceLen = (nonceRawLen*4 + 2) / 3

// nonceID is the part of a nonce that names it: issue time and random.
// The replay table is keyed by it.
type nonceID [nonceIDLen]byte

// issued is the issue time written in id.
func (id *nonceID) issued() time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(id[:nonceTimeLen])))
}

// newNonce mints a nonce issued at now under key.
func newNonce(key []byte, now time.Time) (nonceID, string) {
	var raw [nonceRawLen]byte
	binary.BigEndian.PutUint64(raw[:nonceTimeLen], uint64(now.UnixNano()))
	rand.Read(raw[nonceTimeLen:nonceIDLen]) // never fails (crypto/rand, Go ≥ 1.24)
	tag := nonceTag(key, raw[:nonceIDLen])
	copy(raw[nonceIDLen:], tag[:nonceTagLen])
	return nonceID(raw[:nonceIDLen]), base64.RawURLEncoding.EncodeToString(raw[:])
}

// openNonce checks that s is a nonce minted under key and returns its id;
// ok is false for anything else (wrong length, not base64url, bad tag).
// The tag is compared in constant time.
func openNonce(key []byte, s string) (id nonceID, ok bool) {
	if len(s) != nonceLen {
		return id, false
	}
	var raw [nonceRawLen]byte
	n, err := base64.RawURLEncoding.Decode(raw[:], []byte(s))
	if err != nil || n != nonceRawLen {
		return id, false
	}
	tag := nonceTag(key, raw[:nonceIDLen])
	if !hmac.Equal(tag[:nonceTagLen], raw[nonceIDLen:]) {
		return id, false
	}
	return nonceID(raw[:nonceIDLen]), true
}

// nonceTag is HMAC-SHA256(key, id).
func nonceTag(key, id []byte) [sha256.Size]byte {
	m := hmac.New(sha256.New, key)
	m.Write(id)
	var tag [sha256.Size]byte
	m.Sum(tag[:0])
	return tag
}
