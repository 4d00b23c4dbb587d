package room

import "testing"

// TestNicknameConfusables: a nickname that looks like one in use, or like
// a reserved word, is refused with 425 as the same nickname would be
// (issue 17): another script's look-alike letters, characters nobody sees,
// digits that pass for letters. The holder itself may respell its own.
func TestNicknameConfusables(t *testing.T) {
	n := NewNicknames()
	pol := NickPolicy{Allowed: true, Reserved: []string{"admin"}}
	alice, bob := user("a", "sip:alice@example.com"), user("b", "sip:bob@example.com")
	wantNick(t, n.Request("r", alice, "alice", pol, t0), 200, "alice")
	for _, nick := range []string{
		"\u0430lice",  // Cyrillic а
		"ALICE",       // case (RFC 8266 already)
		"ali\u200bce", // a zero-width space
		"al\u200dice", // a zero-width joiner
		"\u202ealice", // a bidi override
		"a\u217cice",  // ⅼ, SMALL ROMAN NUMERAL FIFTY
		"\uff41lice",  // fullwidth a (RFC 8266 width mapping)
		"\u0430dmin",  // a reserved word, in Cyrillic
		"adm\u0131n",  // dotless ı
	} {
		if got := n.Request("r", bob, nick, pol, t0); got.Code != 425 && got.Code != 424 {
			t.Errorf("%q: %+v, want 425 (or 424: not a nickname at all)", nick, got)
		}
	}
	if got := n.Request("r", bob, "paypa1", pol, t0); got.Code != 200 {
		t.Fatalf("paypa1: %+v", got)
	}
	carol := user("c", "sip:carol@example.com")
	if got := n.Request("r", carol, "paypal", pol, t0); got.Code != 425 {
		t.Errorf("paypal next to paypa1: %+v, want 425", got)
	}
	wantNick(t, n.Request("r", carol, "bobby", pol, t0), 200, "bobby")
	// The holder respells its own nickname: allowed, the same claim.
	if got := n.Request("r", alice, "\u0430lice", pol, t0); got.Code != 200 {
		t.Errorf("alice respelling her own nickname: %+v", got)
	}
	if got := n.Lookup("r", "alice"); len(got) != 1 || got[0] != alice {
		t.Errorf("Lookup alice: %v", got)
	}
}

// mapOwners is NickOwners from a map of nicknames to accounts.
type mapOwners map[string]string

func (m mapOwners) NicknameOwner(key string) (string, bool) {
	for nick, acct := range m {
		if _, k, err := NicknameKey(nick); err == nil && k == key {
			return acct, true
		}
	}
	return "", false
}

// TestNicknameOwned: a registered nickname, and its look-alikes, are
// refused to guests and to other accounts, in every room, and granted to
// the owner's participants.
func TestNicknameOwned(t *testing.T) {
	n := NewNicknames(WithOwners(mapOwners{"Alice": "alice"}))
	pol := NickPolicy{Allowed: true}
	guest := &Participant{ID: "g", URI: "sip:alice-x@example.com", Guest: true}
	bob := &Participant{ID: "b", URI: "sip:bob@example.com", Account: "bob"}
	alice := &Participant{ID: "a", URI: "sip:alice@example.com", Account: "alice"}
	for _, p := range []*Participant{guest, bob} {
		for _, nick := range []string{"alice", "ALICE", "\u0430lice"} {
			if got := n.Request("r", p, nick, pol, t0); got.Code != 425 {
				t.Errorf("%s asking for %q: %+v, want 425", p.ID, nick, got)
			}
		}
	}
	wantNick(t, n.Request("other-room", alice, "alice", pol, t0), 200, "alice")
	if _, _, err := NicknameKey("\u0007"); err == nil {
		t.Error("NicknameKey accepted a control character")
	}
}
