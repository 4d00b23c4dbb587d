package room

import (
	"testing"

	"golang.org/x/text/secure/precis"
)

// FuzzNickname: when two identities both get a nickname in one room, the
// nicknames never compare equal; a 200 always yields a valid nickname of at
// most 1023 octets that Lookup resolves to its holder; nothing panics.
func FuzzNickname(f *testing.F) {
	for _, s := range [][2]string{
		{"Foo", "foo"}, {"Σ", "ς"}, {"Richard Ⅳ", "richard iv"}, {"  a  b ", "a b"},
		{"ϔ", "ϋ"}, {"ﬀ", "FF"}, {"   ", ""}, {"a\u00a0b", "A B"}, {"İ", "i̇"}, {"\xff", "x"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		n := NewNicknames()
		pa, pb := user("a", "sip:alice@example.com"), user("b", "sip:bob@example.com")
		ra := n.Request("r", pa, a, allow, t0)
		rb := n.Request("r", pb, b, allow, t0)
		for _, r := range []NickResult{ra, rb} {
			switch r.Code {
			case 200, 424, 425:
			default:
				t.Fatalf("code %d", r.Code)
			}
		}
		if ra.Code != 200 || rb.Code != 200 || a == "" || b == "" {
			return
		}
		ka, errA := precis.Nickname.CompareKey(a)
		kb, errB := precis.Nickname.CompareKey(b)
		if errA != nil || errB != nil || ka == kb || precis.Nickname.Compare(ra.Nickname, rb.Nickname) {
			t.Fatalf("%q and %q both granted: keys %q %q (%v %v)", a, b, ka, kb, errA, errB)
		}
		for _, r := range []struct {
			res NickResult
			p   *Participant
		}{{ra, pa}, {rb, pb}} {
			if len(r.res.Nickname) > MaxNicknameBytes || n.NicknameOf(r.p) != r.res.Nickname {
				t.Fatalf("%+v", r.res)
			}
			if h := n.Lookup("r", r.res.Nickname); len(h) != 1 || h[0] != r.p {
				t.Fatalf("lookup %q: %v", r.res.Nickname, h)
			}
		}
	})
}
