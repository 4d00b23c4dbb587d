package auth

import (
	"crypto/rand"
	"strings"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultNonceLifetime = 60 * time.Second
	DefaultMaxNonces     = 100000
)

// Config configures a Digest.
type Config struct {
	// Realm is the protection space (RFC 3261 §22.1): the server's domain.
	// Printable UTF-8; control characters are left out of the challenges.
	Realm string
	// Key is the HMAC key for nonces; nil (or empty): 32 random bytes
	// (crypto/rand), so nonces do not survive a restart (they are then
	// UnknownNonce, and the client is challenged again).
	Key []byte
	// NonceLifetime is how long a nonce is accepted after its challenge;
	// an older one is Stale. Default 60 s.
	NonceLifetime time.Duration
	// MaxNonces bounds the nonces remembered for replay checks (at most 90
	// bytes each, see doc.go). Default 100,000.
	MaxNonces int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Digest issues challenges and verifies credentials (RFC 3261 §22.4 as
// updated by RFC 8760, computations of RFC 7616). Safe for concurrent use:
// a mutex guards its nonce table; the hashing happens outside it.
type Digest struct {
	realm    string
	key      []byte
	lifetime time.Duration
	now      func() time.Time

	mu     sync.Mutex
	nonces *replayTable
}

// New returns a Digest for cfg, with the defaults filled in.
func New(cfg Config) *Digest {
	d := &Digest{
		realm:    cfg.Realm,
		key:      cfg.Key,
		lifetime: cfg.NonceLifetime,
		now:      cfg.Now,
	}
	if len(d.key) == 0 {
		d.key = make([]byte, 32)
		rand.Read(d.key) // never fails (crypto/rand, Go ≥ 1.24)
	} else {
		d.key = append([]byte(nil), d.key...)
	}
	if d.lifetime <= 0 {
		d.lifetime = DefaultNonceLifetime
	}
	if d.now == nil {
		d.now = time.Now
	}
	maxNonces := cfg.MaxNonces
	if maxNonces <= 0 {
		maxNonces = DefaultMaxNonces
	}
	d.nonces = newReplayTable(maxNonces, d.lifetime)
	return d
}

// Realm is the realm the Digest challenges with.
func (d *Digest) Realm() string { return d.realm }

// Challenges returns the values of the WWW-Authenticate (401, UAS) or
// Proxy-Authenticate (407, proxy) header fields for a new challenge
// (RFC 3261 §22.1 and §22.3): one for SHA-256, then one for MD5 — the
// most preferred algorithm first (RFC 8760 §2.3, UAS behavior), MD5 for
// clients that only know RFC 3261. Both carry the realm, the same fresh
// nonce, qop="auth" (RFC 7616 §3.3; RFC 8760 makes qop required) and
// algorithm, and stale=true when stale (RFC 7616 §3.3: the previous nonce
// was stale, the credentials were good; the client retries without asking
// its user):
//
//	Digest realm="example.com", nonce="...", qop="auth", algorithm=SHA-256, stale=true
//
// The nonce is remembered for replay checks from now on.
func (d *Digest) Challenges(stale bool) []string {
	now := d.now()
	id, nonce := newNonce(d.key, now)
	d.mu.Lock()
	d.nonces.add(id, now)
	d.mu.Unlock()

	var b strings.Builder
	b.Grow(len(d.realm) + len(nonce) + 64)
	b.WriteString(`Digest realm=`)
	writeQuoted(&b, d.realm)
	b.WriteString(`, nonce="`)
	b.WriteString(nonce)
	b.WriteString(`", qop="auth", algorithm=`)
	common := b.String()
	tail := ""
	if stale {
		tail = ", stale=true"
	}
	return []string{common + SHA256 + tail, common + MD5 + tail}
}
