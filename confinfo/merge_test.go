package confinfo

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// doc parses a conference-info document for the room of
// spec-9.2-chatroom.xml with the given root attributes and content.
func doc(t *testing.T, attrs, content string) *ConferenceInfo {
	t.Helper()
	c, err := Parse([]byte(`<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"
		xmlns:xcon="urn:ietf:params:xml:ns:xcon-conference-info" xmlns:e="urn:ext"
		entity="sip:chatroom-22@chat.example.com" ` + attrs + `>` + content + `</conference-info>`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func userEntities(c *ConferenceInfo) []string {
	var s []string
	for _, u := range c.Users.Users {
		s = append(s, u.Entity)
	}
	return s
}

func TestApplyRejects(t *testing.T) {
	tests := []struct {
		name   string
		update func(t *testing.T) *ConferenceInfo
		want   error
		msg    string
	}{
		{"stale full", func(t *testing.T) *ConferenceInfo {
			return doc(t, `state="full" version="2"`, `<users/>`)
		}, ErrStaleVersion, "version 2, local 3"},
		{"same version full", func(t *testing.T) *ConferenceInfo {
			return doc(t, `version="3"`, `<users/>`)
		}, ErrStaleVersion, "version 3"},
		{"stale partial", func(t *testing.T) *ConferenceInfo {
			return doc(t, `state="partial" version="3"`, ``)
		}, ErrStaleVersion, ""},
		{"gap", func(t *testing.T) *ConferenceInfo {
			return doc(t, `state="partial" version="5"`, ``)
		}, ErrVersionGap, "partial version 5, local 3"},
		{"no version", func(t *testing.T) *ConferenceInfo {
			return doc(t, `state="partial"`, ``)
		}, ErrInvalid, "without version"},
		{"other conference", func(t *testing.T) *ConferenceInfo {
			u := doc(t, `state="partial" version="4"`, ``)
			u.Entity = "sip:other@chat.example.com"
			return u
		}, ErrInvalid, "local copy is"},
		{"user without entity", func(t *testing.T) *ConferenceInfo {
			return doc(t, `state="partial" version="4"`, `<users><user entity="sip:bob@example.com" state="deleted"/><user state="deleted"/></users>`)
		}, ErrInvalid, "<user> without entity"},
		{"endpoint without entity", func(t *testing.T) *ConferenceInfo {
			return doc(t, `state="partial" version="4"`, `<users><user entity="sip:bob@example.com" state="partial"><endpoint state="deleted"/></user></users>`)
		}, ErrInvalid, "<endpoint> without entity"},
		{"bad state", func(t *testing.T) *ConferenceInfo {
			u := doc(t, `version="4"`, ``)
			u.State = "merged"
			return u
		}, ErrInvalid, "bad state"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			local := mustParse(t, "spec-9.2-chatroom.xml")
			before := mustParse(t, "spec-9.2-chatroom.xml")
			err := local.Apply(tc.update(t))
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Apply = %v, want %v with %q", err, tc.want, tc.msg)
			}
			if !reflect.DeepEqual(local, before) {
				t.Error("a rejected update changed the local copy")
			}
		})
	}
}

func TestApplyFirstDocument(t *testing.T) {
	var local ConferenceInfo
	err := local.Apply(doc(t, `state="partial" version="1"`, ``))
	if !errors.Is(err, ErrVersionGap) {
		t.Fatalf("partial before full: %v", err)
	}
	full := mustParse(t, "spec-9.2-chatroom.xml")
	if err := local.Apply(full); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&local, mustParse(t, "spec-9.2-chatroom.xml")) {
		t.Error("first full document not adopted as is")
	}
}

func TestApplyFullAndDeletedReplace(t *testing.T) {
	local := mustParse(t, "spec-9.2-chatroom.xml")
	full := doc(t, `version="9"`, `<conference-description/><users><user entity="sip:carol@example.com"/></users>`)
	if err := local.Apply(full); err != nil {
		t.Fatal(err)
	}
	if local.Version != 9 || !reflect.DeepEqual(userEntities(local), []string{"sip:carol@example.com"}) || local.ConferenceState != nil {
		t.Errorf("after full: version %d users %q state %+v", local.Version, userEntities(local), local.ConferenceState)
	}
	if err := local.Apply(doc(t, `state="deleted" version="10"`, ``)); err != nil {
		t.Fatal(err)
	}
	if local.State != StateDeleted || local.Users != nil || local.Version != 10 {
		t.Errorf("after deleted: %+v", local)
	}
}

func TestApplyPartialUserDeleted(t *testing.T) {
	local := mustParse(t, "spec-9.2-chatroom.xml")
	if err := local.Apply(mustParse(t, "partial-user-deleted.xml")); err != nil {
		t.Fatal(err)
	}
	want := mustParse(t, "spec-9.2-chatroom.xml")
	want.Version = 4
	want.Users.Users = want.Users.Users[:1] // Alice stays
	want.ConferenceState.UserCount = u32(1)
	if !reflect.DeepEqual(local, want) {
		t.Errorf("got  %+v\nwant %+v", local, want)
	}
	if err := local.Validate(); err != nil {
		t.Errorf("merged document: %v", err)
	}
	// Deleting a user that is not there is not an error.
	if err := local.Apply(doc(t, `state="partial" version="5"`, `<users><user entity="sip:nobody@x" state="deleted"/></users>`)); err != nil {
		t.Fatal(err)
	}
	if local.Version != 5 || len(local.Users.Users) != 1 {
		t.Errorf("version %d, %d users", local.Version, len(local.Users.Users))
	}
}

func TestApplyPartialUsers(t *testing.T) {
	local := mustParse(t, "spec-9.2-chatroom.xml")
	update := doc(t, `state="partial" version="4" e:root="r"`, `
		<conference-state><user-count>3</user-count></conference-state>
		<users e:users="u">
			<user entity="sip:bob@example.com" xcon:nickname="Bobby">
				<endpoint entity="sip:bob@phone.example.com"><status>alerting</status></endpoint>
			</user>
			<user entity="sip:carol@example.com" state="partial" xcon:nickname="Carol">
				<endpoint entity="sip:carol@pc" state="partial"><status>connected</status></endpoint>
			</user>
			<user entity="sip:alice@atlanta.example.com" state="partial" xcon:nickname="Alice II" e:mood="happy">
				<endpoint entity="sip:alice@pc33.atlanta.example.com" state="partial">
					<status>on-hold</status>
					<media id="1"><type>message</type><status>recvonly</status></media>
					<media id="2"><type>audio</type><status>sendrecv</status></media>
				</endpoint>
				<endpoint entity="sip:alice@phone" state="full"><status>dialing-in</status></endpoint>
			</user>
		</users>
		<e:note>n</e:note>`)
	if err := local.Apply(update); err != nil {
		t.Fatal(err)
	}
	if local.Version != 4 || local.State != StateFull {
		t.Errorf("version %d state %q", local.Version, local.State)
	}
	// conference-state has no state attribute: replaced whole.
	if !reflect.DeepEqual(local.ConferenceState, &ConferenceState{UserCount: u32(3)}) {
		t.Errorf("conference-state = %+v", local.ConferenceState)
	}
	if got := userEntities(local); !reflect.DeepEqual(got, []string{"sip:alice@atlanta.example.com", "sip:bob@example.com", "sip:carol@example.com"}) {
		t.Errorf("users = %q", got)
	}
	// Bob has no state attribute: full, replaced.
	bob := local.User("sip:bob@example.com")
	if bob.Nickname != "Bobby" || bob.DisplayText != "" || len(bob.Endpoints) != 1 || bob.Endpoints[0].Status != StatusAlerting {
		t.Errorf("bob = %+v", bob)
	}
	// Carol is new and partial: added, state full.
	carol := local.User("sip:carol@example.com")
	if carol.State != StateFull || carol.Nickname != "Carol" {
		t.Errorf("carol = %+v", carol)
	}
	// Alice is partial: merged.
	alice := local.User("sip:alice@atlanta.example.com")
	if alice.Nickname != "Alice II" || alice.DisplayText != "Alice Kay" || alice.State != StateFull || len(alice.Ext.Attrs) != 1 {
		t.Errorf("alice = %+v", alice)
	}
	if len(alice.Endpoints) != 2 {
		t.Fatalf("alice endpoints = %+v", alice.Endpoints)
	}
	pc := alice.Endpoints[0]
	want := []Media{{ID: "1", Type: "message", Status: MediaRecvOnly}, {ID: "2", Type: "audio", Status: MediaSendRecv}}
	if pc.Status != StatusOnHold || pc.JoiningMethod != JoinedDialedIn || pc.State != StateFull || !reflect.DeepEqual(pc.Media, want) {
		t.Errorf("alice pc = %+v", pc)
	}
	if ph := alice.Endpoints[1]; ph.Entity != "sip:alice@phone" || ph.Status != StatusDialingIn {
		t.Errorf("alice phone = %+v", ph)
	}
	if len(local.Users.Ext.Attrs) != 1 || len(local.Ext.Attrs) != 1 || len(local.Ext.Elements) != 1 {
		t.Errorf("extensions not merged: users %+v root %+v", local.Users.Ext, local.Ext)
	}
	if local.Description.DisplayText != "Chat room 22" {
		t.Error("description lost although the update had none")
	}
	if err := local.Validate(); err != nil {
		t.Errorf("merged document: %v", err)
	}
	roundTrip(t, local)

	// Endpoints: deleted removes, full replaces.
	update = doc(t, `state="partial" version="5"`, `<users state="partial">
		<user entity="sip:alice@atlanta.example.com" state="partial">
			<endpoint entity="sip:alice@pc33.atlanta.example.com" state="deleted"/>
			<endpoint entity="sip:alice@phone"><status>connected</status></endpoint>
		</user></users>`)
	if err := local.Apply(update); err != nil {
		t.Fatal(err)
	}
	alice = local.User("sip:alice@atlanta.example.com")
	if len(alice.Endpoints) != 1 || alice.Endpoints[0].Entity != "sip:alice@phone" || alice.Endpoints[0].Status != StatusConnected {
		t.Errorf("alice endpoints = %+v", alice.Endpoints)
	}
}

func TestApplyPartialUsersList(t *testing.T) {
	local := mustParse(t, "spec-9.2-chatroom.xml")
	if err := local.Apply(doc(t, `state="partial" version="4"`, `<users state="full"><user entity="sip:dave@x"/></users>`)); err != nil {
		t.Fatal(err)
	}
	if got := userEntities(local); !reflect.DeepEqual(got, []string{"sip:dave@x"}) {
		t.Errorf("users state full: %q", got)
	}
	if err := local.Apply(doc(t, `state="partial" version="5"`, `<users state="deleted"/>`)); err != nil {
		t.Fatal(err)
	}
	if local.Users == nil || len(local.Users.Users) != 0 {
		t.Errorf("users state deleted: %+v", local.Users)
	}
	if err := local.Apply(doc(t, `state="partial" version="6"`, `<conference-description><subject>new</subject></conference-description><host-info/><sidebars-by-ref/><sidebars-by-val/>`)); err != nil {
		t.Fatal(err)
	}
	if local.Description.Subject != "new" || local.Description.DisplayText != "" || local.HostInfo == nil || local.SidebarsByRef == nil || local.SidebarsByVal == nil {
		t.Errorf("replaced parts: %+v", local)
	}
	// A partial document into a local copy without <users>.
	local.Users = nil
	if err := local.Apply(doc(t, `state="partial" version="7"`, `<users><user entity="sip:eve@x"/></users>`)); err != nil {
		t.Fatal(err)
	}
	if got := userEntities(local); !reflect.DeepEqual(got, []string{"sip:eve@x"}) {
		t.Errorf("users = %q", got)
	}
}
