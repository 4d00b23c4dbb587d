package msrp

import (
	crand "crypto/rand"
	"encoding/binary"
	mrand "math/rand/v2"
	"slices"
)

// Identifier lengths in base-62 characters. Each character carries
// log2(62) ≈ 5.95 bits, so each is the shortest that meets its RFC 4975
// floor: a copy of a message carries its transaction id twice, its
// Message-ID and two session-ids, and every octet is paid once per
// recipient (issue 20: 21 octets less per copy than 16/16/20).
const (
	TIDLength       = 11 // ≈ 65.5 bits; RFC 4975 §7.1 requires ≥ 64
	MessageIDLength = 11 // ≈ 65.5 bits; RFC 4975 §7.1.1: unlikely ever to repeat (64 bits suffice)
	SessionIDLength = 14 // ≈ 83.4 bits; RFC 4975 §14.1 requires ≥ 80
)

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// IDSource draws transaction ids, Message-IDs and session-ids from
// crypto/rand through a small buffer, so that generating an id costs no
// allocation and rarely a system call. An IDSource is not safe for concurrent
// use: give each connection writer its own. The zero value is ready to use.
type IDSource struct {
	pool [256]byte
	n    int // unread bytes at the end of pool
	// After the first pool (so that one-off ids cost no more than before),
	// pools come from a ChaCha8 keyed from crypto/rand: a CSPRNG, as RFC
	// 4975 §7.1 wants, without a getrandom per 256 octets.
	rng   *mrand.ChaCha8
	fills int
}

// refill refills the pool.
func (s *IDSource) refill() {
	switch {
	case s.rng != nil:
		s.rng.Read(s.pool[:])
	case s.fills == 0:
		crand.Read(s.pool[:]) // never fails (crypto/rand, Go ≥ 1.24)
		s.fills++
	default:
		var key [32]byte
		crand.Read(key[:])
		s.rng = mrand.NewChaCha8(key)
		s.rng.Read(s.pool[:])
	}
	s.n = len(s.pool)
}

// Ten characters at a time come from one 64-bit word of the pool (issue
// 20: a transaction id per copy of a message, at a few million copies a
// second): words of wordLimit and above are rejected (about 4.5 %), so
// that the word modulo 62¹⁰ is uniform, and its two digits in base 62⁵
// are uniform and independent, five base-62 digits each.
const (
	pow5      = 62 * 62 * 62 * 62 * 62    // 916,132,832 < 2³²
	pow10     = pow5 * pow5               // < 2⁶⁴
	wordLimit = pow10 * (1 << 64 / pow10) // the largest multiple of 62¹⁰ that fits 64 bits
)

// AppendID appends n random alphabet characters to dst. Each is uniformly
// distributed and independent of the others: ten at a time from a 64-bit
// word (above), the rest from one octet each, octets of 248 (4·62) and
// above rejected.
func (s *IDSource) AppendID(dst []byte, n int) []byte {
	dst = slices.Grow(dst, n)
	for n >= 10 {
		if s.n < 8 {
			s.refill()
		}
		w := binary.LittleEndian.Uint64(s.pool[s.n-8 : s.n])
		s.n -= 8
		if w >= wordLimit {
			continue
		}
		w %= pow10
		dst = appendBase62x5(appendBase62x5(dst, uint32(w/pow5)), uint32(w%pow5))
		n -= 10
	}
	for n > 0 {
		if s.n == 0 {
			s.refill()
		}
		k := s.n
		for k > 0 && n > 0 {
			k--
			if b := s.pool[k]; b < 248 {
				dst = append(dst, idAlphabet[b%62])
				n--
			}
		}
		s.n = k
	}
	return dst
}

// appendBase62x5 appends v (below 62⁵) as five base-62 digits. Each digit
// is divided out of v itself rather than out of the previous quotient, so
// that the five divisions (multiplications, by constants) do not wait on
// one another.
func appendBase62x5(dst []byte, v uint32) []byte {
	return append(dst,
		idAlphabet[v/(62*62*62*62)],
		idAlphabet[v/(62*62*62)%62],
		idAlphabet[v/(62*62)%62],
		idAlphabet[v/62%62],
		idAlphabet[v%62])
}

// TID returns a new transaction id.
func (s *IDSource) TID() string { return string(s.AppendID(make([]byte, 0, TIDLength), TIDLength)) }

// MessageID returns a new Message-ID.
func (s *IDSource) MessageID() string {
	return string(s.AppendID(make([]byte, 0, MessageIDLength), MessageIDLength))
}

// SessionID returns a new session-id for an MSRP URI.
func (s *IDSource) SessionID() string {
	return string(s.AppendID(make([]byte, 0, SessionIDLength), SessionIDLength))
}

// NewTID returns a fresh transaction id. For many ids on one goroutine an
// IDSource is cheaper.
func NewTID() string { var s IDSource; return s.TID() }

// NewMessageID returns a fresh Message-ID.
func NewMessageID() string { var s IDSource; return s.MessageID() }

// NewSessionID returns a fresh session-id with at least 80 bits of randomness.
func NewSessionID() string { var s IDSource; return s.SessionID() }

// ValidTID reports whether s is an RFC 4975 ident (ALPHANUM 3*31ident-char),
// the syntax of transaction ids and Message-IDs.
func ValidTID(s string) bool { return isIdent(s) }
