package room

import (
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestSuggest(t *testing.T) {
	n := NewNicknames()
	alice, bob, carol := user("a", "sip:alice@x"), user("b", "sip:bob@x"), user("c", "sip:carol@x")
	pol := NickPolicy{Allowed: true, Reserved: []string{"Daisy4"}}
	wantNick(t, n.Request("r", alice, "Daisy", pol, t0), 200, "Daisy")
	wantNick(t, n.Request("r", carol, "daisy2", pol, t0), 200, "daisy2")

	// "Daisy2" is carol's, "Daisy4" reserved.
	got := n.Suggest("r", bob, "daisy", pol, 3)
	if want := []string{"daisy3", "daisy5", "daisy6"}; !slices.Equal(got, want) {
		t.Fatalf("Suggest = %q, want %q", got, want)
	}
	// Each is free: bob can take any of them.
	for _, s := range got {
		m := NewNicknames()
		m.Request("r", alice, "Daisy", pol, t0)
		m.Request("r", carol, "daisy2", pol, t0)
		wantNick(t, m.Request("r", bob, s, pol, t0), 200, s)
	}
	// The enforced form is the base (RFC 8266 §2.3), case preserved.
	if got := n.Suggest("r", bob, "  DAISY  ", pol, 2); !slices.Equal(got, []string{"DAISY3", "DAISY5"}) {
		t.Fatalf("enforced base: %q", got)
	}
	// Its own nickname is not suggested to its holder; another identity's
	// is not suggested to anyone.
	if got := n.Suggest("r", carol, "Daisy", pol, 2); !slices.Equal(got, []string{"Daisy3", "Daisy5"}) {
		t.Fatalf("to carol: %q", got)
	}
	// Another room with room scope: only the reserved word is out.
	if got := n.Suggest("other", bob, "Daisy", pol, 3); !slices.Equal(got, []string{"Daisy2", "Daisy3", "Daisy5"}) {
		t.Fatalf("other room: %q", got)
	}
	// Focus scope sees every room.
	focus := pol
	focus.Scope = ScopeFocus
	if got := n.Suggest("other", bob, "Daisy", focus, 3); !slices.Equal(got, []string{"Daisy3", "Daisy5", "Daisy6"}) {
		t.Fatalf("focus scope: %q", got)
	}
}

func TestSuggestEdges(t *testing.T) {
	n := NewNicknames()
	bob := user("b", "sip:bob@x")
	for _, tc := range []struct {
		name string
		nick string
		pol  NickPolicy
		want int
	}{
		{"nicknames off", "Daisy", NickPolicy{}, 0},
		{"invalid nickname", "   ", allow, 0},
		{"control character", "a\x07", allow, 0},
		{"none wanted", "Daisy", allow, 0},
	} {
		want := 2
		if tc.name == "none wanted" {
			want = 0
		}
		if got := n.Suggest("r", bob, tc.nick, tc.pol, want); len(got) != tc.want {
			t.Errorf("%s: %q", tc.name, got)
		}
	}
	// A reserved word gets suggestions too.
	reserved := NickPolicy{Allowed: true, Reserved: []string{"admin"}}
	if got := n.Suggest("r", bob, "Admin", reserved, 2); !slices.Equal(got, []string{"Admin2", "Admin3"}) {
		t.Errorf("reserved: %q", got)
	}
	// The length limit cuts the base, at a character boundary.
	short := NickPolicy{Allowed: true, MaxBytes: 5}
	if got := n.Suggest("r", bob, "Daisy", short, 2); !slices.Equal(got, []string{"Dais2", "Dais3"}) {
		t.Errorf("MaxBytes 5: %q", got)
	}
	if got := n.Suggest("r", bob, "Dai∞", NickPolicy{Allowed: true, MaxBytes: 6}, 1); !slices.Equal(got, []string{"Dai2"}) {
		t.Errorf("cut inside a character: %q", got)
	}
}

// After "x2" … "x99", the suggestions go on with "_1" …; a quarantined
// nickname of another identity is not suggested.
func TestSuggestExhaustsDigits(t *testing.T) {
	pol := NickPolicy{Allowed: true, Quarantine: time.Hour}
	n := NewNicknames()
	other := user("o", "sip:other@x")
	for i := 2; i <= 99; i++ {
		p := user("h"+strconv.Itoa(i), "sip:holder"+strconv.Itoa(i)+"@x")
		if got := n.Request("r", p, "x"+strconv.Itoa(i), pol, t0); got.Code != 200 {
			t.Fatalf("x%d: %+v", i, got)
		}
	}
	q := user("q", "sip:quarantined@x")
	n.Request("r", q, "x_1", pol, t0)
	n.Release(q, t0)
	if got := n.Suggest("r", other, "x", pol, 2); !slices.Equal(got, []string{"x_2", "x_3"}) {
		t.Fatalf("%q", got)
	}
}
