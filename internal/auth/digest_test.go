package auth

import (
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/clocktest"
)

const testRealm = "example.com"

// setup is a Digest on a fake clock with alice's account.
func setup(t testing.TB, cfg Config) (*Digest, *clocktest.Clock, accounts) {
	t.Helper()
	clk := clocktest.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	if cfg.Realm == "" {
		cfg.Realm = testRealm
	}
	cfg.Now = clk.Now
	return New(cfg), clk, newAccounts(cfg.Realm, "alice", "wonderland", "bob", `p"ss\word`)
}

// alice answers for alice with the right password, INVITE, nc.
func alice(nc uint32) answer {
	return answer{user: "alice", password: "wonderland", method: "INVITE", uri: "sip:room@example.com", nc: nc}
}

func TestChallenges(t *testing.T) {
	d, _, _ := setup(t, Config{})
	re := regexp.MustCompile(`^Digest realm="example\.com", nonce="([A-Za-z0-9_-]{48})", qop="auth", algorithm=(SHA-256|MD5)(, stale=true)?$`)
	for _, stale := range []bool{false, true} {
		got := d.Challenges(stale)
		if len(got) != 2 {
			t.Fatalf("Challenges(%v) = %d values, want 2", stale, len(got))
		}
		var nonces []string
		for i, want := range []string{SHA256, MD5} {
			m := re.FindStringSubmatch(got[i])
			if m == nil {
				t.Fatalf("Challenges(%v)[%d] = %q: not the expected form", stale, i, got[i])
			}
			if m[2] != want {
				t.Errorf("Challenges(%v)[%d] algorithm %s, want %s (SHA-256 first, RFC 8760)", stale, i, m[2], want)
			}
			if (m[3] != "") != stale {
				t.Errorf("Challenges(%v)[%d] = %q: stale parameter wrong", stale, i, got[i])
			}
			ch := parseChallenge(t, got[i])
			if ch.Realm != testRealm || ch.QOP != "auth" || ch.Algorithm != want {
				t.Errorf("challenge read back as %+v", ch)
			}
			nonces = append(nonces, m[1])
		}
		if nonces[0] != nonces[1] {
			t.Errorf("the two challenges carry different nonces %s, %s", nonces[0], nonces[1])
		}
	}
	a, b := parseChallenge(t, d.Challenges(false)[0]), parseChallenge(t, d.Challenges(false)[0])
	if a.Nonce == b.Nonce {
		t.Errorf("two challenges with the same nonce %s", a.Nonce)
	}
	if n := d.nonces.len(); n != 4 {
		t.Errorf("%d nonces remembered after 4 challenges, want 4", n)
	}
}

func TestChallengeRealmQuoted(t *testing.T) {
	d, _, _ := setup(t, Config{Realm: "a \"b\" \\c\r\nVia: x"})
	v := d.Challenges(false)[0]
	if strings.ContainsAny(v, "\r\n") {
		t.Fatalf("challenge %q contains CR or LF", v)
	}
	if got := parseChallenge(t, v).Realm; got != `a "b" \cVia: x` {
		t.Fatalf("realm read back as %q", got)
	}
}

func TestVerify(t *testing.T) {
	type step struct {
		a      answer
		mutate func(*Credentials)
		method string // Verify's method when not the answer's
		want   Result
	}
	wrong := alice(1)
	wrong.password = "Wonderland"
	for _, tc := range []struct {
		name   string
		alg    int // which challenge: 0 SHA-256, 1 MD5
		before time.Duration
		steps  []step
	}{
		{name: "SHA-256 OK", steps: []step{{a: alice(1), want: OK}}},
		{name: "MD5 OK", alg: 1, steps: []step{{a: alice(1), want: OK}}},
		{name: "no algorithm is MD5", alg: 1, steps: []step{{a: func() answer { a := alice(1); a.alg = "-"; return a }(), want: OK}}},
		{name: "algorithm in lowercase", steps: []step{{a: func() answer { a := alice(1); a.alg = "sha-256"; return a }(), want: OK}}},
		{name: "MD5 answer to the SHA-256 challenge (same nonce)", steps: []step{{a: func() answer { a := alice(1); a.alg = MD5; return a }(), want: OK}}},
		{name: "password with quote and backslash", steps: []step{{a: answer{user: "bob", password: `p"ss\word`, method: "SUBSCRIBE", uri: "sip:r@example.com", nc: 1}, want: OK}}},
		{name: "wrong password", steps: []step{{a: wrong, want: WrongPassword}}},
		{name: "wrong password MD5", alg: 1, steps: []step{{a: wrong, want: WrongPassword}}},
		{name: "unknown user", steps: []step{{a: answer{user: "carol", password: "x", method: "INVITE", uri: "sip:r@x", nc: 1}, want: UnknownUser}}},
		{name: "wrong method", steps: []step{{a: alice(1), method: "BYE", want: WrongPassword}}},
		{name: "wrong realm", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.Realm = "example.org" }, want: WrongRealm}}},
		{name: "uppercase response", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.Response = strings.ToUpper(c.Response) }, want: OK}}},
		{name: "replay of the same nc", steps: []step{{a: alice(1), want: OK}, {a: alice(1), want: Replayed}}},
		{name: "increasing nc", steps: []step{{a: alice(1), want: OK}, {a: alice(2), want: OK}, {a: alice(7), want: OK}, {a: alice(5), want: Replayed}, {a: alice(8), want: OK}}},
		{name: "a failure records nothing", steps: []step{{a: wrong, want: WrongPassword}, {a: alice(1), want: OK}}},
		{name: "replay with a wrong password", steps: []step{{a: alice(1), want: OK}, {a: wrong, want: WrongPassword}}},
		{name: "stale", before: 61 * time.Second, steps: []step{{a: alice(1), want: Stale}}},
		{name: "at the lifetime", before: 60 * time.Second, steps: []step{{a: alice(1), want: OK}}},
		{name: "stale with a wrong password", before: time.Hour, steps: []step{{a: wrong, want: WrongPassword}}},
		{name: "no qop: single use", steps: []step{{a: alice(0), want: OK}, {a: alice(0), want: Replayed}, {a: alice(1), want: Replayed}}},
		{name: "no qop after qop", steps: []step{{a: alice(1), want: OK}, {a: alice(0), want: Replayed}}},
		{name: "no qop MD5", alg: 1, steps: []step{{a: alice(0), want: OK}}},
		{name: "qop in uppercase", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.QOP = "AUTH" }, want: WrongPassword}}},
		{name: "auth-int", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.QOP = "auth-int" }, want: Malformed}}},
		{name: "unknown qop", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.QOP = "auth,auth-int" }, want: Malformed}}},
		{name: "MD5-sess", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.Algorithm = "MD5-sess" }, want: Malformed}}},
		{name: "SHA-256-sess", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.Algorithm = "SHA-256-sess" }, want: Malformed}}},
		{name: "SHA-512-256", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.Algorithm = "SHA-512-256" }, want: Malformed}}},
		{name: "nc too short", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.NC = "1" }, want: Malformed}}},
		{name: "nc not hex", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.NC = "0000000g" }, want: Malformed}}},
		{name: "nc signed", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.NC = "+0000001" }, want: Malformed}}},
		{name: "nc zero", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.NC = "00000000" }, want: Malformed}}},
		{name: "nc missing", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.NC = "" }, want: Malformed}}},
		{name: "cnonce missing", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.CNonce = "" }, want: Malformed}}},
		{name: "nc without qop", steps: []step{{a: alice(0), mutate: func(c *Credentials) { c.NC = "00000001" }, want: Malformed}}},
		{name: "cnonce without qop", steps: []step{{a: alice(0), mutate: func(c *Credentials) { c.CNonce = "x" }, want: Malformed}}},
		{name: "response too short", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.Response = c.Response[:32] }, want: Malformed}}},
		{name: "response not hex", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.Response = strings.Repeat("z", 64) }, want: Malformed}}},
		{name: "no username", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.Username = "" }, want: Malformed}}},
		{name: "no uri", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.URI = "" }, want: Malformed}}},
		{name: "no nonce", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.Nonce = "" }, want: Malformed}}},
		{name: "forged nonce: one character changed", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.Nonce = flip(c.Nonce, 10) }, want: UnknownNonce}}},
		{name: "forged nonce: tag changed", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.Nonce = flip(c.Nonce, 47) }, want: UnknownNonce}}},
		{name: "forged nonce: another server's", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.Nonce = rfcNonce }, want: UnknownNonce}}},
		{name: "forged nonce: not base64", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.Nonce = strings.Repeat("!", 48) }, want: UnknownNonce}}},
		{name: "forged nonce: padded", steps: []step{{a: alice(1), mutate: func(c *Credentials) { c.Nonce += "==" }, want: UnknownNonce}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, clk, acc := setup(t, Config{})
			ch := parseChallenge(t, d.Challenges(false)[tc.alg])
			clk.Advance(tc.before)
			for i, s := range tc.steps {
				c := s.a.credentials(ch)
				if s.mutate != nil {
					s.mutate(&c)
				}
				method := s.a.method
				if s.method != "" {
					method = s.method
				}
				if got := d.Verify(method, c, acc.lookup(c.Username)); got != s.want {
					t.Fatalf("step %d: Verify(%+v) = %v, want %v", i, c, got, s.want)
				}
			}
		})
	}
}

// flip changes the base64url character at i of s into another.
func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// Verify goes through ParseCredentials the way the focus calls it.
func TestVerifyParsedHeader(t *testing.T) {
	d, _, acc := setup(t, Config{})
	ch := parseChallenge(t, d.Challenges(false)[0])
	c, err := ParseCredentials(alice(1).credentials(ch).String())
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Verify("INVITE", c, acc.lookup("alice")); got != OK {
		t.Fatalf("Verify = %v, want OK", got)
	}
}

func TestVerifyAlgorithmAsked(t *testing.T) {
	d, _, acc := setup(t, Config{})
	ch := parseChallenge(t, d.Challenges(false)[0])
	for _, tc := range []struct{ alg, asked string }{{SHA256, SHA256}, {"sha-256", SHA256}, {MD5, MD5}, {"-", MD5}} {
		a := alice(1)
		a.alg = tc.alg
		var asked []string
		d.Verify("INVITE", a.credentials(ch), func(alg string) (string, bool) {
			asked = append(asked, alg)
			return acc.lookup("alice")(alg)
		})
		if len(asked) != 1 || asked[0] != tc.asked {
			t.Errorf("algorithm %q: ha1 asked for %q, want [%s]", tc.alg, asked, tc.asked)
		}
	}
}

func TestVerifyBadStoredHA1(t *testing.T) {
	d, _, _ := setup(t, Config{})
	ch := parseChallenge(t, d.Challenges(false)[0])
	c := alice(1).credentials(ch)
	for _, stored := range []string{"", "xyz", HA1(MD5, "alice", testRealm, "wonderland"), strings.Repeat("g", 64)} {
		if got := d.Verify("INVITE", c, func(string) (string, bool) { return stored, true }); got != UnknownUser {
			t.Errorf("stored HA1 %q: Verify = %v, want UnknownUser", stored, got)
		}
	}
	upper := strings.ToUpper(HA1(SHA256, "alice", testRealm, "wonderland"))
	if got := d.Verify("INVITE", c, func(string) (string, bool) { return upper, true }); got != OK {
		t.Errorf("stored HA1 in uppercase: Verify = %v, want OK", got)
	}
}

// A nonce from another key (the server before a restart) is not ours.
func TestVerifyOtherKey(t *testing.T) {
	d1, _, acc := setup(t, Config{Key: []byte("one")})
	d2, _, _ := setup(t, Config{Key: []byte("two")})
	d3, _, _ := setup(t, Config{Key: []byte("one")})
	ch := parseChallenge(t, d1.Challenges(false)[0])
	c := alice(1).credentials(ch)
	if got := d2.Verify("INVITE", c, acc.lookup("alice")); got != UnknownNonce {
		t.Errorf("another key: %v, want UnknownNonce", got)
	}
	// The same key but a table that never saw it (a restart with a
	// configured key): stale, so the client retries without a prompt.
	if got := d3.Verify("INVITE", c, acc.lookup("alice")); got != Stale {
		t.Errorf("same key, not remembered: %v, want Stale", got)
	}
	if got := d1.Verify("INVITE", c, acc.lookup("alice")); got != OK {
		t.Errorf("issuer: %v, want OK", got)
	}
}

func TestVerifyEvicted(t *testing.T) {
	d, _, acc := setup(t, Config{MaxNonces: 3})
	first := parseChallenge(t, d.Challenges(false)[0])
	var rest []challenge
	for range 3 {
		rest = append(rest, parseChallenge(t, d.Challenges(false)[0]))
	}
	if n := d.nonces.len(); n != 3 {
		t.Fatalf("%d nonces remembered, want 3", n)
	}
	if got := d.Verify("INVITE", alice(1).credentials(first), acc.lookup("alice")); got != Stale {
		t.Errorf("evicted nonce: %v, want Stale", got)
	}
	for i, ch := range rest {
		if got := d.Verify("INVITE", alice(1).credentials(ch), acc.lookup("alice")); got != OK {
			t.Errorf("nonce %d: %v, want OK", i, got)
		}
	}
	// Eviction forgets the nc: a replay of an evicted nonce is Stale, not OK.
	d.Challenges(false)
	if got := d.Verify("INVITE", alice(2).credentials(rest[0]), acc.lookup("alice")); got != Stale {
		t.Errorf("evicted after use: %v, want Stale", got)
	}
}

// A flood of challenges never turns a replay into an OK.
func TestVerifyFlood(t *testing.T) {
	d, _, acc := setup(t, Config{MaxNonces: 16})
	ch := parseChallenge(t, d.Challenges(false)[0])
	c := alice(1).credentials(ch)
	if got := d.Verify("INVITE", c, acc.lookup("alice")); got != OK {
		t.Fatalf("first use: %v", got)
	}
	for i := range 100 {
		d.Challenges(false)
		if got := d.Verify("INVITE", c, acc.lookup("alice")); got != Replayed && got != Stale {
			t.Fatalf("after %d more challenges, a replay: %v", i+1, got)
		}
	}
}

func TestNoncesExpireFromTable(t *testing.T) {
	d, clk, _ := setup(t, Config{NonceLifetime: 10 * time.Second})
	for range 5 {
		d.Challenges(false)
		clk.Advance(time.Second)
	}
	clk.Advance(7 * time.Second) // the first two are now over 10 s old
	d.Challenges(false)
	if n := d.nonces.len(); n != 4 {
		t.Fatalf("%d nonces remembered, want 4 (3 live + 1 new)", n)
	}
	clk.Advance(time.Hour)
	d.Challenges(false)
	if n := d.nonces.len(); n != 1 {
		t.Fatalf("%d nonces remembered after an hour, want 1", n)
	}
}

func TestNewDefaults(t *testing.T) {
	d := New(Config{Realm: "r"})
	if d.lifetime != DefaultNonceLifetime || d.nonces.max != DefaultMaxNonces || len(d.key) != 32 || d.now == nil {
		t.Fatalf("defaults: lifetime %v, max %d, key %d bytes", d.lifetime, d.nonces.max, len(d.key))
	}
	if d.Realm() != "r" {
		t.Fatalf("Realm() = %q", d.Realm())
	}
	e := New(Config{Realm: "r"})
	if string(d.key) == string(e.key) {
		t.Fatal("two random keys are equal")
	}
	key := []byte("k")
	f := New(Config{Key: key})
	key[0] = 'x'
	if string(f.key) != "k" {
		t.Fatal("New keeps the caller's key slice")
	}
}

// Concurrent uses of one nonce and nc: exactly one is accepted.
func TestVerifyConcurrent(t *testing.T) {
	d := New(Config{Realm: testRealm})
	acc := newAccounts(testRealm, "alice", "wonderland")
	ch := parseChallenge(t, d.Challenges(false)[0])
	c := alice(1).credentials(ch)
	const n = 8
	results := make([]Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			d.Challenges(false)
			results[i] = d.Verify("INVITE", c, acc.lookup("alice"))
		})
	}
	wg.Wait()
	ok := 0
	for _, r := range results {
		switch r {
		case OK:
			ok++
		case Replayed:
		default:
			t.Errorf("result %v", r)
		}
	}
	if ok != 1 {
		t.Fatalf("%d OK, want 1: %v", ok, results)
	}
}

func TestResultString(t *testing.T) {
	want := []string{"OK", "Malformed", "WrongRealm", "UnknownNonce", "Stale", "Replayed", "UnknownUser", "WrongPassword"}
	for i, w := range want {
		if got := Result(i).String(); got != w {
			t.Errorf("Result(%d) = %q, want %q", i, got, w)
		}
	}
	if got := Result(42).String(); got != "Result(42)" {
		t.Errorf("Result(42) = %q", got)
	}
	if got := Result(-1).String(); got != "Result(-1)" {
		t.Errorf("Result(-1) = %q", got)
	}
}
