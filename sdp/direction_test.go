package sdp

import (
	"reflect"
	"testing"
)

func TestDirection(t *testing.T) {
	tests := []struct {
		session, media []string
		media0, of     Direction
	}{
		{nil, nil, SendRecv, SendRecv},
		{nil, []string{"a=sendonly"}, SendOnly, SendOnly},
		{nil, []string{"a=recvonly"}, RecvOnly, RecvOnly},
		{nil, []string{"a=inactive"}, Inactive, Inactive},
		{nil, []string{"a=SendOnly"}, SendOnly, SendOnly},
		{nil, []string{"a=x", "a=recvonly", "a=sendonly"}, RecvOnly, RecvOnly},
		{[]string{"a=inactive"}, nil, SendRecv, Inactive},
		{[]string{"a=inactive"}, []string{"a=sendrecv"}, SendRecv, SendRecv},
	}
	for _, tt := range tests {
		in := minimal
		for _, a := range tt.session {
			in += a + "\n"
		}
		in += mMSRP + "\n"
		for _, a := range tt.media {
			in += a + "\n"
		}
		s, err := Parse([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		m := s.Media[0]
		if m.Direction() != tt.media0 || s.DirectionOf(m) != tt.of {
			t.Errorf("%q %q: Direction %v DirectionOf %v, want %v %v", tt.session, tt.media, m.Direction(), s.DirectionOf(m), tt.media0, tt.of)
		}
	}
}

func TestSetDirection(t *testing.T) {
	s, m := msrpLine(t, mMSRP, "a=sendonly", "a=path:x", "a=inactive")
	m.SetDirection(RecvOnly)
	want := []Attribute{{Name: "path", Value: "x", HasValue: true}, {Name: "recvonly"}}
	if !reflect.DeepEqual(m.Attributes, want) {
		t.Errorf("attributes = %v", m.Attributes)
	}
	s.SetDirection(Inactive)
	if s.Direction() != Inactive || s.DirectionOf(m) != RecvOnly {
		t.Errorf("session direction %v, of %v", s.Direction(), s.DirectionOf(m))
	}
	for d, want := range map[Direction]string{SendRecv: "sendrecv", SendOnly: "sendonly", RecvOnly: "recvonly", Inactive: "inactive", 7: "Direction(7)"} {
		if d.String() != want {
			t.Errorf("%d.String() = %q", int(d), d.String())
		}
	}
}
