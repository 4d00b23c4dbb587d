package sdp

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// crlf converts "\n" to "\r\n".
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

const minimal = "v=0\no=- 1 1 IN IP4 h\ns=-\n"

func TestParseEmpty(t *testing.T) {
	for _, in := range []string{"", " ", "\r\n", "\n\n\t \r\n"} {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrEmpty) {
			t.Errorf("Parse(%q) = %v, want ErrEmpty", in, err)
		}
	}
}

func TestParseSyntaxErrors(t *testing.T) {
	tests := []struct {
		in     string
		line   int
		text   string
		reason string
	}{
		{"o=- 1 1 IN IP4 h\n", 1, "o=- 1 1 IN IP4 h", "first line must be v=0"},
		{"v=1\n", 1, "v=1", "first line must be v=0"},
		{"\n\nv=0 \n", 3, "v=0 ", "first line must be v=0"},
		{"v=0\nv=0\n", 2, "v=0", "repeated v= line"},
		{"v=0\nhello\n", 2, "hello", "expected <letter>=<value>"},
		{"v=0\n=x\n", 2, "=x", "expected <letter>=<value>"},
		{"v=0\n1=x\n", 2, "1=x", "expected <letter>=<value>"},
		{"v=0\n a=x\n", 2, " a=x", "expected <letter>=<value>"},
		{"v=0\na\n", 2, "a", "expected <letter>=<value>"},
		{"v=0\na=x\x00y\n", 2, "a=x\x00y", "control character in line"},
		{"v=0\na=x\ry\n", 2, "a=x\ry", "control character in line"},
		{"v=0\no=- 1 1 IN IP4\n", 2, "o=- 1 1 IN IP4", "o= line must have 6 fields"},
		{"v=0\no=- 1 1 IN IP4 h x\n", 2, "o=- 1 1 IN IP4 h x", "o= line must have 6 fields"},
		{minimal + "o=- 1 1 IN IP4 h\n", 4, "o=- 1 1 IN IP4 h", "repeated o= line"},
		{minimal + "s=x\n", 4, "s=x", "repeated s= line"},
		{minimal + "c=IN IP4\n", 4, "c=IN IP4", "c= line must have 3 fields"},
		{minimal + "c=IN IP4 h extra\n", 4, "c=IN IP4 h extra", "c= line must have 3 fields"},
		{minimal + "m=audio 1 RTP/AVP\n", 4, "m=audio 1 RTP/AVP", "m= line must have media, port, proto and at least one format"},
		{minimal + "m=\n", 4, "m=", "m= line must have media, port, proto and at least one format"},
		{minimal + "m=audio x RTP/AVP 0\n", 4, "m=audio x RTP/AVP 0", "m= port must be a number from 0 to 65535"},
		{minimal + "m=audio 65536 RTP/AVP 0\n", 4, "m=audio 65536 RTP/AVP 0", "m= port must be a number from 0 to 65535"},
		{minimal + "m=audio -1 RTP/AVP 0\n", 4, "m=audio -1 RTP/AVP 0", "m= port must be a number from 0 to 65535"},
		{minimal + "m=audio +1 RTP/AVP 0\n", 4, "m=audio +1 RTP/AVP 0", "m= port must be a number from 0 to 65535"},
		{minimal + "m=audio 100000 RTP/AVP 0\n", 4, "m=audio 100000 RTP/AVP 0", "m= port must be a number from 0 to 65535"},
		{minimal + "m=audio /2 RTP/AVP 0\n", 4, "m=audio /2 RTP/AVP 0", "m= port must be a number from 0 to 65535"},
		{minimal + "m=audio 1/0 RTP/AVP 0\n", 4, "m=audio 1/0 RTP/AVP 0", "m= port count must be a number from 1 to 65535"},
		{minimal + "m=audio 1/ RTP/AVP 0\n", 4, "m=audio 1/ RTP/AVP 0", "m= port count must be a number from 1 to 65535"},
		{minimal + "m=audio 1/2/3 RTP/AVP 0\n", 4, "m=audio 1/2/3 RTP/AVP 0", "m= port count must be a number from 1 to 65535"},
		{minimal + "m=audio 1 RTP/AVP 0\no=- 1 1 IN IP4 h\n", 5, "o=- 1 1 IN IP4 h", "o= line in a media section"},
		{minimal + "m=audio 1 RTP/AVP 0\ns=-\n", 5, "s=-", "s= line in a media section"},
		{"v=0\ns=-\n", 0, "", "missing o= line"},
		{"v=0\no=- 1 1 IN IP4 h\n", 0, "", "missing s= line"},
		{"v=0\no=- 1 1 IN IP4 h\nm=audio 1 RTP/AVP 0\ns=-\n", 0, "", "missing s= line"},
		{"v=0\n", 0, "", "missing o= line"},
	}
	for _, tt := range tests {
		for _, in := range []string{tt.in, crlf(tt.in)} {
			_, err := Parse([]byte(in))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("Parse(%q) = %v, want *SyntaxError", in, err)
				continue
			}
			want := SyntaxError{Line: tt.line, Text: tt.text, Reason: tt.reason}
			if *se != want {
				t.Errorf("Parse(%q) = %+v, want %+v", in, *se, want)
			}
			if !strings.HasPrefix(err.Error(), "sdp: ") {
				t.Errorf("error %q lacks the sdp: prefix", err)
			}
		}
	}
}

// TestParseTolerant covers inputs the codec must accept.
func TestParseTolerant(t *testing.T) {
	in := "\r\n" + // leading blank line
		"v=0\n" +
		"s=swapped order\n" +
		"o=u  7  8 IN IP6 ::1\r\n" + // runs of blanks between fields
		"X=capital letter type\n" +
		"c=IN IP4 224.2.1.1/127/3\n" +
		"c=IN IP4 192.0.2.9\n" + // repeated session-level c= is kept as a line
		"a=\n" + // empty attribute
		"a=:only-value\n" +
		"   \t\n" + // blank line in the middle
		"m=video 0 RTP/AVP 31\n" +
		"m=message 9/2 tcp/msrp *\n" +
		"c=IN IP4 192.0.2.1\n" +
		"c=IN IP4 192.0.2.2\n" +
		"a=Path:msrp://192.0.2.1:9/x;tcp\n" +
		"m=x 1 y z\n" +
		"a=name:value:with:colons\n" +
		"a=trailing-space \n" +
		"k=prompt\n"
	s, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &Session{
		Origin:     Origin{"u", "7", "8", "IN", "IP6", "::1"},
		Name:       "swapped order",
		Connection: &Connection{"IN", "IP4", "224.2.1.1/127/3"},
		Lines:      []Line{{'X', "capital letter type"}, {'c', "IN IP4 192.0.2.9"}},
		Attributes: []Attribute{{Name: ""}, {Name: "", Value: "only-value", HasValue: true}},
		Media: []*Media{
			{Type: "video", Port: 0, Proto: "RTP/AVP", Formats: []string{"31"}},
			{
				Type: "message", Port: 9, NumPorts: 2, Proto: "tcp/msrp", Formats: []string{"*"},
				Connection: &Connection{"IN", "IP4", "192.0.2.1"},
				Lines:      []Line{{'c', "IN IP4 192.0.2.2"}},
				Attributes: []Attribute{{Name: "Path", Value: "msrp://192.0.2.1:9/x;tcp", HasValue: true}},
			},
			{
				Type: "x", Port: 1, Proto: "y", Formats: []string{"z"},
				Lines: []Line{{'k', "prompt"}},
				Attributes: []Attribute{
					{Name: "name", Value: "value:with:colons", HasValue: true},
					{Name: "trailing-space "},
				},
			},
		},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Parse =\n%#v\nwant\n%#v", s, want)
	}
	if !s.Media[1].IsMSRP() {
		t.Error("tcp/msrp not recognised case-insensitively")
	}
	if got := s.Connection.Host(); got != "224.2.1.1" {
		t.Errorf("Host() = %q", got)
	}
	out := s.String()
	wantOut := crlf("v=0\no=u 7 8 IN IP6 ::1\ns=swapped order\nc=IN IP4 224.2.1.1/127/3\nX=capital letter type\n" +
		"c=IN IP4 192.0.2.9\na=\na=:only-value\nm=video 0 RTP/AVP 31\nm=message 9/2 tcp/msrp *\n" +
		"c=IN IP4 192.0.2.1\nc=IN IP4 192.0.2.2\na=Path:msrp://192.0.2.1:9/x;tcp\nm=x 1 y z\nk=prompt\n" +
		"a=name:value:with:colons\na=trailing-space \n")
	if out != wantOut {
		t.Errorf("Marshal =\n%q\nwant\n%q", out, wantOut)
	}
	s2, err := Parse([]byte(out))
	if err != nil || !reflect.DeepEqual(s, s2) {
		t.Errorf("re-Parse = %v, equal %v", err, reflect.DeepEqual(s, s2))
	}
}

func TestParseNoTrailingNewline(t *testing.T) {
	s, err := Parse([]byte("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=message 1 TCP/MSRP *"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Media) != 1 || s.Media[0].Formats[0] != "*" {
		t.Errorf("media = %+v", s.Media)
	}
}

func TestParseDoesNotAliasInput(t *testing.T) {
	b := []byte(minimal + "a=x:y\n")
	s, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'z'
	}
	if v, _ := s.Attr("x"); v != "y" {
		t.Errorf("session changed with its input: %q", v)
	}
}

func BenchmarkParseOffer(b *testing.B) {
	in := readGolden(b, "rfc7701-offer.sdp")
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseOfferAndAccessors(b *testing.B) {
	in := readGolden(b, "rfc7701-offer.sdp")
	b.ReportAllocs()
	for b.Loop() {
		s, err := Parse(in)
		if err != nil {
			b.Fatal(err)
		}
		m := s.Media[0]
		if err := ValidateMSRP(m); err != nil {
			b.Fatal(err)
		}
		if err := CheckMSRPConsistency(s, m); err != nil {
			b.Fatal(err)
		}
		if _, ok := m.Chatroom(); !ok {
			b.Fatal("no chatroom")
		}
	}
}
