package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/clocktest"
)

// challenge is a WWW-Authenticate value read back by a test client.
type challenge struct {
	Realm, Nonce, QOP, Algorithm, Stale string
}

// parseChallenge reads a challenge as a client would: "Digest" and
// auth-params (RFC 3261 §25.1 challenge), with this package's lexer.
func parseChallenge(t testing.TB, v string) challenge {
	t.Helper()
	p := lexer{s: v}
	if p.token() != "Digest" || !p.skipLWS() {
		t.Fatalf("challenge %q does not start with Digest", v)
	}
	var ch challenge
	for {
		name := p.token()
		p.skipLWS()
		if !p.consume('=') {
			t.Fatalf("challenge %q: no '=' after %q", v, name)
		}
		p.skipLWS()
		quoted := p.pos < len(p.s) && p.s[p.pos] == '"'
		val, err := p.value()
		if err != nil {
			t.Fatalf("challenge %q: %v", v, err)
		}
		switch name {
		case "realm":
			ch.Realm = val
		case "nonce":
			ch.Nonce = val
		case "qop":
			if !quoted {
				t.Fatalf("challenge %q: qop-options must be quoted (RFC 3261 §25.1)", v)
			}
			ch.QOP = val
		case "algorithm":
			ch.Algorithm = val
		case "stale":
			ch.Stale = val
		default:
			t.Fatalf("challenge %q: unexpected parameter %q", v, name)
		}
		p.skipLWS()
		if p.eof() {
			return ch
		}
		if !p.consume(',') {
			t.Fatalf("challenge %q: expected ','", v)
		}
		p.skipLWS()
	}
}

// clientHash is H(s) in lowercase hex, computed apart from the package.
func clientHash(alg, s string) string {
	if strings.EqualFold(alg, SHA256) {
		h := sha256.Sum256([]byte(s))
		return hex.EncodeToString(h[:])
	}
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// answer is what a client sends for a challenge (RFC 7616 §3.4): user
// and password, the algorithm of the challenge (alg overrides it when not
// empty; "-" sends none), qop=auth with nc (nc 0: no qop, RFC 2069).
type answer struct {
	user, password, method, uri string
	alg                         string
	nc                          uint32
}

func (a answer) credentials(ch challenge) Credentials {
	alg := ch.Algorithm
	switch a.alg {
	case "":
	case "-":
		alg = ""
	default:
		alg = a.alg
	}
	ha1 := clientHash(alg, a.user+":"+ch.Realm+":"+a.password)
	ha2 := clientHash(alg, a.method+":"+a.uri)
	c := Credentials{Username: a.user, Realm: ch.Realm, Nonce: ch.Nonce, URI: a.uri, Algorithm: alg}
	if a.nc == 0 {
		c.Response = clientHash(alg, ha1+":"+ch.Nonce+":"+ha2)
		return c
	}
	c.QOP, c.NC, c.CNonce = "auth", fmt.Sprintf("%08x", a.nc), "0a4f113b"
	c.Response = clientHash(alg, ha1+":"+ch.Nonce+":"+c.NC+":"+c.CNonce+":auth:"+ha2)
	return c
}

// accounts is a store of HA1s: user → algorithm → HA1.
type accounts map[string]map[string]string

func newAccounts(realm string, userPasswords ...string) accounts {
	a := accounts{}
	for i := 0; i+1 < len(userPasswords); i += 2 {
		u, p := userPasswords[i], userPasswords[i+1]
		a[u] = map[string]string{SHA256: HA1(SHA256, u, realm, p), MD5: HA1(MD5, u, realm, p)}
	}
	return a
}

// lookup is the ha1 function of Verify for user.
func (a accounts) lookup(user string) func(alg string) (string, bool) {
	return func(alg string) (string, bool) {
		h, ok := a[user][alg]
		return h, ok
	}
}

// newFakeClock is the auth tests' injected clock.
func newFakeClock() *clocktest.Clock {
	return clocktest.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}
