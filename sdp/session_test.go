package sdp

import (
	"reflect"
	"testing"
)

func TestConnection(t *testing.T) {
	for _, tt := range []struct {
		c    Connection
		host string
		str  string
	}{
		{Connection{"IN", "IP4", "192.0.2.1"}, "192.0.2.1", "IN IP4 192.0.2.1"},
		{Connection{"IN", "IP4", "224.2.1.1/127/3"}, "224.2.1.1", "IN IP4 224.2.1.1/127/3"},
		{Connection{"IN", "IP6", "ff15::101/3"}, "ff15::101", "IN IP6 ff15::101/3"},
		{Connection{"IN", "IP4", "host.example.com"}, "host.example.com", "IN IP4 host.example.com"},
	} {
		if got := tt.c.Host(); got != tt.host {
			t.Errorf("Host() = %q, want %q", got, tt.host)
		}
		if got := tt.c.String(); got != tt.str {
			t.Errorf("String() = %q, want %q", got, tt.str)
		}
	}
	if c := NewConnection("192.0.2.1"); *c != (Connection{"IN", "IP4", "192.0.2.1"}) {
		t.Errorf("NewConnection = %+v", c)
	}
	if c := NewConnection("2001:db8::1"); *c != (Connection{"IN", "IP6", "2001:db8::1"}) {
		t.Errorf("NewConnection = %+v", c)
	}
}

func TestConnectionFor(t *testing.T) {
	sc, mc := &Connection{Address: "s"}, &Connection{Address: "m"}
	s := &Session{Connection: sc}
	if s.ConnectionFor(&Media{}) != sc || s.ConnectionFor(&Media{Connection: mc}) != mc || s.ConnectionFor(nil) != sc {
		t.Error("ConnectionFor picks the wrong c=")
	}
	if (&Session{}).ConnectionFor(&Media{}) != nil {
		t.Error("ConnectionFor invents a c=")
	}
}

func TestSessionClone(t *testing.T) {
	s := parseGolden(t, "mixed-offer.sdp")
	c := s.Clone()
	if !reflect.DeepEqual(s, c) {
		t.Fatal("clone differs")
	}
	c.Connection.Address = "x"
	c.Lines[0].Value = "x"
	c.Attributes[0].Value = "x"
	c.Media[0].Formats[0] = "x"
	c.Media[0].Connection.Address = "x"
	c.Media[0].Lines[0].Value = "x"
	c.Media[0].Attributes[0].Value = "x"
	c.Media[1] = nil
	if !reflect.DeepEqual(s, parseGolden(t, "mixed-offer.sdp")) {
		t.Error("changing the clone changed the original")
	}
	if (&Session{}).Clone().Media != nil {
		t.Error("clone of nil Media is not nil")
	}
	if (*Media)(nil).Clone() != nil {
		t.Error("clone of nil media is not nil")
	}
}

func TestLineString(t *testing.T) {
	if got := (Line{'t', "0 0"}).String(); got != "t=0 0" {
		t.Errorf("String() = %q", got)
	}
}
