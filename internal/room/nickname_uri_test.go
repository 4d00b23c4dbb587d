package room

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/text/secure/precis"

	"github.com/parley-im/parley/cpim"
)

func TestIMLocal(t *testing.T) {
	for key, want := range map[string]string{
		"alice":      "alice",
		"blue arrow": "blue%20arrow",
		"daisy44":    "daisy44",
		"a%b":        "a%25b",
		"a_b.c-d":    "a%5Fb%2Ec%2Dd",
		"σ":          "%CF%83",
		"∞":          "%E2%88%9E",
		"@:<>\"":     "%40%3A%3C%3E%22",
	} {
		if got := imLocal(key); got != want {
			t.Errorf("imLocal(%q) = %q, want %q", key, got, want)
		}
	}
}

// Distinct compare keys get distinct URIs, including keys that look like
// the encoding of another.
func TestIMLocalOneToOne(t *testing.T) {
	keys := []string{"a", "a ", "a%20", "a%2520", "%", "%25", "%%", "a b", "a%20b", "ab", "a_b", "a%5Fb", "σ", "%cf%83", "ς", "1", "01"}
	seen := make(map[string]string)
	for _, k := range keys {
		l := imLocal(k)
		if prev, dup := seen[l]; dup {
			t.Errorf("%q and %q both map to %q", prev, k, l)
		}
		seen[l] = k
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c == '%') {
				t.Errorf("imLocal(%q) = %q: %q is not in [a-z0-9%%A-F]", k, l, c)
			}
		}
	}
}

func TestIMHost(t *testing.T) {
	for host, want := range map[string]string{
		"Conf.Example.COM": "conf.example.com.invalid",
		"127.0.0.1":        "127.0.0.1.invalid",
		"[::1]":            "--1.invalid",
		"example.invalid":  "example.invalid",
		"example.com.":     "example.com.invalid",
		"a_b":              "a-b.invalid",
		"":                 "",
		"...":              "",
	} {
		if got := imHost(host); got != want {
			t.Errorf("imHost(%q) = %q, want %q", host, got, want)
		}
	}
	if n := NewNicknames(); n.imHost != "parley.invalid" {
		t.Errorf("default host %q", n.imHost)
	}
	if n := NewNicknames(WithIMHost("")); n.imHost != "parley.invalid" {
		t.Errorf("empty host gives %q", n.imHost)
	}
}

// draft-niemi-00 §4.3.2.3: the confirmed nickname carries a non-routable IM
// URI in the focus's domain; it follows the nickname's compare key.
func TestNicknameURILifecycle(t *testing.T) {
	n := NewNicknames(WithIMHost("Conf.Example.com"))
	a1, a2 := user("a1", "sip:alice@example.com"), user("a2", "sip:alice@example.com")
	b := user("b", "sip:bob@example.com")
	if got := n.URIOf(a1); got != "" {
		t.Fatalf("URI before any nickname: %q", got)
	}
	wantNick(t, n.Request("r", a1, "Blue Arrow", allow, t0), 200, "Blue Arrow")
	const blue = "im:blue%20arrow@conf.example.com.invalid"
	if got := n.URIOf(a1); got != blue {
		t.Fatalf("URI %q, want %q", got, blue)
	}
	// A respelling that compares equal keeps the URI.
	wantNick(t, n.Request("r", a1, "BLUE ARROW", allow, t0), 200, "BLUE ARROW")
	if got := a1.NicknameURI(); got != blue {
		t.Fatalf("after respelling: %q", got)
	}
	// Another device of the same identity taking it shares the URI.
	wantNick(t, n.Request("r", a2, "blue arrow", allow, t0), 200, "blue arrow")
	if got := n.URIOf(a2); got != blue {
		t.Fatalf("second device: %q", got)
	}
	// A failed change keeps the URI; a change replaces it.
	wantNick(t, n.Request("r", b, "Bob", allow, t0), 200, "Bob")
	wantNick(t, n.Request("r", a1, "bob", allow, t0), 425, "")
	if got := n.URIOf(a1); got != blue {
		t.Fatalf("after a failed change: %q", got)
	}
	wantNick(t, n.Request("r", a1, "Daisy", allow, t0), 200, "Daisy")
	if got := n.URIOf(a1); got != "im:daisy@conf.example.com.invalid" {
		t.Fatalf("after a change: %q", got)
	}
	if got := n.URIOf(a2); got != blue {
		t.Fatalf("the other device's URI changed too: %q", got)
	}
	// Removal and release clear it.
	wantNick(t, n.Request("r", a1, "", allow, t0), 200, "")
	if got := n.URIOf(a1); got != "" {
		t.Fatalf("after removal: %q", got)
	}
	n.Release(a2, t0)
	if got := n.URIOf(a2); got != "" {
		t.Fatalf("after release: %q", got)
	}
	if got := n.URIOf(b); got != "im:bob@conf.example.com.invalid" {
		t.Fatalf("bob: %q", got)
	}
}

// A nickname taken back from quarantine gets its URI again.
func TestNicknameURIQuarantine(t *testing.T) {
	pol := NickPolicy{Allowed: true, Quarantine: time.Minute}
	n := NewNicknames()
	a1, a2 := user("a1", "sip:alice@x"), user("a2", "sip:alice@x")
	n.Request("r", a1, "Alice", pol, t0)
	n.Release(a1, t0)
	if a1.NicknameURI() != "" {
		t.Fatal("a released session keeps its URI")
	}
	wantNick(t, n.Request("r", a2, "alice", pol, t0.Add(time.Second)), 200, "alice")
	if got := a2.NicknameURI(); got != "im:alice@parley.invalid" {
		t.Fatalf("%q", got)
	}
}

// Every URI Nicknames hands out is a URI cpim compares as itself and no
// other nickname's, whatever the nickname.
func TestNicknameURIsDistinct(t *testing.T) {
	n := NewNicknames()
	nicks := []string{"Alice", "alice2", "Blue Arrow", "blue_arrow", "σ", "ς", "∞", "a%20b", "a b", "Richard Ⅳ", "x@y", "<tag>"}
	uris := make(map[string]string)
	for i, nick := range nicks {
		p := user(strings.Repeat("p", i+1), "sip:u"+strings.Repeat("x", i)+"@example.com")
		if got := n.Request("r", p, nick, allow, t0); got.Code != 200 {
			t.Fatalf("%q: %+v", nick, got)
		}
		u := n.URIOf(p)
		key, _ := precis.Nickname.CompareKey(nick)
		if u != "im:"+imLocal(key)+"@parley.invalid" {
			t.Errorf("%q: URI %q", nick, u)
		}
		if _, err := cpim.ParseAddress("<" + u + ">"); err != nil {
			t.Errorf("%q: URI %q is not a CPIM address: %v", nick, u, err)
		}
		for other, on := range uris {
			if cpim.URIEqual(u, other) {
				t.Errorf("%q and %q share URI %q", nick, on, u)
			}
		}
		uris[u] = nick
	}
}
