package focus

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/clocktest"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/msrp"
)

// The peers of harness_test.go send From sip:<user>@example.com: the
// accounts' domain of these tests.
const testRealm = "example.com"

// mapAccounts is Accounts from a map of passwords.
type mapAccounts map[string]string

func (m mapAccounts) HA1(username, alg string) (string, bool) {
	pw, ok := m[username]
	if !ok {
		return "", false
	}
	return auth.HA1(alg, username, testRealm, pw), true
}

func (m mapAccounts) Exists(username string) bool { _, ok := m[username]; return ok }

// digestEnv is a focus whose rooms admit guests unless denyGuests, with
// the account alice (password "wonderland").
func digestEnv(t *testing.T, denyGuests bool, opts ...envOpt) (*env, *clocktest.Clock) {
	t.Helper()
	clk := clocktest.New(time.Unix(1_800_000_000, 0))
	policy := func(string) (room.Policy, bool, bool) {
		return room.Policy{Nicknames: true, PrivateMessages: true, AcceptWrappedTypes: []string{"text/plain", "*"}, DenyGuests: denyGuests}, false, true
	}
	e := newEnv(t, policy, append([]envOpt{func(c *Config) {
		c.Auth = &DigestAuth{
			Host:     testRealm,
			Accounts: mapAccounts{"alice": "wonderland"},
			Digest:   auth.New(auth.Config{Realm: testRealm, NonceLifetime: time.Minute, Now: clk.Now}),
			Throttle: auth.NewThrottle(clk.Now),
		}
	}}, opts...)...)
	return e, clk
}

// invite sends an INVITE from p to roomName, with an Authorization when
// authz is not "", and returns the final response.
func (p *peer) invite(roomName, authz string) *sip.Response {
	p.t.Helper()
	req := p.withSDP(p.request(sip.INVITE, roomName, ""), offerFor(msrp.NewSessionID()))
	if authz != "" {
		req.AppendHeader(sip.NewHeader("Authorization", authz))
	}
	res := p.do(req)
	if res.StatusCode == 200 {
		p.ack(res, p.cseq)
	}
	p.cseq++
	return res
}

// challengeOf returns the challenge of res for alg.
func challengeOf(t *testing.T, res *sip.Response, alg string) *digest.Challenge {
	t.Helper()
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		c, err := digest.ParseChallenge(h.Value())
		if err != nil {
			t.Fatalf("WWW-Authenticate %q: %v", h.Value(), err)
		}
		if strings.EqualFold(c.Algorithm, alg) {
			return c
		}
	}
	t.Fatalf("no %s challenge in\n%s", alg, res)
	return nil
}

// answer computes, as an independent client implementation would
// (github.com/icholy/digest), the Authorization for an INVITE to roomName
// answering chal, with nonce count nc.
func answer(t *testing.T, p *peer, chal *digest.Challenge, roomName, user, password string, nc int) string {
	t.Helper()
	uri := p.request(sip.INVITE, roomName, "").Recipient.String()
	cred, err := digest.Digest(chal, digest.Options{Method: "INVITE", URI: uri, Username: user, Password: password, Count: nc})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

// TestDigestJoin: an INVITE from an account's URI is challenged (401,
// SHA-256 offered before MD5, RFC 8760 §2.3, qop auth), and joins with
// the right password under either algorithm, as the account.
func TestDigestJoin(t *testing.T) {
	e, _ := digestEnv(t, false)
	for _, alg := range []string{auth.SHA256, auth.MD5} {
		t.Run(alg, func(t *testing.T) {
			p := newPeer(t, e, "TCP", "alice")
			res := p.invite("lobby", "")
			if res.StatusCode != 401 {
				t.Fatalf("INVITE without credentials: %d %s, want 401", res.StatusCode, res.Reason)
			}
			hs := res.GetHeaders("WWW-Authenticate")
			if len(hs) != 2 || !strings.Contains(hs[0].Value(), "algorithm=SHA-256") || !strings.Contains(hs[1].Value(), "algorithm=MD5") {
				t.Fatalf("challenges %v: want SHA-256 then MD5", hs)
			}
			chal := challengeOf(t, res, alg)
			if !chal.SupportsQOP("auth") || chal.Realm != testRealm {
				t.Fatalf("challenge %+v: want realm %s, qop auth", chal, testRealm)
			}
			res = p.invite("lobby", answer(t, p, chal, "lobby", "alice", "wonderland", 1))
			if res.StatusCode != 200 {
				t.Fatalf("INVITE with credentials: %d %s", res.StatusCode, res.Reason)
			}
			rm, ok := e.rooms.Get("lobby")
			if !ok {
				t.Fatal("no room")
			}
			var found bool
			for _, pt := range e.rooms.Members(rm) {
				if pt.URI == "sip:alice@example.com" && pt.Account == "alice" && !pt.Guest {
					found = true
				}
			}
			if !found {
				t.Fatalf("no participant alice with account alice in %v", e.rooms.Members(rm))
			}
			p.bye(res)
		})
	}
}

// TestDigestRefusals: wrong password (403), unknown user (403), another
// user's credentials for alice's URI (403), a replayed nonce count and a
// forged nonce (a new challenge), an expired nonce (stale=true).
func TestDigestRefusals(t *testing.T) {
	e, clk := digestEnv(t, false)
	p := newPeer(t, e, "TCP", "alice")
	chal := challengeOf(t, p.invite("lobby", ""), auth.SHA256)

	if res := p.invite("lobby", answer(t, p, chal, "lobby", "alice", "looking-glass", 1)); res.StatusCode != 403 {
		t.Errorf("wrong password: %d %s, want 403", res.StatusCode, res.Reason)
	}
	if res := p.invite("lobby", answer(t, p, chal, "lobby", "mallory", "x", 2)); res.StatusCode != 403 {
		t.Errorf("unknown user: %d %s, want 403", res.StatusCode, res.Reason)
	}

	good := answer(t, p, chal, "lobby", "alice", "wonderland", 3)
	res := p.invite("lobby", good)
	if res.StatusCode != 200 {
		t.Fatalf("right password: %d %s", res.StatusCode, res.Reason)
	}
	p.bye(res)
	// The same nonce count again: a replay.
	if res := p.invite("lobby", good); res.StatusCode != 401 {
		t.Errorf("replayed nonce count: %d %s, want 401", res.StatusCode, res.Reason)
	}
	// A nonce the focus never issued.
	forged := *chal
	forged.Nonce = "bm90LW91cnM"
	if res := p.invite("lobby", answer(t, p, &forged, "lobby", "alice", "wonderland", 1)); res.StatusCode != 401 {
		t.Errorf("forged nonce: %d %s, want 401", res.StatusCode, res.Reason)
	}
	// Another realm: a new challenge.
	wrongRealm := *chal
	wrongRealm.Realm = "elsewhere.example"
	if res := p.invite("lobby", answer(t, p, &wrongRealm, "lobby", "alice", "wonderland", 5)); res.StatusCode != 401 {
		t.Errorf("another realm: %d %s, want 401", res.StatusCode, res.Reason)
	}
	// Repeated failures from one source are answered ever later: the
	// fourth wrong password in a row (the right one above forgot the
	// earlier ones) waits 250 ms (auth.Throttle).
	for nc := 6; nc < 9; nc++ {
		p.invite("lobby", answer(t, p, chal, "lobby", "alice", "nope", nc))
	}
	began := time.Now()
	if res := p.invite("lobby", answer(t, p, chal, "lobby", "alice", "nope", 9)); res.StatusCode != 403 {
		t.Errorf("a fourth wrong password: %d %s, want 403", res.StatusCode, res.Reason)
	}
	if waited := time.Since(began); waited < 200*time.Millisecond {
		t.Errorf("the fourth wrong password was answered after %v, want it slowed down (250 ms)", waited)
	}
	// Expired: a new challenge saying so.
	clk.Advance(2 * time.Minute)
	res = p.invite("lobby", answer(t, p, chal, "lobby", "alice", "wonderland", 4))
	if res.StatusCode != 401 || !strings.Contains(strings.ToLower(res.GetHeader("WWW-Authenticate").Value()), "stale=true") {
		t.Errorf("expired nonce: %d %s %v, want 401 with stale=true", res.StatusCode, res.Reason, res.GetHeaders("WWW-Authenticate"))
	}

	// Garbage credentials: 400.
	if res := p.invite("lobby", "Digest x=1"); res.StatusCode != 400 {
		t.Errorf("malformed Authorization: %d %s, want 400", res.StatusCode, res.Reason)
	}
}

// TestDigestGuests: without credentials, a URI that is no account's joins
// as a guest when the room admits guests, and is challenged when it does
// not; credentials for alice under bob's From are refused.
func TestDigestGuests(t *testing.T) {
	t.Run("allow", func(t *testing.T) {
		e, _ := digestEnv(t, false)
		p := newPeer(t, e, "TCP", "bob")
		res := p.invite("lobby", "")
		if res.StatusCode != 200 {
			t.Fatalf("guest: %d %s", res.StatusCode, res.Reason)
		}
		rm, _ := e.rooms.Get("lobby")
		if ps := e.rooms.Members(rm); len(ps) != 1 || !ps[0].Guest || ps[0].Account != "" {
			t.Fatalf("participants %+v: want bob as a guest", ps)
		}
		p.bye(res)
	})
	t.Run("deny", func(t *testing.T) {
		e, _ := digestEnv(t, true)
		p := newPeer(t, e, "TCP", "bob")
		res := p.invite("lobby", "")
		if res.StatusCode != 401 {
			t.Fatalf("guest in a room denying guests: %d %s, want 401", res.StatusCode, res.Reason)
		}
		// bob proves alice's password: his From is not alice's URI.
		chal := challengeOf(t, res, auth.SHA256)
		if res := p.invite("lobby", answer(t, p, chal, "lobby", "alice", "wonderland", 1)); res.StatusCode != 403 {
			t.Fatalf("alice's credentials under bob's From: %d %s, want 403", res.StatusCode, res.Reason)
		}
		// alice herself gets in.
		a := newPeer(t, e, "TCP", "alice")
		chal = challengeOf(t, a.invite("lobby", ""), auth.SHA256)
		if res := a.invite("lobby", answer(t, a, chal, "lobby", "alice", "wonderland", 1)); res.StatusCode != 200 {
			t.Fatalf("alice: %d %s", res.StatusCode, res.Reason)
		} else {
			a.bye(res)
		}
	})
}

// TestDigestSubscribe: a SUBSCRIBE from an account's URI is challenged as
// an INVITE is.
func TestDigestSubscribe(t *testing.T) {
	e, _ := digestEnv(t, false, withConference(20*time.Millisecond))
	p := newPeer(t, e, "TCP", "alice")
	req := p.request(sip.SUBSCRIBE, "lobby", "")
	req.AppendHeader(sip.NewHeader("Event", "conference"))
	req.AppendHeader(sip.NewHeader("Accept", "application/conference-info+xml"))
	if res := p.do(req); res.StatusCode != 401 {
		t.Fatalf("SUBSCRIBE from alice without credentials: %d %s, want 401", res.StatusCode, res.Reason)
	}
}

// TestDigestTrustedProxy: from a trusted source, P-Asserted-Identity is
// the participant (RFC 3325), without a challenge; from any other source
// it is ignored: the From decides, and an account's URI is challenged.
func TestDigestTrustedProxy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted string
	}{{"trusted", "127.0.0.0/8"}, {"untrusted", "192.0.2.0/24"}} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := digestEnv(t, false, func(c *Config) {
				c.Auth.(*DigestAuth).Trusted = []netip.Prefix{netip.MustParsePrefix(tc.trusted)}
			})
			p := newPeer(t, e, "TCP", "gw")
			req := p.withSDP(p.request(sip.INVITE, "lobby", ""), offerFor(msrp.NewSessionID()))
			req.AppendHeader(sip.NewHeader("P-Asserted-Identity", `"Alice" <sip:alice@example.com>, <tel:+15551234>`))
			res := p.do(req)
			if tc.name == "untrusted" {
				// gw's own From: a guest; the assertion counted for nothing.
				if res.StatusCode != 200 {
					t.Fatalf("INVITE: %d %s", res.StatusCode, res.Reason)
				}
				rm, _ := e.rooms.Get("lobby")
				if ps := e.rooms.Members(rm); len(ps) != 1 || ps[0].URI != "sip:gw@example.com" || !ps[0].Guest {
					t.Fatalf("participants %+v: want gw as a guest", ps)
				}
				a := newPeer(t, e, "TCP", "alice")
				req := a.withSDP(a.request(sip.INVITE, "lobby", ""), offerFor(msrp.NewSessionID()))
				req.AppendHeader(sip.NewHeader("P-Asserted-Identity", "<sip:alice@example.com>"))
				if res := a.do(req); res.StatusCode != 401 {
					t.Fatalf("alice's URI asserted by an untrusted source: %d %s, want 401", res.StatusCode, res.Reason)
				}
				return
			}
			if res.StatusCode != 200 {
				t.Fatalf("INVITE through a trusted proxy: %d %s", res.StatusCode, res.Reason)
			}
			rm, _ := e.rooms.Get("lobby")
			if ps := e.rooms.Members(rm); len(ps) != 1 || ps[0].URI != "sip:alice@example.com" || ps[0].Account != "alice" || ps[0].Guest {
				t.Fatalf("participants %+v: want alice, the account", ps)
			}
		})
	}
}

// TestWatchersParticipantsOnly: a room whose policy lets only its
// participants watch answers another's SUBSCRIBE 403 (RFC 4575 §9) and a
// participant's 200.
func TestWatchersParticipantsOnly(t *testing.T) {
	policy := func(string) (room.Policy, bool, bool) {
		return room.Policy{Nicknames: true, PrivateMessages: true, AcceptWrappedTypes: []string{"text/plain", "*"}, WatchersParticipantsOnly: true}, false, true
	}
	e := newEnv(t, policy, withConference(20*time.Millisecond))
	alice := newPeer(t, e, "TCP", "alice")
	alice.join("chat")
	if res := newPeer(t, e, "TCP", "mallory").subscribe("chat", ""); res.StatusCode != 403 {
		t.Fatalf("a stranger's SUBSCRIBE: %d %s, want 403", res.StatusCode, res.Reason)
	}
	alice.callID = "watch-" + alice.callID // a subscription dialog of its own
	alice.tag = "w" + alice.tag
	if res := alice.subscribe("chat", ""); res.StatusCode != 200 {
		t.Fatalf("a participant's SUBSCRIBE: %d %s, want 200", res.StatusCode, res.Reason)
	}
}

// TestGuestsForeignOnly: with guest_uris = "foreign", a guest's URI in the
// accounts' domain is refused (403) — no guest can look like an account —
// while a foreign guest and the account itself get in.
func TestGuestsForeignOnly(t *testing.T) {
	clk := clocktest.New(time.Unix(1_800_000_000, 0))
	policy := func(string) (room.Policy, bool, bool) {
		return room.Policy{Nicknames: true, AcceptWrappedTypes: []string{"*"}, GuestsForeignOnly: true}, false, true
	}
	e := newEnv(t, policy, func(c *Config) {
		c.Auth = &DigestAuth{Host: testRealm, Accounts: mapAccounts{"alice": "wonderland"},
			Digest: auth.New(auth.Config{Realm: testRealm, Now: clk.Now}), Throttle: auth.NewThrottle(clk.Now)}
	})
	if res := newPeer(t, e, "TCP", "carol").invite("lobby", ""); res.StatusCode != 403 {
		t.Fatalf("a guest in the accounts' domain: %d %s, want 403", res.StatusCode, res.Reason)
	}
	a := newPeer(t, e, "TCP", "alice")
	chal := challengeOf(t, a.invite("lobby", ""), auth.SHA256)
	if res := a.invite("lobby", answer(t, a, chal, "lobby", "alice", "wonderland", 1)); res.StatusCode != 200 {
		t.Fatalf("the account: %d %s", res.StatusCode, res.Reason)
	}
	f := newPeer(t, e, "TCP", "dave")
	f.domain = "elsewhere.example"
	if res := f.invite("lobby", ""); res.StatusCode != 200 {
		t.Fatalf("a foreign guest: %d %s", res.StatusCode, res.Reason)
	}
}

// TestDigestMessageOutsideDialog: a MESSAGE or INFO outside a dialog from
// an account's URI is challenged (401) like an INVITE; with credentials,
// or from a guest, it gets the 481 any request outside a dialog gets.
func TestDigestMessageOutsideDialog(t *testing.T) {
	e, _ := digestEnv(t, false)
	for _, m := range []sip.RequestMethod{sip.MESSAGE, sip.INFO} {
		a := newPeer(t, e, "TCP", "alice")
		res := a.do(a.request(m, "lobby", ""))
		if res.StatusCode != 401 {
			t.Fatalf("%s from alice's URI: %d %s, want 401", m, res.StatusCode, res.Reason)
		}
		chal := challengeOf(t, res, auth.SHA256)
		req := a.request(m, "lobby", "")
		a.cseq++
		uri := req.Recipient.String()
		cred, err := digest.Digest(chal, digest.Options{Method: string(m), URI: uri, Username: "alice", Password: "wonderland", Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		req.AppendHeader(sip.NewHeader("Authorization", cred.String()))
		if res := a.do(req); res.StatusCode != 481 {
			t.Fatalf("%s from alice with credentials: %d %s, want 481", m, res.StatusCode, res.Reason)
		}
		g := newPeer(t, e, "TCP", "bob")
		if res := g.do(g.request(m, "lobby", "")); res.StatusCode != 481 {
			t.Fatalf("%s from a guest: %d %s, want 481", m, res.StatusCode, res.Reason)
		}
	}
}
