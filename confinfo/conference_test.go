package confinfo

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// conferenceGoldens are the conference-info documents under testdata/.
var conferenceGoldens = []string{
	"rfc7701-9.6.xml",          // RFC 7701 §9.6, verbatim (SPEC §1.12)
	"spec-9.2-chatroom.xml",    // SPEC §9.2 chat-room example
	"partial-user-deleted.xml", // partial notification: a user left
	"extensions.xml",           // every element, foreign extensions
}

func readGolden(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustParse(tb testing.TB, name string) *ConferenceInfo {
	tb.Helper()
	c, err := Parse(readGolden(tb, name))
	if err != nil {
		tb.Fatalf("Parse(%s): %v", name, err)
	}
	return c
}

// roundTrip marshals c, parses the output and requires an equal value; it
// returns the marshaled bytes.
func roundTrip(tb testing.TB, c *ConferenceInfo) []byte {
	tb.Helper()
	out, err := c.Marshal()
	if err != nil {
		tb.Fatalf("Marshal: %v", err)
	}
	c2, err := Parse(out)
	if err != nil {
		tb.Fatalf("Parse(Marshal()): %v\n%s", err, out)
	}
	if !reflect.DeepEqual(c, c2) {
		tb.Fatalf("round trip changed the document\nfirst:  %#v\nsecond: %#v\n%s", c, c2, out)
	}
	out2, err := c2.Marshal()
	if err != nil || !bytes.Equal(out, out2) {
		tb.Fatalf("second Marshal differs (err %v):\n%s\n---\n%s", err, out, out2)
	}
	return out
}

func u32(v uint32) *uint32 { return &v }
func boolp(v bool) *bool   { return &v }

func TestGoldenRFC7701Nickname(t *testing.T) {
	c := mustParse(t, "rfc7701-9.6.xml")
	if c.Entity != "sip:chatroom22@chat.example.com" || c.State != StateFull ||
		c.Version != 1 || !c.HasVersion {
		t.Errorf("root = %q %q %d %v", c.Entity, c.State, c.Version, c.HasVersion)
	}
	if c.Description == nil || c.Description.Subject != "MSRP nickname example" {
		t.Errorf("description = %+v", c.Description)
	}
	if c.ConferenceState == nil || !reflect.DeepEqual(c.ConferenceState.UserCount, u32(2)) {
		t.Errorf("conference-state = %+v", c.ConferenceState)
	}
	want := []User{
		{Entity: "sip:bob@example.com", State: StateFull, Nickname: "Dopey Donkey", DisplayText: "Bob Hoskins"},
		{Entity: "sip:alice@atlanta.example.com", State: StateFull, Nickname: "Alice the great", DisplayText: "Alice Kay"},
	}
	if c.Users == nil || !reflect.DeepEqual(c.Users.Users, want) {
		t.Errorf("users = %+v", c.Users)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	roundTrip(t, c)
}

// TestMarshalRFC7701Namespaces pins the exact output for the RFC 7701 §9.6
// document: one default namespace and the xcon prefix on the root,
// xcon:nickname on <user>.
func TestMarshalRFC7701Namespaces(t *testing.T) {
	out := roundTrip(t, mustParse(t, "rfc7701-9.6.xml"))
	const want = `<?xml version="1.0" encoding="UTF-8"?>
<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" xmlns:xcon="urn:ietf:params:xml:ns:xcon-conference-info" entity="sip:chatroom22@chat.example.com" state="full" version="1">
  <conference-description>
    <subject>MSRP nickname example</subject>
  </conference-description>
  <conference-state>
    <user-count>2</user-count>
  </conference-state>
  <users>
    <user entity="sip:bob@example.com" state="full" xcon:nickname="Dopey Donkey">
      <display-text>Bob Hoskins</display-text>
    </user>
    <user entity="sip:alice@atlanta.example.com" state="full" xcon:nickname="Alice the great">
      <display-text>Alice Kay</display-text>
    </user>
  </users>
</conference-info>
`
	if string(out) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", out, want)
	}
	root, _, _ := strings.Cut(string(out), "\n  <")
	for _, s := range []string{
		`<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"`,
		`xmlns:xcon="urn:ietf:params:xml:ns:xcon-conference-info"`,
	} {
		if !strings.Contains(root, s) {
			t.Errorf("root start tag lacks %s", s)
		}
	}
	if !strings.Contains(string(out), `<user entity="sip:bob@example.com" state="full" xcon:nickname="Dopey Donkey">`) {
		t.Error(`no xcon:nickname="Dopey Donkey" on the user`)
	}
	if n := strings.Count(string(out), "xmlns"); n != 2 {
		t.Errorf("%d namespace declarations, want 2", n)
	}
}

func TestGoldenChatRoom(t *testing.T) {
	c := mustParse(t, "spec-9.2-chatroom.xml")
	if c.Entity != "sip:chatroom-22@chat.example.com" || c.Version != 3 || c.State != StateFull {
		t.Errorf("root = %q %d %q", c.Entity, c.Version, c.State)
	}
	am := c.Description.AvailableMedia
	if am == nil || len(am.Entries) != 1 || !reflect.DeepEqual(am.Entries[0], AvailableMedium{Label: "chat", Type: "message", Status: MediaSendRecv}) {
		t.Errorf("available-media = %+v", am)
	}
	cs := c.ConferenceState
	if !reflect.DeepEqual(cs, &ConferenceState{UserCount: u32(2), Active: boolp(true), Locked: boolp(false)}) {
		t.Errorf("conference-state = %+v", cs)
	}
	if len(c.Users.Users) != 2 {
		t.Fatalf("%d users", len(c.Users.Users))
	}
	alice := c.User("sip:alice@atlanta.example.com")
	if alice == nil || alice.Nickname != "Alice the great" || len(alice.Endpoints) != 1 {
		t.Fatalf("alice = %+v", alice)
	}
	e := alice.Endpoints[0]
	if e.Entity != "sip:alice@pc33.atlanta.example.com" || e.Status != StatusConnected ||
		e.JoiningMethod != JoinedDialedIn || e.State != "" {
		t.Errorf("endpoint = %+v", e)
	}
	if !reflect.DeepEqual(e.Media, []Media{{ID: "1", Type: "message", Status: MediaSendRecv}}) {
		t.Errorf("media = %+v", e.Media)
	}
	if bob := c.User("sip:bob@example.com"); bob == nil || bob.Nickname != "Dopey Donkey" {
		t.Errorf("bob = %+v", bob)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	roundTrip(t, c)
}

func TestGoldenPartial(t *testing.T) {
	c := mustParse(t, "partial-user-deleted.xml")
	if c.State != StatePartial || c.Version != 4 || c.Description != nil {
		t.Errorf("root = %q %d %v", c.State, c.Version, c.Description)
	}
	want := &Users{State: StatePartial, Users: []User{{Entity: "sip:bob@example.com", State: StateDeleted}}}
	if !reflect.DeepEqual(c.Users, want) {
		t.Errorf("users = %+v", c.Users)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v (a partial document needs no description)", err)
	}
	roundTrip(t, c)
}

func TestGoldenExtensionsSurvive(t *testing.T) {
	const ext = "http://example.com/ext"
	c := mustParse(t, "extensions.xml")
	has := func(where string, x Extensions, attr, elem string) {
		t.Helper()
		if attr != "" {
			found := false
			for _, a := range x.Attrs {
				found = found || (a.Name.Space == ext && a.Name.Local == attr)
			}
			if !found {
				t.Errorf("%s: attribute ext:%s missing from %+v", where, attr, x.Attrs)
			}
		}
		if elem != "" {
			found := false
			for _, e := range x.Elements {
				found = found || (e.Name.Space == ext && e.Name.Local == elem)
			}
			if !found {
				t.Errorf("%s: element ext:%s missing from %+v", where, elem, x.Elements)
			}
		}
	}
	has("conference-info", c.Ext, "root-attr", "root-ext")
	has("conference-description", c.Description.Ext, "desc-attr", "room-policy")
	has("available-media entry", c.Description.AvailableMedia.Entries[0].Ext, "media-attr", "")
	has("users", c.Users.Ext, "users-attr", "users-ext")
	u := &c.Users.Users[0]
	has("user", u.Ext, "rank", "user-ext")
	has("endpoint", u.Endpoints[0].Ext, "device", "endpoint-ext")
	has("media", u.Endpoints[0].Media[0].Ext, "codec", "media-ext")

	if u.Nickname != "Dopey Donkey" {
		t.Errorf("nickname with prefix x: = %q", u.Nickname)
	}
	if got := u.Ext.Attrs[len(u.Ext.Attrs)-1]; got.Name.Space != xmlNamespace || got.Name.Local != "lang" || got.Value != "en" {
		t.Errorf("xml:lang = %+v", got)
	}
	if last := c.Ext.Elements[len(c.Ext.Elements)-1]; last.Name.Space != "" || last.Name.Local != "unqualified" {
		t.Errorf("no-namespace element = %+v", last.Name)
	}
	// Mixed content, CDATA and a nested foreign-namespace attribute.
	policy := c.Description.Ext.Elements[0]
	if policy.Text() != "no bold links <raw> " {
		t.Errorf("room-policy text = %q", policy.Text())
	}
	if policy.Attr[0].Name.Space != "http://example.com/policy" {
		t.Errorf("room-policy attribute = %+v", policy.Attr)
	}
	if got := c.Description.Keywords; !reflect.DeepEqual(got, []string{"finance", "quarterly", "q3"}) {
		t.Errorf("keywords = %q", got)
	}
	if got := u.Roles; !reflect.DeepEqual(got, []string{"participant", "moderator"}) {
		t.Errorf("roles = %q", got)
	}
	sip := u.Endpoints[0].CallInfo.SIP
	if sip.CallID != "a84b4c76e66710" || sip.FromTag != "1928301774" || sip.ToTag != "as5e8a" {
		t.Errorf("call-info = %+v", sip)
	}
	if c.SidebarsByRef == nil || c.SidebarsByVal == nil {
		t.Error("sidebars not kept")
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	out := roundTrip(t, c)
	for _, s := range []string{`xcon:nickname="Dopey Donkey"`, `xml:lang="en"`, `<unqualified xmlns="">`} {
		if !bytes.Contains(out, []byte(s)) {
			t.Errorf("output lacks %s", s)
		}
	}
}

func TestParseNicknamePrefixes(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"other prefix", `<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" xmlns:x="urn:ietf:params:xml:ns:xcon-conference-info">
			<users><user entity="sip:a@b" x:nickname="Ann"/></users></conference-info>`, "Ann"},
		{"declared on user", `<conference-info xmlns="urn:ietf:params:xml:ns:conference-info">
			<users><user xmlns:n="urn:ietf:params:xml:ns:xcon-conference-info" entity="sip:a@b" n:nickname="Ann"/></users></conference-info>`, "Ann"},
		{"no nickname", `<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"><users><user entity="sip:a@b"/></users></conference-info>`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Users.Users[0].Nickname; got != tc.want {
				t.Errorf("nickname = %q, want %q", got, tc.want)
			}
			if c.Users.Users[0].Ext.Attrs != nil {
				t.Errorf("extension attributes = %+v", c.Users.Users[0].Ext.Attrs)
			}
			roundTrip(t, c)
		})
	}
	// An unqualified nickname attribute is not the RFC 7701 one.
	c, err := Parse([]byte(`<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"><users><user entity="sip:a@b" nickname="Ann"/></users></conference-info>`))
	if err != nil {
		t.Fatal(err)
	}
	if u := c.Users.Users[0]; u.Nickname != "" || len(u.Ext.Attrs) != 1 {
		t.Errorf("unqualified nickname: %+v", u)
	}
}

// A namespaced attribute that shares a local name with a known one is an
// extension, not the known attribute.
func TestQualifiedKnownNameIsExtension(t *testing.T) {
	c, err := Parse([]byte(`<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" xmlns:o="urn:other" entity="sip:a" o:entity="sip:b"><o:users/></conference-info>`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Entity != "sip:a" || len(c.Ext.Attrs) != 1 || c.Users != nil || len(c.Ext.Elements) != 1 {
		t.Errorf("got %+v", c)
	}
	roundTrip(t, c)
}
