package confinfo

import (
	"errors"
	"strings"
	"testing"
)

// fullRoom returns a valid full document using most elements.
func fullRoom() *ConferenceInfo {
	c := NewChatRoom("sip:room@chat.example.com", "Room", 5)
	c.Description.ConfURIs = &URIs{Entries: []URIEntry{{URI: "sip:room@chat.example.com", Purpose: "participation"}}}
	c.HostInfo = &HostInfo{URIs: &URIs{Entries: []URIEntry{{URI: "sip:host@example.com"}}}}
	alice := ChatUser("sip:alice@example.com", "Alice", "Alice Kay", ChatEndpoint("sip:alice@pc", "1"))
	alice.Endpoints[0].JoiningInfo = &Execution{When: "2025-01-02T15:04:05Z"}
	alice.Endpoints[0].CallInfo = &CallInfo{SIP: &SIPDialog{CallID: "c", FromTag: "f", ToTag: "t"}}
	c.AddUser(alice)
	c.AddUser(ChatUser("sip:bob@example.com", "", "", ChatEndpoint("sip:bob@pc", "1"), ChatEndpoint("sip:bob@phone", "1")))
	c.SetUserCount(2)
	return c
}

func TestValidate(t *testing.T) {
	ep := func(c *ConferenceInfo) *Endpoint { return &c.Users.Users[0].Endpoints[0] }
	tests := []struct {
		name   string
		mutate func(*ConferenceInfo)
		msg    string // "" = valid
	}{
		{"valid", func(*ConferenceInfo) {}, ""},
		{"absent state means full", func(c *ConferenceInfo) { c.State = "" }, ""},
		{"when without zone", func(c *ConferenceInfo) { ep(c).JoiningInfo.When = "2025-01-02T15:04:05.25" }, ""},
		{"when with offset", func(c *ConferenceInfo) { ep(c).JoiningInfo.When = "2025-01-02T15:04:05-02:00" }, ""},
		{"deleted document", func(c *ConferenceInfo) {
			*c = ConferenceInfo{Entity: c.Entity, State: StateDeleted, Version: 6, HasVersion: true}
		}, ""},
		{"partial document", func(c *ConferenceInfo) {
			p := NewPartial(c.Entity, 6)
			p.AddUser(DeletedUser("sip:bob@example.com"))
			u := User{Entity: "sip:alice@example.com", State: StatePartial, Endpoints: []Endpoint{DepartedEndpoint("sip:alice@pc")}}
			p.AddUser(u)
			*c = *p
		}, ""},
		{"no entity", func(c *ConferenceInfo) { c.Entity = "" }, "without entity"},
		{"no version", func(c *ConferenceInfo) { c.HasVersion = false }, "without version"},
		{"full without description", func(c *ConferenceInfo) { c.Description = nil }, "must include <conference-description> and <users>"},
		{"full without users", func(c *ConferenceInfo) { c.Users = nil }, "must include"},
		{"bad root state", func(c *ConferenceInfo) { c.State = "x" }, `<conference-info>: bad state "x"`},
		{"partial users in full", func(c *ConferenceInfo) { c.Users.State = StatePartial }, `<users>: state "partial" inside a full element`},
		{"deleted user in full", func(c *ConferenceInfo) { c.Users.Users[1].State = StateDeleted }, `<user>: state "deleted" inside a full element`},
		{"partial endpoint in full", func(c *ConferenceInfo) { ep(c).State = StatePartial }, "<endpoint>: state"},
		{"partial endpoint in full user of partial doc", func(c *ConferenceInfo) {
			c.State = StatePartial
			ep(c).State = StatePartial
		}, "<endpoint>: state"},
		{"bad uris state", func(c *ConferenceInfo) { c.Description.ConfURIs.State = "x" }, "<conf-uris>: bad state"},
		{"uri entry without uri", func(c *ConferenceInfo) { c.HostInfo.URIs.Entries[0].URI = "" }, "<uris> entry without uri"},
		{"media label missing", func(c *ConferenceInfo) { c.Description.AvailableMedia.Entries[0].Label = "" }, "without label"},
		{"media label repeated", func(c *ConferenceInfo) {
			am := c.Description.AvailableMedia
			am.Entries = append(am.Entries, am.Entries[0])
		}, `label "chat" repeated`},
		{"media type missing", func(c *ConferenceInfo) { c.Description.AvailableMedia.Entries[0].Type = "" }, "without type"},
		{"available media status", func(c *ConferenceInfo) { c.Description.AvailableMedia.Entries[0].Status = "both" }, `bad status "both"`},
		{"user without entity", func(c *ConferenceInfo) { c.Users.Users[1].Entity = "" }, "<user> without entity"},
		{"user repeated", func(c *ConferenceInfo) { c.Users.Users[1].Entity = c.Users.Users[0].Entity }, "repeated"},
		{"endpoint without entity", func(c *ConferenceInfo) { ep(c).Entity = "" }, "<endpoint> without entity"},
		{"endpoint repeated", func(c *ConferenceInfo) {
			c.Users.Users[1].Endpoints[1].Entity = "sip:bob@pc"
		}, `<endpoint> "sip:bob@pc" repeated`},
		{"endpoint status", func(c *ConferenceInfo) { ep(c).Status = "online" }, `bad status "online"`},
		{"joining-method", func(c *ConferenceInfo) { ep(c).JoiningMethod = "walked-in" }, "bad joining-method"},
		{"disconnection-method", func(c *ConferenceInfo) { ep(c).DisconnectionMethod = "kicked" }, "bad disconnection-method"},
		{"media without id", func(c *ConferenceInfo) { ep(c).Media[0].ID = "" }, "<media> without id"},
		{"media repeated", func(c *ConferenceInfo) { ep(c).Media = append(ep(c).Media, ep(c).Media[0]) }, `<media> id "1" repeated`},
		{"media status", func(c *ConferenceInfo) { ep(c).Media[0].Status = "sendreceive" }, "bad status"},
		{"bad when", func(c *ConferenceInfo) { ep(c).JoiningInfo.When = "yesterday" }, "not an xs:dateTime"},
		{"bad referred when", func(c *ConferenceInfo) { ep(c).Referred = &Execution{When: "2025-13-01T00:00:00Z"} }, "<referred>"},
		{"sip without to-tag", func(c *ConferenceInfo) { ep(c).CallInfo.SIP.ToTag = "" }, "needs call-id, from-tag and to-tag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := fullRoom()
			tc.mutate(c)
			err := c.Validate()
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Validate = %v, want %q", err, tc.msg)
			}
		})
	}
}
