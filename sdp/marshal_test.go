package sdp

import (
	"reflect"
	"testing"
)

// TestMarshalConnectionPlacement: c= is written at its RFC 4566 place
// whatever the order of the input.
func TestMarshalConnectionPlacement(t *testing.T) {
	tests := []struct{ in, out string }{
		{ // canonical: unchanged
			"v=0\no=- 1 1 IN IP4 h\ns=-\ni=info\nu=http://x\ne=a@b\np=+1\nc=IN IP4 h\nb=AS:1\nt=0 0\nr=1 2 3\nz=0 0\nk=clear:x\na=x\n" +
				"m=audio 1 RTP/AVP 0\ni=media info\nc=IN IP4 m\nb=AS:2\nk=prompt\na=y\n",
			"",
		},
		{ // session c= after t= moves before t=; media c= after a= moves after i=
			"v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nc=IN IP4 h\nm=audio 1 RTP/AVP 0\ni=x\nb=AS:2\na=y\nc=IN IP4 m\n",
			"v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nt=0 0\nm=audio 1 RTP/AVP 0\ni=x\nc=IN IP4 m\nb=AS:2\na=y\n",
		},
		{ // a= lines before other lines move after them
			"v=0\no=- 1 1 IN IP4 h\ns=-\na=x\nt=0 0\nm=audio 1 RTP/AVP 0\na=y\nb=AS:2\n",
			"v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\na=x\nm=audio 1 RTP/AVP 0\nb=AS:2\na=y\n",
		},
		{ // c= with only i= lines: after them
			"v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\ni=x\nm=audio 1/2 RTP/AVP 0\nc=IN IP4 m\ni=y\n",
			"v=0\no=- 1 1 IN IP4 h\ns=-\ni=x\nc=IN IP4 h\nm=audio 1/2 RTP/AVP 0\ni=y\nc=IN IP4 m\n",
		},
	}
	for _, tt := range tests {
		s, err := Parse([]byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		want := tt.out
		if want == "" {
			want = tt.in
		}
		if got := s.String(); got != crlf(want) {
			t.Errorf("Marshal(%q) =\n%q\nwant\n%q", tt.in, got, crlf(want))
		}
		s2, err := Parse(s.Marshal())
		if err != nil || !reflect.DeepEqual(s, s2) {
			t.Errorf("re-Parse: %v", err)
		}
	}
}

// TestMarshalBuilt: a session built by hand marshals in RFC 4566 order.
func TestMarshalBuilt(t *testing.T) {
	s := &Session{
		Origin:     Origin{"parley", "42", "1", "IN", "IP4", "192.0.2.1"},
		Name:       "-",
		Connection: NewConnection("192.0.2.1"),
		Lines:      []Line{{'t', "0 0"}},
		Media: []*Media{{
			Type: "message", Port: 2855, Proto: "TCP/MSRP", Formats: []string{"*"},
			Attributes: []Attribute{{Name: "accept-types", Value: "message/cpim", HasValue: true}, {Name: "sendrecv"}},
		}},
	}
	want := crlf("v=0\no=parley 42 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n" +
		"m=message 2855 TCP/MSRP *\na=accept-types:message/cpim\na=sendrecv\n")
	if got := string(s.Marshal()); got != want {
		t.Errorf("Marshal =\n%q\nwant\n%q", got, want)
	}
	if n := s.sizeHint(); n < len(want) {
		t.Errorf("sizeHint %d < %d", n, len(want))
	}
}

func BenchmarkMarshalAnswer(b *testing.B) {
	s := parseGolden(b, "rfc7701-answer.sdp")
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Marshal()
	}
}
