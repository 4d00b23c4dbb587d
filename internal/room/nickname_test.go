package room

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/msrp"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func user(id, uri string) *Participant { return &Participant{ID: id, URI: uri} }

var allow = NickPolicy{Allowed: true}

func wantNick(t *testing.T, got NickResult, code int, nick string) {
	t.Helper()
	if got.Code != code || code == 200 && got.Nickname != nick {
		t.Fatalf("got %+v; want %d %q", got, code, nick)
	}
}

func TestStatusCodesMatchMSRP(t *testing.T) {
	for got, want := range map[int]int{
		statusOK: msrp.StatusOK, statusForbidden: msrp.StatusForbidden,
		statusRecipientNotFound: msrp.StatusRecipientNotFound, statusMalformedNickname: msrp.StatusMalformedNickname,
		statusNicknameInUse: msrp.StatusNicknameInUse, statusPrivateNotSupp: msrp.StatusPrivateNotSupported,
	} {
		if got != want {
			t.Errorf("%d != msrp %d", got, want)
		}
	}
}

// TestNicknameRFC8266 takes a nickname for alice, then asks for another one
// for bob (a different identity) in the same room.
func TestNicknameRFC8266(t *testing.T) {
	for _, tc := range []struct {
		first, display, second string
		code                   int
	}{
		{"Foo", "Foo", "foo", 425},
		{"foo", "foo", "FOO", 425},
		{"Foo Bar", "Foo Bar", "foo bar", 425},
		{"Σ", "Σ", "σ", 425},
		{"Σ", "Σ", "ς", 200}, // final sigma is not lowercased Σ
		{"Richard Ⅳ", "Richard IV", "richard iv", 425},
		{"  Foo   Bar  ", "Foo Bar", "foo bar", 425},
		{"Foo\u00a0\u3000Bar", "Foo Bar", "FOO BAR", 425}, // non-ASCII spaces map to U+0020
		{"ϔ", "Ϋ", "ϋ", 425},                              // needs the rules applied twice
		{"∞", "∞", "∞∞", 200},
		{"ﬀ", "ff", "FF", 425}, // NFKC
		{"Alice", "Alice", "Alice2", 200},
	} {
		n := NewNicknames()
		wantNick(t, n.Request("r", user("a", "sip:alice@example.com"), tc.first, allow, t0), 200, tc.display)
		got := n.Request("r", user("b", "sip:bob@example.com"), tc.second, allow, t0)
		if got.Code != tc.code {
			t.Errorf("%q then %q: %+v; want %d", tc.first, tc.second, got, tc.code)
		}
	}
}

func TestNicknameMalformed(t *testing.T) {
	for _, nick := range []string{"   ", "\u00a0", "a\tb", "a\x00", "a\u0085b", "\xff\xfe", "a\u200db"} {
		n := NewNicknames()
		p := user("a", "sip:alice@example.com")
		if got := n.Request("r", p, nick, allow, t0); got.Code != 424 || n.NicknameOf(p) != "" {
			t.Errorf("%q: %+v; want 424", nick, got)
		}
	}
}

func TestNicknameLength(t *testing.T) {
	euro := strings.Repeat("€", 341) // 1023 octets
	for _, tc := range []struct {
		nick string
		max  int
		code int
	}{
		{strings.Repeat("a", 1023), 0, 200},
		{strings.Repeat("a", 1024), 0, 424},
		{strings.Repeat("a", 1023), 5000, 200}, // clamped to 1023
		{strings.Repeat("a", 1024), 5000, 424},
		{euro, 0, 200},
		{euro + "a", 0, 424},
		{"0123456789", 10, 200},
		{"0123456789a", 10, 424},
		{"  012345  ", 8, 424}, // the limit is on the value received
		{"ﷺ", 10, 424},         // 3 octets that NFKC expands to 33
		{"ﷺ", 0, 200},
	} {
		n := NewNicknames()
		pol := NickPolicy{Allowed: true, MaxBytes: tc.max}
		if got := n.Request("r", user("a", "sip:a@x"), tc.nick, pol, t0); got.Code != tc.code {
			t.Errorf("%d octets, max %d: %+v; want %d", len(tc.nick), tc.max, got, tc.code)
		}
	}
	// Too long says so, and by how much: the client can tell the user.
	got := NewNicknames().Request("r", user("a", "sip:a@x"), "0123456789a", NickPolicy{Allowed: true, MaxBytes: 10}, t0)
	if got.Code != 424 || got.Reason != "nickname too long: at most 10 octets" {
		t.Errorf("too long: %+v", got)
	}
}

func TestNicknameNotAllowed(t *testing.T) {
	n := NewNicknames()
	p := user("a", "sip:a@x")
	for _, nick := range []string{"alice", "", "   "} {
		if got := n.Request("r", p, nick, NickPolicy{}, t0); got.Code != 403 {
			t.Errorf("%q: %+v; want 403", nick, got)
		}
	}
}

func TestNicknameReserved(t *testing.T) {
	pol := NickPolicy{Allowed: true, Reserved: []string{"Admin", "Richard Ⅳ", "bad\tentry"}}
	for _, tc := range []struct {
		nick string
		code int
	}{
		{"admin", 425}, {"ADMIN", 425}, {"  Admin ", 425}, {"richard iv", 425},
		{"admin2", 200}, {"bad entry", 200}, {"ＡＤＭＩＮ", 425}, // fullwidth: NFKC
	} {
		n := NewNicknames()
		if got := n.Request("r", user("a", "sip:a@x"), tc.nick, pol, t0); got.Code != tc.code {
			t.Errorf("%q: %+v; want %d", tc.nick, got, tc.code)
		}
	}
}

func TestNicknameScope(t *testing.T) {
	alice, bob := user("a", "sip:alice@x"), user("b", "sip:bob@x")
	alice2 := user("a2", "sip:alice@x") // alice's session in another room
	focus := NickPolicy{Allowed: true, Scope: ScopeFocus}
	for _, tc := range []struct {
		name         string
		first, other NickPolicy
		who          *Participant
		code         int
	}{
		{"room scope, two rooms", allow, allow, bob, 200},
		{"focus scope", focus, focus, bob, 425},
		{"focus claim blocks a room-scope room", focus, allow, bob, 425},
		{"focus request sees a room-scope claim", allow, focus, bob, 425},
		{"focus scope, same user elsewhere", focus, focus, alice2, 200},
	} {
		n := NewNicknames()
		wantNick(t, n.Request("room1", alice, "Alice", tc.first, t0), 200, "Alice")
		if got := n.Request("room2", tc.who, "alice", tc.other, t0); got.Code != tc.code {
			t.Errorf("%s: %+v; want %d", tc.name, got, tc.code)
		}
	}
	// in one room, scope never matters
	n := NewNicknames()
	n.Request("room1", alice, "Alice", allow, t0)
	if got := n.Request("room1", bob, "ALICE", allow, t0); got.Code != 425 {
		t.Errorf("same room: %+v", got)
	}
}

func TestNicknameSameUserTwoDevices(t *testing.T) {
	n := NewNicknames()
	d1 := user("d1", "sip:alice@example.com")
	d2 := user("d2", "sip:alice@EXAMPLE.com;transport=tcp") // the same user (RFC 3261 §19.1.4)
	eve := user("e", "sip:eve@example.com")
	wantNick(t, n.Request("r", d1, "Alice", allow, t0), 200, "Alice")
	if n.NicknameOf(d2) != "" {
		t.Fatal("second device got the nickname without asking (RFC 7701 §7.1)")
	}
	wantNick(t, n.Request("r", d2, "alice", allow, t0), 200, "alice")
	if n.NicknameOf(d1) != "Alice" || n.NicknameOf(d2) != "alice" {
		t.Fatalf("%q %q", n.NicknameOf(d1), n.NicknameOf(d2))
	}
	if h := n.Lookup("r", "ALICE"); len(h) != 2 {
		t.Fatalf("lookup: %v", h)
	}
	wantNick(t, n.Request("r", eve, "alice", allow, t0), 425, "")
	n.Release(d1, t0)
	wantNick(t, n.Request("r", eve, "alice", allow, t0), 425, "") // d2 still has it
	n.Release(d2, t0)
	wantNick(t, n.Request("r", eve, "alice", allow, t0), 200, "alice")
}

func TestNicknameSelfAndRespell(t *testing.T) {
	n := NewNicknames()
	p := user("a", "sip:a@x")
	n.Request("r", p, "alice", allow, t0)
	if got := n.Request("r", p, " alice ", allow, t0); got.Code != 200 || got.Changed || got.Released != "" {
		t.Fatalf("re-request: %+v", got)
	}
	if got := n.Request("r", p, "Alice", allow, t0); got.Code != 200 || !got.Changed || got.Released != "alice" || got.Nickname != "Alice" {
		t.Fatalf("respell: %+v", got)
	}
}

func TestNicknameChangeAndFailureKeepsOld(t *testing.T) {
	n := NewNicknames()
	a, b, c := user("a", "sip:a@x"), user("b", "sip:b@x"), user("c", "sip:c@x")
	n.Request("r", a, "alice", allow, t0)
	n.Request("r", b, "bob", allow, t0)
	for _, bad := range []string{"BOB", "   ", strings.Repeat("x", 1024)} {
		if got := n.Request("r", a, bad, allow, t0); got.Code == 200 || n.NicknameOf(a) != "alice" {
			t.Fatalf("%q: %+v, now %q", bad, got, n.NicknameOf(a))
		}
	}
	wantNick(t, n.Request("r", c, "alice", allow, t0), 425, "")
	got := n.Request("r", a, "carol", allow, t0)
	if got.Code != 200 || got.Released != "alice" || !got.Changed || n.NicknameOf(a) != "carol" {
		t.Fatalf("change: %+v", got)
	}
	wantNick(t, n.Request("r", c, "alice", allow, t0), 200, "alice") // released on success
	wantNick(t, n.Request("r", c, "Carol", allow, t0), 425, "")
}

func TestNicknameRemoval(t *testing.T) {
	n := NewNicknames()
	a, b := user("a", "sip:a@x"), user("b", "sip:b@x")
	if got := n.Request("r", a, "", allow, t0); got.Code != 200 || got.Changed {
		t.Fatalf("remove nothing: %+v", got)
	}
	n.Request("r", a, "Alice", allow, t0)
	got := n.Request("r", a, "", allow, t0)
	if got.Code != 200 || got.Released != "Alice" || !got.Changed || got.Nickname != "" || n.NicknameOf(a) != "" {
		t.Fatalf("remove: %+v", got)
	}
	wantNick(t, n.Request("r", b, "alice", allow, t0), 200, "alice")
	if len(n.keys) != 1 || len(n.held) != 1 {
		t.Fatalf("leak: %d keys, %d held", len(n.keys), len(n.held))
	}
}

func TestNicknameQuarantine(t *testing.T) {
	pol := NickPolicy{Allowed: true, Quarantine: time.Minute}
	n := NewNicknames()
	a1, a2 := user("a1", "sip:alice@x"), user("a2", "sip:alice@x")
	b := user("b", "sip:bob@x")
	n.Request("r", a1, "alice", pol, t0)
	n.Release(a1, t0)
	if n.Lookup("r", "alice") != nil {
		t.Fatal("a quarantined nickname has holders")
	}
	wantNick(t, n.Request("r", b, "alice", pol, t0.Add(30*time.Second)), 425, "")
	wantNick(t, n.Request("r", a2, "Alice", pol, t0.Add(30*time.Second)), 200, "Alice") // its user takes it back
	t1 := t0.Add(40 * time.Second)
	n.Release(a2, t1)
	wantNick(t, n.Request("r", b, "alice", pol, t0.Add(61*time.Second)), 425, "") // the first deadline is void
	wantNick(t, n.Request("r", b, "alice", pol, t1.Add(time.Minute-time.Nanosecond)), 425, "")
	wantNick(t, n.Request("r", b, "alice", pol, t1.Add(time.Minute)), 200, "alice")

	// a change and a removal quarantine the old nickname too, but only
	// the most recently released one stays reserved (issue 14)
	t2 := t1.Add(time.Minute)
	n.Request("r", b, "bobby", pol, t2)
	n.Request("r", b, "", pol, t2)
	c := user("c", "sip:carol@x")
	wantNick(t, n.Request("r", c, "bobby", pol, t2.Add(30*time.Second)), 425, "")
	wantNick(t, n.Request("r", c, "alice", pol, t2.Add(30*time.Second)), 200, "alice")
	wantNick(t, n.Request("r", c, "bobby", pol, t2.Add(time.Minute)), 200, "bobby")
	n.Release(c, t2.Add(2*time.Minute))
	n.Release(c, t2.Add(5*time.Minute)) // twice: no-op
	if len(n.keys) != 0 || len(n.held) != 0 || len(n.expiry) != 0 {
		t.Fatalf("leak: %d keys, %d held, %d deadlines", len(n.keys), len(n.held), len(n.expiry))
	}
}

func TestNicknameLookup(t *testing.T) {
	n := NewNicknames()
	a := user("a", "sip:a@x")
	n.Request("r", a, "Richard Ⅳ", allow, t0)
	if h := n.Lookup("r", "richard iv"); len(h) != 1 || h[0] != a {
		t.Fatalf("%v", h)
	}
	for _, q := range [][2]string{{"other", "richard iv"}, {"r", "richard"}, {"r", "   "}, {"r", ""}} {
		if h := n.Lookup(q[0], q[1]); h != nil {
			t.Errorf("%q: %v", q, h)
		}
	}
}
