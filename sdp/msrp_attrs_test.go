package sdp

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/parley-im/parley/msrp"
)

// msrpLine parses a one-media SDP whose media section is the given lines.
func msrpLine(t *testing.T, mline string, attrs ...string) (*Session, *Media) {
	t.Helper()
	in := minimal + "c=IN IP4 192.0.2.1\n" + mline + "\n"
	for _, a := range attrs {
		in += a + "\n"
	}
	s, err := Parse([]byte(in))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return s, s.Media[0]
}

const mMSRP = "m=message 2855 TCP/MSRP *"

func TestPath(t *testing.T) {
	ok := []struct {
		attr string
		want []string
	}{
		{"a=path:msrp://h.example.com:7654/abc;tcp", []string{"msrp://h.example.com:7654/abc;tcp"}},
		{"a=path:msrps://relay.example.com:2855/abc;tcp msrps://client.invalid:2855/xyz;tcp",
			[]string{"msrps://relay.example.com:2855/abc;tcp", "msrps://client.invalid:2855/xyz;tcp"}},
		{"a=path:msrps://a.example.com:2855/jui787s2f;tcp msrps://df7jal23ls0d.invalid:2855/98cjs;ws",
			[]string{"msrps://a.example.com:2855/jui787s2f;tcp", "msrps://df7jal23ls0d.invalid:2855/98cjs;ws"}},
		{"a=path:msrp://[2001:db8::1]:9/s;tcp", []string{"msrp://[2001:db8::1]:9/s;tcp"}},
		{"a=path: msrp://h:1/s;tcp  ", []string{"msrp://h:1/s;tcp"}},
	}
	for _, tt := range ok {
		_, m := msrpLine(t, mMSRP, tt.attr)
		got, err := m.Path()
		if err != nil {
			t.Errorf("%s: %v", tt.attr, err)
			continue
		}
		var want []msrp.URI
		for _, u := range tt.want {
			want = append(want, msrp.MustParseURI(u))
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Path = %v, want %v", tt.attr, got, want)
		}
	}

	bad := []struct {
		attrs    []string
		sentinel error
		uri      bool // also wraps msrp.ErrInvalidURI
	}{
		{nil, ErrNoPath, false},
		{[]string{"a=accept-types:*"}, ErrNoPath, false},
		{[]string{"a=path:msrp://h.example.com/abc;tcp"}, ErrInvalidPath, false},                         // no port
		{[]string{"a=path:msrps://relay:2855/a;tcp msrps://client.invalid/b;ws"}, ErrInvalidPath, false}, // rightmost without port
		{[]string{"a=path:http://h.example.com:80/abc;tcp"}, ErrInvalidPath, true},                       // bad scheme
		{[]string{"a=path:msrp://h.example.com:7654/abc"}, ErrInvalidPath, true},                         // no transport
		{[]string{"a=path:"}, ErrInvalidPath, true},                                                      // empty
		{[]string{"a=path"}, ErrInvalidPath, true},                                                       // property form
		{[]string{"a=path:msrp://h:1/a;tcp", "a=path:msrp://h:2/b;tcp"}, ErrInvalidPath, false},          // repeated
		{[]string{"a=path:msrp://h:1/a;tcp,msrp://h:2/b;tcp"}, ErrInvalidPath, true},                     // comma
		{[]string{"a=path:msrp://h:99999/a;tcp"}, ErrInvalidPath, true},                                  // port range
	}
	for _, tt := range bad {
		_, m := msrpLine(t, mMSRP, tt.attrs...)
		_, err := m.Path()
		if !errors.Is(err, tt.sentinel) || errors.Is(err, msrp.ErrInvalidURI) != tt.uri {
			t.Errorf("%q: Path error %v, want %v (URI error %v)", tt.attrs, err, tt.sentinel, tt.uri)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "sdp: ") {
			t.Errorf("error %q lacks the sdp: prefix", err)
		}
	}
}

func TestSetPath(t *testing.T) {
	_, m := msrpLine(t, mMSRP, "a=path:msrp://old:1/x;tcp", "a=accept-types:*", "a=PATH:msrp://old:2/y;tcp")
	path := []msrp.URI{msrp.MustParseURI("msrps://relay.example.com:2855/r;tcp"), msrp.MustParseURI("msrps://c.invalid:2855/c;ws")}
	m.SetPath(path)
	got, err := m.Path()
	if err != nil || !msrp.PathEqual(got, path) {
		t.Fatalf("Path after SetPath = %v, %v", got, err)
	}
	want := []Attribute{
		{Name: "path", Value: "msrps://relay.example.com:2855/r;tcp msrps://c.invalid:2855/c;ws", HasValue: true},
		{Name: "accept-types", Value: "*", HasValue: true},
	}
	if !reflect.DeepEqual(m.Attributes, want) {
		t.Errorf("attributes = %v", m.Attributes)
	}
}

func TestAcceptTypes(t *testing.T) {
	_, m := msrpLine(t, mMSRP)
	if _, err := m.AcceptTypes(); !errors.Is(err, ErrNoAcceptTypes) {
		t.Errorf("missing: %v", err)
	}
	_, m = msrpLine(t, mMSRP, "a=accept-types:text/plain,text/html")
	if _, err := m.AcceptTypes(); !errors.Is(err, ErrInvalidFormatList) || errors.Is(err, ErrNoAcceptTypes) {
		t.Errorf("invalid: %v", err)
	}
	_, m = msrpLine(t, mMSRP, "a=accept-types")
	if _, err := m.AcceptTypes(); !errors.Is(err, ErrInvalidFormatList) {
		t.Errorf("no value: %v", err)
	}
	_, m = msrpLine(t, mMSRP, "a=accept-types:message/cpim", "a=accept-types:text/plain")
	if l, err := m.AcceptTypes(); err != nil || l.String() != "message/cpim" {
		t.Errorf("first wins: %v %v", l, err)
	}

	m.SetAcceptTypes(FormatList{{Type: "Message", Subtype: "CPIM"}})
	if got := m.Attrs("accept-types"); !reflect.DeepEqual(got, []string{"Message/CPIM"}) {
		t.Errorf("after SetAcceptTypes: %q", got)
	}
	m.SetAcceptTypes(nil)
	if m.HasAttr("accept-types") {
		t.Error("SetAcceptTypes(nil) did not remove the attribute")
	}
}

func TestAcceptWrappedTypes(t *testing.T) {
	_, m := msrpLine(t, mMSRP)
	if l, ok, err := m.AcceptWrappedTypes(); l != nil || ok || err != nil {
		t.Errorf("missing: %v %v %v", l, ok, err)
	}
	_, m = msrpLine(t, mMSRP, "a=accept-wrapped-types:text/plain *")
	if l, ok, err := m.AcceptWrappedTypes(); !ok || err != nil || !l.Accepts("image/gif") || !l.Contains("text/plain") {
		t.Errorf("valid: %v %v %v", l, ok, err)
	}
	_, m = msrpLine(t, mMSRP, "a=accept-wrapped-types:")
	if _, ok, err := m.AcceptWrappedTypes(); !ok || !errors.Is(err, ErrInvalidFormatList) {
		t.Errorf("empty: %v %v", ok, err)
	}
	m.SetAcceptWrappedTypes(FormatList{{Type: "text", Subtype: "plain"}, {Type: "*"}})
	if v, _ := m.Attr("accept-wrapped-types"); v != "text/plain *" {
		t.Errorf("after Set: %q", v)
	}
	m.SetAcceptWrappedTypes(nil)
	if m.HasAttr("accept-wrapped-types") {
		t.Error("Set(nil) did not remove the attribute")
	}
}

func TestMaxSize(t *testing.T) {
	tests := []struct {
		attr string
		n    int64
		ok   bool
		err  bool
	}{
		{"", 0, false, false},
		{"a=max-size:0", 0, true, false},
		{"a=max-size:131072", 131072, true, false},
		{"a=max-size: 42 ", 42, true, false},
		{"a=max-size:9223372036854775807", 9223372036854775807, true, false},
		{"a=max-size:9223372036854775808", 0, true, true},
		{"a=max-size:99999999999999999999999", 0, true, true},
		{"a=max-size:", 0, true, true},
		{"a=max-size", 0, true, true},
		{"a=max-size:-1", 0, true, true},
		{"a=max-size:+1", 0, true, true},
		{"a=max-size:1k", 0, true, true},
		{"a=max-size:1 2", 0, true, true},
		{"a=max-size:0x10", 0, true, true},
	}
	for _, tt := range tests {
		var attrs []string
		if tt.attr != "" {
			attrs = append(attrs, tt.attr)
		}
		_, m := msrpLine(t, mMSRP, attrs...)
		n, ok, err := m.MaxSize()
		if n != tt.n || ok != tt.ok || (err != nil) != tt.err || (err != nil && !errors.Is(err, ErrInvalidMaxSize)) {
			t.Errorf("%q: MaxSize = %d, %v, %v", tt.attr, n, ok, err)
		}
	}
	_, m := msrpLine(t, mMSRP, "a=max-size:1")
	m.SetMaxSize(1 << 40)
	if n, ok, err := m.MaxSize(); n != 1<<40 || !ok || err != nil {
		t.Errorf("after SetMaxSize: %d %v %v", n, ok, err)
	}
	m.SetMaxSize(-1)
	if m.HasAttr("max-size") {
		t.Error("SetMaxSize(-1) did not remove the attribute")
	}
}

func TestValidateMSRP(t *testing.T) {
	path := "a=path:msrp://192.0.2.1:2855/abc;tcp"
	tests := []struct {
		mline string
		attrs []string
		want  error // nil = valid
	}{
		{mMSRP, []string{path, "a=accept-types:message/cpim"}, nil},
		{"m=message 2855 TCP/TLS/MSRP *", []string{path, "a=accept-types:*", "a=accept-wrapped-types:*"}, nil},
		{"m=message 0 TCP/MSRP *", []string{path, "a=accept-types:*"}, nil},
		{"m=audio 2855 RTP/AVP 0", []string{path, "a=accept-types:*"}, ErrNotMSRP},
		{"m=message 2855 TCP/MSRP 0", []string{path, "a=accept-types:*"}, ErrMSRPFormats},
		{"m=message 2855 TCP/MSRP * *", []string{path, "a=accept-types:*"}, ErrMSRPFormats},
		{mMSRP, []string{"a=accept-types:*"}, ErrNoPath},
		{mMSRP, []string{"a=path:msrp://h/abc;tcp", "a=accept-types:*"}, ErrInvalidPath},
		{mMSRP, []string{path}, ErrNoAcceptTypes},
		{mMSRP, []string{path, "a=accept-types:text/"}, ErrInvalidFormatList},
		{mMSRP, []string{path, "a=accept-types:*", "a=accept-wrapped-types:,"}, ErrInvalidFormatList},
		{mMSRP, []string{path, "a=accept-types:*", "a=max-size:x", "a=chatroom:???", "a=setup:bogus"}, nil},
	}
	for _, tt := range tests {
		_, m := msrpLine(t, tt.mline, tt.attrs...)
		err := ValidateMSRP(m)
		if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s %q: ValidateMSRP = %v, want %v", tt.mline, tt.attrs, err, tt.want)
		}
	}
}

func TestNewMSRPMedia(t *testing.T) {
	path := []msrp.URI{msrp.MustParseURI("msrp://chat.example.com:12763/kjhd37s2s20w2a;tcp")}
	m := NewMSRPMedia(path)
	m.SetAcceptTypes(FormatList{{Type: "message", Subtype: "cpim"}})
	if err := ValidateMSRP(m); err != nil {
		t.Fatal(err)
	}
	got := string(m.AppendTo(nil))
	want := crlf("m=message 12763 TCP/MSRP *\na=path:msrp://chat.example.com:12763/kjhd37s2s20w2a;tcp\na=accept-types:message/cpim\n")
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	secure := NewMSRPMedia([]msrp.URI{msrp.MustParseURI("msrps://relay:2855/r;tcp"), msrp.MustParseURI("msrps://me:4000/s;tcp")})
	if !secure.IsSecureMSRP() || secure.Port != 4000 {
		t.Errorf("secure media = %+v", secure)
	}
}
