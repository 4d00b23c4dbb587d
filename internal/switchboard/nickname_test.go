package switchboard

import (
	"strings"
	"testing"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// nick sends a NICKNAME and expects code.
func (pt *party) nick(value string, code int, opts ...msrptest.Option) {
	pt.h.t.Helper()
	m := msrptest.Nickname(pt.sw, pt.self, value, opts...)
	pt.Send(m)
	pt.ExpectResponse(m.TID, code)
}

// RFC 7701 §7 and SPEC §14A.3, over the wire: 200, 425 (in use by another
// user, reserved), 424, 400, the same user on a second device, change and
// removal.
func TestNickname(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	alice2 := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")

	alice.nick("Alice", 200)
	bob.nick("alice", 425)  // PRECIS Nickname: case-insensitive comparison (RFC 8266)
	bob.nick("Alice ", 425) // trailing space removed by enforcement
	alice2.nick("Alice", 200)
	bob.nick("Admin", 425) // reserved
	bob.nick("Bob", 200)
	bob.nick("Bob", 200) // again: no change

	// Malformed Use-Nickname values: 424.
	for _, raw := range []string{`"unterminated`, `"bad \x escape"`, `"   "`, `"` + strings.Repeat("a", 1100) + `"`} {
		m := msrptest.Nickname(bob.sw, bob.self, "x")
		m.Header.Set(msrp.HeaderUseNickname, raw)
		bob.Send(m)
		bob.ExpectResponse(m.TID, 424)
	}
	// RFC 7701 §7.1 forbids report headers on NICKNAME; no Use-Nickname at all: 400.
	bob.nick("Bobby", 400, msrptest.WithHeader(msrp.HeaderFailureReport, "yes"))
	bob.nick("Bobby", 400, msrptest.WithHeader(msrp.HeaderSuccessReport, "no"))
	m := msrptest.Nickname(bob.sw, bob.self, "x")
	m.Header.Del(msrp.HeaderUseNickname)
	bob.Send(m)
	bob.ExpectResponse(m.TID, 400)

	// A failed change keeps the current nickname (RFC 7701 §7.2).
	bob.nick("alice", 425)
	alice.nick("Bob", 425)
	// Removal releases it (RFC 7701 §7.3): "" is the empty quoted string.
	bob.nick("", 200)
	alice.nick("Bob", 200) // alice's first device changes; its "Alice" goes
	if got := h.sw.Nicknames().NicknameOf(alice.p); got != "Bob" {
		t.Errorf("alice's nickname = %q", got)
	}
	if got := h.sw.Nicknames().NicknameOf(alice2.p); got != "Alice" {
		t.Errorf("alice2's nickname = %q", got)
	}
	// Leaving releases the nickname.
	alice.leave()
	bob.nick("Bob", 200)
}

// A room that does not allow nicknames answers 403 (RFC 7701 §7.1), even
// for a malformed value.
func TestNicknameNotAllowed(t *testing.T) {
	pol := defaultPolicy()
	pol.Nicknames = false
	h := newHarness(t, pol)
	alice := h.join("chat", "sip:alice@example.com")
	alice.nick("Alice", 403)
	m := msrptest.Nickname(alice.sw, alice.self, "x")
	m.Header.Set(msrp.HeaderUseNickname, `"unterminated`)
	alice.Send(m)
	alice.ExpectResponse(m.TID, 403)
}

// RFC 7701 §7.1: a Use-Nickname value that is not a nickname is a 424,
// also when it holds control characters or invalid UTF-8, which would make
// any other header a 400 (the Reader leaves Use-Nickname to the switch).
// The connection goes on, and the value reserved nothing.
func TestNicknameControlCharacters(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	bob := h.join("chat", "sip:bob@example.com")
	for _, raw := range []string{"\"bo\x01b\"", "bo\x00b", "\"\xff\xfe\"", "\"bob\x7f\"", "\"\x1b[2Jbob\"", "b\rob", "\"bo\\b\""} {
		m := msrptest.Nickname(bob.sw, bob.self, "x")
		m.Header.Set(msrp.HeaderUseNickname, raw)
		bob.Send(m)
		bob.ExpectResponse(m.TID, 424)
	}
	if got := h.sw.Nicknames().NicknameOf(bob.p); got != "" {
		t.Errorf("bob's nickname = %q", got)
	}
	// Control characters elsewhere keep their 400.
	m := msrptest.Nickname(bob.sw, bob.self, "bob", msrptest.WithHeader("X-Note", "a\x01b"))
	bob.Send(m)
	bob.ExpectResponse(m.TID, 400)
	bob.nick("bob", 200)
}
