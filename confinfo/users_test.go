package confinfo

import (
	"reflect"
	"strings"
	"testing"
)

func TestUserAndEndpointFields(t *testing.T) {
	c := mustParse(t, "extensions.xml")
	u := c.Users.Users[0]
	if u.Entity != "sip:bob@example.com" || u.State != StateFull || u.DisplayText != "Bob Hoskins" ||
		u.CascadedFocus != "sip:conf1@example.net" || !reflect.DeepEqual(u.Languages, []string{"en-US", "fr"}) {
		t.Errorf("user = %+v", u)
	}
	if a := u.AssociatedAORs; a == nil || len(a.Entries) != 1 || a.Entries[0].URI != "mailto:bob@example.com" || a.Entries[0].DisplayText != "email" {
		t.Errorf("associated-aors = %+v", a)
	}
	e := u.Endpoints[0]
	if e.Entity != "sip:bob@pc.example.com" || e.State != StateFull || e.DisplayText != "Bob's laptop" ||
		e.Status != StatusConnected || e.JoiningMethod != JoinedDialedOut {
		t.Errorf("endpoint = %+v", e)
	}
	if r := e.Referred; r == nil || r.When != "2025-01-02T15:00:00+02:00" || r.Reason != "invited" || r.By != "sip:alice@example.com" {
		t.Errorf("referred = %+v", r)
	}
	if j := e.JoiningInfo; j == nil || j.When != "2025-01-02T15:00:01.5Z" {
		t.Errorf("joining-info = %+v", j)
	}
	m := e.Media[0]
	if m.ID != "1" || m.DisplayText != "chat" || m.Type != "message" || m.Label != "10" || m.SrcID != "1234" || m.Status != MediaSendRecv {
		t.Errorf("media = %+v", m)
	}
	if e.CallInfo.SIP.DisplayText != "dialog" {
		t.Errorf("sip = %+v", e.CallInfo.SIP)
	}
}

func TestEndpointDeparted(t *testing.T) {
	c, err := Parse([]byte(`<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:r@x" state="partial" version="2">
		<users state="partial"><user entity="sip:a@x" state="partial">
		<endpoint entity="sip:a@pc" state="partial"><status>disconnected</status>
		<disconnection-method>booted</disconnection-method>
		<disconnection-info><when>2025-01-02T15:04:05Z</when><reason>flooding</reason><by>sip:mod@x</by></disconnection-info>
		</endpoint></user></users></conference-info>`))
	if err != nil {
		t.Fatal(err)
	}
	e := c.Users.Users[0].Endpoints[0]
	want := &Execution{When: "2025-01-02T15:04:05Z", Reason: "flooding", By: "sip:mod@x"}
	if e.Status != StatusDisconnected || e.DisconnectionMethod != DisconnectedBooted || !reflect.DeepEqual(e.DisconnectionInfo, want) {
		t.Errorf("endpoint = %+v", e)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	roundTrip(t, c)
}

func TestUserOutputLayout(t *testing.T) {
	c := &ConferenceInfo{Entity: "sip:r@x", Users: &Users{Users: []User{
		{Entity: "sip:a@x"},
		{Entity: "sip:b@x", Roles: []string{"participant", ""}},
	}}}
	out := roundTrip(t, c)
	const want = `
  <users>
    <user entity="sip:a@x"/>
    <user entity="sip:b@x">
      <roles>
        <entry>participant</entry>
        <entry/>
      </roles>
    </user>
  </users>
</conference-info>
`
	if !strings.HasSuffix(string(out), want) {
		t.Errorf("Marshal =\n%s\nwant suffix\n%s", out, want)
	}
}
