package confinfo

import (
	"reflect"
	"testing"
)

// The builders produce the SPEC §9.2 chat-room example exactly.
func TestBuildChatRoomMatchesSpecExample(t *testing.T) {
	c := NewChatRoom("sip:chatroom-22@chat.example.com", "Chat room 22", 3)
	c.AddUser(ChatUser("sip:alice@atlanta.example.com", "Alice the great", "Alice Kay",
		ChatEndpoint("sip:alice@pc33.atlanta.example.com", "1")))
	c.AddUser(ChatUser("sip:bob@example.com", "Dopey Donkey", "Bob Hoskins",
		ChatEndpoint("sip:bob@bobpc.example.com", "1")))
	c.SetUserCount(2)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := mustParse(t, "spec-9.2-chatroom.xml")
	if !reflect.DeepEqual(c, want) {
		got, _ := c.Marshal()
		exp, _ := want.Marshal()
		t.Errorf("built:\n%s\nSPEC example:\n%s", got, exp)
	}
	roundTrip(t, c)
}

func TestBuildPartialDeparture(t *testing.T) {
	p := NewPartial("sip:chatroom-22@chat.example.com", 4)
	p.SetUserCount(1)
	p.ConferenceState.Active, p.ConferenceState.Locked = boolp(true), boolp(false)
	p.AddUser(DeletedUser("sip:bob@example.com"))
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if want := mustParse(t, "partial-user-deleted.xml"); !reflect.DeepEqual(p, want) {
		t.Errorf("built %+v\nwant  %+v", p, want)
	}

	// One device of a user leaves; the user stays.
	local := mustParse(t, "spec-9.2-chatroom.xml")
	p = NewPartial(local.Entity, 4)
	p.AddUser(User{Entity: "sip:bob@example.com", State: StatePartial,
		Endpoints: []Endpoint{DepartedEndpoint("sip:bob@bobpc.example.com")}})
	if err := local.Apply(p); err != nil {
		t.Fatal(err)
	}
	e := local.User("sip:bob@example.com").Endpoints[0]
	if e.Status != StatusDisconnected || e.DisconnectionMethod != DisconnectedDeparted || len(e.Media) != 1 {
		t.Errorf("endpoint after departure = %+v", e)
	}
}

func TestBuildHelpers(t *testing.T) {
	c := &ConferenceInfo{}
	if c.User("sip:a@x") != nil {
		t.Error("User on a document without users")
	}
	c.AddUser(User{Entity: "sip:a@x"})
	c.SetUserCount(1)
	if c.User("sip:a@x") == nil || c.User("sip:b@x") != nil || *c.ConferenceState.UserCount != 1 {
		t.Errorf("got %+v", c)
	}
	c.User("sip:a@x").Nickname = "Ann"
	if c.Users.Users[0].Nickname != "Ann" {
		t.Error("User does not point into the document")
	}
	f := NewFull("sip:r@x", 0)
	if f.State != StateFull || !f.HasVersion || f.Description == nil || f.Users == nil {
		t.Errorf("NewFull = %+v", f)
	}
	if err := f.Validate(); err != nil {
		t.Errorf("NewFull does not validate: %v", err)
	}
}
