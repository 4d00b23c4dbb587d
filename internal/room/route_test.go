package room

import (
	"github.com/parley-im/parley/cpim"

	"slices"
	"strings"
	"testing"
)

const roomURI = "sip:chat@conf.example.com"

// accepts is a test predicate: a session admits the media ranges listed
// for its ID ("*", "type/*", "type/subtype"); unlisted sessions admit all.
func accepts(ranges map[string][]string) func(*Participant, string) bool {
	return func(p *Participant, mt string) bool {
		rs, ok := ranges[p.ID]
		if !ok {
			return true
		}
		typ, _, _ := strings.Cut(mt, "/")
		for _, r := range rs {
			if r == "*" || strings.EqualFold(r, mt) || strings.EqualFold(r, typ+"/*") {
				return true
			}
		}
		return false
	}
}

// member builds a participant as Registry.Join leaves it (URI key set).
func member(id, uri string, aware, private bool) *Participant {
	return &Participant{ID: id, URI: uri, Caps: Caps{ChatroomAware: aware, PrivateMessages: private}, uriKey: cpim.URIKey(uri)}
}

// Participants built without Registry.Join (no URI key) route the same: the
// key is only a shortcut.
func TestRouteWithoutKeys(t *testing.T) {
	bare := func(p *Participant) *Participant { return &Participant{ID: p.ID, URI: p.URI, Caps: p.Caps} }
	a1, a2, b, f1, f2 := bare(alice1), bare(alice2), bare(bob), bare(frank1), bare(frank2)
	members := []*Participant{a1, a2, b, f1, f2}
	d := Route(members, roomURI, a1, "sip:alice@example.com", []string{roomURI}, "text/plain", RoutePolicy{})
	if got := ids(d.Recipients); d.Code != 0 || got != "bob,frank1,frank2" {
		t.Errorf("regular: code %d, recipients %s", d.Code, got)
	}
	d = Route(members, roomURI, b, "sip:bob@example.com", []string{"sip:frank@example.com"}, "text/plain", RoutePolicy{PrivateMessages: true})
	if got := ids(d.Recipients); d.Code != 0 || got != "frank2" {
		t.Errorf("private: code %d, recipients %s", d.Code, got)
	}
}

var (
	alice1 = member("alice1", "sip:alice@example.com", true, true)
	alice2 = member("alice2", "sip:alice@example.com;transport=tls", true, true) // alice's other device
	bob    = member("bob", "sip:bob@example.com", true, true)
	carol  = member("carol", "sip:carol@example.com", true, false) // a=chatroom without private-messages
	dave   = member("dave", "sip:dave@example.com", false, true)   // conference-unaware (inconsistent caps on purpose)
	erin   = member("erin", "sip:erin@example.com", true, true)    // accept-wrapped-types: text/plain
	frank1 = member("frank1", "sip:frank@example.com", true, false)
	frank2 = member("frank2", "sip:frank@example.com", true, true)
	roster = []*Participant{alice1, alice2, bob, carol, dave, erin, frank1, frank2}
)

func ids(ps []*Participant) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.ID
	}
	return strings.Join(s, ",")
}

func TestRoute(t *testing.T) {
	onlyText := accepts(map[string][]string{"erin": {"text/plain"}})
	all := RoutePolicy{PrivateMessages: true, Accepts: onlyText}
	noPrivate := RoutePolicy{Accepts: onlyText}
	for _, tc := range []struct {
		name    string
		sender  *Participant
		from    string
		to      []string
		ct      string
		pol     RoutePolicy
		code    int
		private bool
		want    string // recipient IDs
		reason  string
	}{
		// regular messages
		{"regular", alice1, "sip:alice@example.com", []string{roomURI}, "text/plain", all, 0, false, "bob,carol,dave,erin,frank1,frank2", reasonRegular},
		{"regular, copied to the sender's other devices", alice1, "sip:alice@example.com", []string{roomURI}, "text/plain", RoutePolicy{CopyToSenderDevices: true}, 0, false, "alice2,bob,carol,dave,erin,frank1,frank2", reasonRegular},
		{"regular, To with transport param", bob, "sip:bob@example.com", []string{roomURI + ";transport=tcp"}, "text/plain", all, 0, false, "alice1,alice2,carol,dave,erin,frank1,frank2", reasonRegular},
		{"regular, From with transport param", alice2, "sip:alice@example.com", []string{roomURI}, "text/plain", all, 0, false, "bob,carol,dave,erin,frank1,frank2", reasonRegular},
		{"regular, wrapped type filtered", bob, "sip:bob@example.com", []string{roomURI}, "image/png", all, 0, false, "alice1,alice2,carol,dave,frank1,frank2", reasonRegular},
		{"regular in a room without private", bob, "sip:bob@example.com", []string{roomURI}, "text/plain", noPrivate, 0, false, "alice1,alice2,carol,dave,erin,frank1,frank2", reasonRegular},
		// From (403) beats everything
		{"From is another member", alice1, "sip:bob@example.com", []string{roomURI}, "text/plain", all, 403, false, "", reasonFromNotSender},
		{"From empty", alice1, "", []string{roomURI}, "text/plain", all, 403, false, "", reasonFromNotSender},
		{"From user case differs", alice1, "sip:Alice@example.com", []string{roomURI}, "text/plain", all, 403, false, "", reasonFromNotSender},
		{"From wrong and two To", alice1, "sip:mallory@example.com", []string{roomURI, "sip:bob@example.com"}, "text/plain", all, 403, false, "", reasonFromNotSender},
		{"From wrong and To unknown", alice1, "sip:mallory@example.com", []string{"sip:nobody@example.com"}, "text/plain", all, 403, false, "", reasonFromNotSender},
		{"nil sender", nil, "sip:alice@example.com", []string{roomURI}, "text/plain", all, 403, false, "", reasonFromNotSender},
		// number of To (403) beats 404/403/428
		{"no To", alice1, "sip:alice@example.com", nil, "text/plain", all, 403, false, "", reasonToCount},
		{"two To", alice1, "sip:alice@example.com", []string{"sip:bob@example.com", "sip:erin@example.com"}, "text/plain", all, 403, false, "", reasonToCount},
		{"two To, one unknown", alice1, "sip:alice@example.com", []string{"sip:bob@example.com", "sip:nobody@example.com"}, "text/plain", all, 403, false, "", reasonToCount},
		{"two To, room URI twice", alice1, "sip:alice@example.com", []string{roomURI, roomURI}, "text/plain", all, 403, false, "", reasonToCount},
		// private messages
		{"private", alice1, "sip:alice@example.com", []string{"sip:bob@example.com"}, "text/plain", all, 0, true, "bob", reasonPrivate},
		{"private, host case", alice1, "sip:alice@example.com", []string{"sip:bob@EXAMPLE.COM"}, "text/plain", all, 0, true, "bob", reasonPrivate},
		{"private to every session", bob, "sip:bob@example.com", []string{"sip:alice@example.com"}, "text/plain", all, 0, true, "alice1,alice2", reasonPrivate},
		{"private to own other device", alice1, "sip:alice@example.com", []string{"sip:alice@example.com"}, "text/plain", all, 0, true, "alice2", reasonPrivate},
		{"private, capable sessions only", bob, "sip:bob@example.com", []string{"sip:frank@example.com"}, "text/plain", all, 0, true, "frank2", reasonPrivate},
		{"private, wrapped type filtered", bob, "sip:bob@example.com", []string{"sip:erin@example.com"}, "image/png", all, 0, true, "", reasonPrivate},
		{"private, unknown recipient", alice1, "sip:alice@example.com", []string{"sip:nobody@example.com"}, "text/plain", all, 404, true, "", reasonNotMember},
		{"private, user case differs", alice1, "sip:alice@example.com", []string{"sip:BOB@example.com"}, "text/plain", all, 404, true, "", reasonNotMember},
		{"private, not a URI", alice1, "sip:alice@example.com", []string{"bob"}, "text/plain", all, 404, true, "", reasonNotMember},
		{"404 beats room policy 403", alice1, "sip:alice@example.com", []string{"sip:nobody@example.com"}, "text/plain", noPrivate, 404, true, "", reasonNotMember},
		{"room disallows private", alice1, "sip:alice@example.com", []string{"sip:bob@example.com"}, "text/plain", noPrivate, 403, true, "", reasonNoPrivate},
		{"room policy 403 beats 428", alice1, "sip:alice@example.com", []string{"sip:carol@example.com"}, "text/plain", noPrivate, 403, true, "", reasonNoPrivate},
		{"recipient without private-messages", alice1, "sip:alice@example.com", []string{"sip:carol@example.com"}, "text/plain", all, 428, true, "", reasonNotCapable},
		{"conference-unaware recipient", alice1, "sip:alice@example.com", []string{"sip:dave@example.com"}, "text/plain", all, 428, true, "", reasonNotCapable},
		{"428 beats wrapped-type filtering", alice1, "sip:alice@example.com", []string{"sip:carol@example.com"}, "image/png", all, 428, true, "", reasonNotCapable},
		// draft-niemi-00 multiple recipients
		{"multiple private", carol, "sip:carol@example.com", []string{"sip:bob@example.com", "sip:alice@example.com", "sip:bob@example.com"}, "text/plain", RoutePolicy{PrivateMessages: true, MultiplePrivate: true}, 0, true, "alice1,alice2,bob", reasonPrivate},
		{"multiple private, one unknown", carol, "sip:carol@example.com", []string{"sip:bob@example.com", "sip:nobody@example.com"}, "text/plain", RoutePolicy{PrivateMessages: true, MultiplePrivate: true}, 404, true, "", reasonNotMember},
		{"multiple private, one incapable", bob, "sip:bob@example.com", []string{"sip:alice@example.com", "sip:carol@example.com"}, "text/plain", RoutePolicy{PrivateMessages: true, MultiplePrivate: true}, 428, true, "", reasonNotCapable},
		{"multiple private, room disallows", bob, "sip:bob@example.com", []string{"sip:alice@example.com", "sip:erin@example.com"}, "text/plain", RoutePolicy{MultiplePrivate: true}, 403, true, "", reasonNoPrivate},
		{"multiple private, room URI among them", bob, "sip:bob@example.com", []string{"sip:alice@example.com", roomURI}, "text/plain", RoutePolicy{PrivateMessages: true, MultiplePrivate: true}, 403, true, "", reasonToMixed},
		{"multiple private, too many To", bob, "sip:bob@example.com", slices.Repeat([]string{"sip:alice@example.com"}, 65), "text/plain", RoutePolicy{PrivateMessages: true, MultiplePrivate: true}, 403, false, "", reasonToCount},
		{"multiple private, 64 To", bob, "sip:bob@example.com", slices.Repeat([]string{"sip:alice@example.com"}, 64), "text/plain", RoutePolicy{PrivateMessages: true, MultiplePrivate: true}, 0, true, "alice1,alice2", reasonPrivate},
		{"multiple private, single To is regular", bob, "sip:bob@example.com", []string{roomURI}, "text/plain", RoutePolicy{MultiplePrivate: true}, 0, false, "alice1,alice2,carol,dave,erin,frank1,frank2", reasonRegular},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Route(roster, roomURI, tc.sender, tc.from, tc.to, tc.ct, tc.pol)
			if d.Code != tc.code || d.Private != tc.private || ids(d.Recipients) != tc.want || d.Reason != tc.reason {
				t.Fatalf("got %d private=%v [%s] %q; want %d private=%v [%s] %q",
					d.Code, d.Private, ids(d.Recipients), d.Reason, tc.code, tc.private, tc.want, tc.reason)
			}
			if d.Code != 0 && d.Recipients != nil {
				t.Fatal("recipients on a refusal")
			}
		})
	}
}

func TestRouteAppendReusesBuffer(t *testing.T) {
	buf := make([]*Participant, 3, 16)
	d := RouteAppend(buf, roster, roomURI, bob, bob.URI, []string{roomURI}, "text/plain", RoutePolicy{})
	if len(d.Recipients) != len(roster)-1 || &d.Recipients[0] != &buf[:1][0] || slices.Contains(d.Recipients, bob) {
		t.Fatalf("%s", ids(d.Recipients))
	}
}

func TestRouteAllocations(t *testing.T) {
	members := bigRoom(100)
	sender := members[0]
	buf := make([]*Participant, 0, 100)
	for _, tc := range []struct {
		name string
		max  float64
		f    func()
	}{
		{"regular", 1, func() { Route(members, roomURI, sender, sender.URI, []string{roomURI}, "text/plain", RoutePolicy{}) }},
		{"private", 2, func() { // the recipients, and the URI key of the To

			Route(members, roomURI, sender, sender.URI, []string{members[50].URI}, "text/plain", RoutePolicy{PrivateMessages: true})
		}},
		{"refused", 0, func() { Route(members, roomURI, sender, "sip:x@y", []string{roomURI}, "text/plain", RoutePolicy{}) }},
		{"append", 0, func() {
			RouteAppend(buf, members, roomURI, sender, sender.URI, []string{roomURI}, "text/plain", RoutePolicy{})
		}},
	} {
		if n := testing.AllocsPerRun(100, tc.f); n > tc.max {
			t.Errorf("%s: %v allocations, want ≤ %v", tc.name, n, tc.max)
		}
	}
}

// draft-niemi-00 §4.2, §4.3: a nickname's IM URI names its holders as a
// private-message To and may be their CPIM From; released, it names nobody.
func TestRouteByNicknameURI(t *testing.T) {
	n := NewNicknames(WithIMHost("conf.example.com"))
	a1 := member("a1", "sip:alice@example.com", true, true)
	a2 := member("a2", "sip:alice@example.com", true, true) // alice's other device
	a3 := member("a3", "sip:alice@example.com", true, true) // a third one, without the nickname
	b := member("b", "sip:bob@example.com", true, true)
	c := member("c", "sip:carol@example.com", true, false) // no private-messages
	anon := member("x", "sip:anonymous-1@conf.example.com", true, true)
	anon.Anonymous, anon.Signalled = true, "sip:secret@example.com"
	members := []*Participant{a1, a2, a3, b, c, anon}
	for _, hold := range []struct {
		p    *Participant
		nick string
	}{{a1, "Ally"}, {a2, "ally"}, {b, "Bobby"}, {c, "Carol"}, {anon, "Ghost"}} {
		wantNick(t, n.Request("r", hold.p, hold.nick, allow, t0), 200, hold.nick)
	}
	ally, bobby, carol, ghost := n.URIOf(a1), n.URIOf(b), n.URIOf(c), n.URIOf(anon)
	if ally != "im:ally@conf.example.com.invalid" {
		t.Fatalf("ally = %q", ally)
	}
	all := RoutePolicy{PrivateMessages: true}
	multi := RoutePolicy{PrivateMessages: true, MultiplePrivate: true}
	for _, tc := range []struct {
		name    string
		sender  *Participant
		from    string
		to      []string
		pol     RoutePolicy
		code    int
		private bool
		want    string
	}{
		{"To a nickname: every session holding it", b, "sip:bob@example.com", []string{ally}, all, 0, true, "a1,a2"},
		{"To a nickname, host case", b, "sip:bob@example.com", []string{"im:ally@CONF.example.com.invalid"}, all, 0, true, "a1,a2"},
		{"To a nickname, user part compared exactly", b, "sip:bob@example.com", []string{"im:Ally@conf.example.com.invalid"}, all, 404, true, ""},
		{"To the SIP URI still reaches every session", b, "sip:bob@example.com", []string{"sip:alice@example.com"}, all, 0, true, "a1,a2,a3"},
		{"From the sender's nickname", b, bobby, []string{ally}, all, 0, true, "a1,a2"},
		{"From the sender's nickname, regular", b, bobby, []string{roomURI}, all, 0, false, "a1,a2,a3,c,x"},
		{"From the nickname of another device of the sender", a3, ally, []string{roomURI}, all, 403, false, ""},
		{"From another member's nickname", b, ally, []string{roomURI}, all, 403, false, ""},
		{"anonymous sender, From its nickname", anon, ghost, []string{bobby}, all, 0, true, "b"},
		{"To an anonymous member's nickname", b, bobby, []string{ghost}, all, 0, true, "x"},
		{"To an unknown nickname", b, bobby, []string{"im:nobody@conf.example.com.invalid"}, all, 404, true, ""},
		{"To a nickname, room disallows private", b, bobby, []string{ally}, RoutePolicy{}, 403, true, ""},
		{"To a nickname whose holder lacks private-messages", b, bobby, []string{carol}, all, 428, true, ""},
		{"multiple: a nickname and a SIP URI", c, carol, []string{ally, "sip:bob@example.com"}, multi, 0, true, "a1,a2,b"},
		{"multiple: a nickname and its holder's SIP URI", b, bobby, []string{ally, "sip:alice@example.com"}, multi, 0, true, "a1,a2,a3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Route(members, roomURI, tc.sender, tc.from, tc.to, "text/plain", tc.pol)
			if d.Code != tc.code || d.Private != tc.private || ids(d.Recipients) != tc.want {
				t.Fatalf("got %d private=%v [%s] %q; want %d private=%v [%s]",
					d.Code, d.Private, ids(d.Recipients), d.Reason, tc.code, tc.private, tc.want)
			}
		})
	}

	// Released or changed, the old URI names nobody and is no From.
	n.Release(a1, t0)
	if d := Route(members, roomURI, b, bobby, []string{ally}, "text/plain", all); d.Code != 0 || ids(d.Recipients) != "a2" {
		t.Fatalf("after a1's release: %d [%s]", d.Code, ids(d.Recipients))
	}
	wantNick(t, n.Request("r", a2, "Alicia", allow, t0), 200, "Alicia")
	if d := Route(members, roomURI, b, bobby, []string{ally}, "text/plain", all); d.Code != 404 {
		t.Fatalf("after the change: %d [%s]", d.Code, ids(d.Recipients))
	}
	if d := Route(members, roomURI, a2, ally, []string{roomURI}, "text/plain", all); d.Code != 403 {
		t.Fatalf("From the old nickname: %d", d.Code)
	}
	wantNick(t, n.Request("r", b, "", allow, t0), 200, "")
	if d := Route(members, roomURI, b, bobby, []string{roomURI}, "text/plain", all); d.Code != 403 {
		t.Fatalf("From a removed nickname: %d", d.Code)
	}
}

// Nickname URIs change nothing to Route's allocations.
func TestRouteNicknameAllocations(t *testing.T) {
	members := bigRoom(100)
	n := NewNicknames()
	for _, m := range members {
		n.Request("r", m, "nick"+m.ID, allow, t0)
	}
	sender, to := members[0], []string{n.URIOf(members[50])}
	from := n.URIOf(sender)
	f := func() { Route(members, roomURI, sender, from, to, "text/plain", RoutePolicy{PrivateMessages: true}) }
	if d := Route(members, roomURI, sender, from, to, "text/plain", RoutePolicy{PrivateMessages: true}); d.Code != 0 || ids(d.Recipients) != "s50" {
		t.Fatalf("%d [%s]", d.Code, ids(d.Recipients))
	}
	if got := testing.AllocsPerRun(100, f); got > 2 {
		t.Errorf("%v allocations, want ≤ 2", got)
	}
}
