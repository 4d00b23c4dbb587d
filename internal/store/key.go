package store

import (
	"errors"
	"fmt"
	"strings"
)

// maxKey bounds an escaped key: a NATS subject travels in a protocol
// control line (4 KiB by default), and a cursor's subject holds two keys.
const maxKey = 1024

// escapeKey turns a URI into a single NATS subject token that is also a
// valid JetStream KV key: every octet in [A-Za-z0-9-] stays as it is,
// every other octet (including '_' itself, '.', '*', '>', spaces and
// non-ASCII octets) becomes '_' followed by its two upper-case hex digits.
// Each escaped form decodes one way (an '_' always opens a three-octet
// escape), so the mapping is injective: two different URIs never share a
// subject. "sip:lobby@example.com" becomes "sip_3Alobby_40example_2Ecom".
func escapeKey(uri string) (string, error) {
	return escapeKeyMax(uri, maxKey)
}

// escapeKeyMax is escapeKey with another bound on the escaped form
// (octets).
func escapeKeyMax(uri string, limit int) (string, error) {
	if uri == "" {
		return "", errors.New("store: empty URI")
	}
	n := 0
	for i := 0; i < len(uri); i++ {
		if plainKeyByte(uri[i]) {
			n++
		} else {
			n += 3
		}
	}
	if n > limit {
		return "", fmt.Errorf("store: URI too long (%d octets escaped, at most %d)", n, limit)
	}
	if n == len(uri) {
		return uri, nil
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(n)
	for i := 0; i < len(uri); i++ {
		c := uri[i]
		if plainKeyByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xF])
	}
	return b.String(), nil
}

func plainKeyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-'
}

// unescapeKey inverts escapeKey; it fails on anything escapeKey does not
// produce (a lower-case or missing hex digit, an octet that should have
// been escaped, or one escaped that needed not be).
func unescapeKey(key string) (string, error) {
	if key == "" {
		return "", errors.New("store: empty key")
	}
	var b strings.Builder
	b.Grow(len(key))
	for i := 0; i < len(key); i++ {
		c := key[i]
		if plainKeyByte(c) {
			b.WriteByte(c)
			continue
		}
		if c != '_' || i+2 >= len(key) {
			return "", fmt.Errorf("store: bad key %q", key)
		}
		hi, ok1 := unhex(key[i+1])
		lo, ok2 := unhex(key[i+2])
		if !ok1 || !ok2 || plainKeyByte(hi<<4|lo) {
			return "", fmt.Errorf("store: bad key %q", key)
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	return b.String(), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
