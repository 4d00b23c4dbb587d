package msrp

import (
	"errors"
	"testing"
)

func TestParseURI(t *testing.T) {
	cases := []struct {
		in   string
		want URI
		out  string // canonical form; "" = same as in
	}{
		{in: "msrp://host.example.com:8493/asfd34;tcp", want: URI{Host: "host.example.com", Port: 8493, SessionID: "asfd34", Transport: "tcp"}},
		{in: "msrps://bob.example.com:8888/9di4eae923wzd;tcp", want: URI{Secure: true, Host: "bob.example.com", Port: 8888, SessionID: "9di4eae923wzd", Transport: "tcp"}},
		{in: "MSRP://Host.Example.com:1/a+b=c/d;TCP", want: URI{Host: "Host.Example.com", Port: 1, SessionID: "a+b=c/d", Transport: "TCP"}, out: "msrp://Host.Example.com:1/a+b=c/d;TCP"},
		{in: "msrp://[2001:db8::1]:2855/s1;tcp", want: URI{Host: "2001:db8::1", Port: 2855, SessionID: "s1", Transport: "tcp"}},
		{in: "msrp://192.0.2.7:2855/s1;tcp", want: URI{Host: "192.0.2.7", Port: 2855, SessionID: "s1", Transport: "tcp"}},
		{in: "msrps://alice@a.example.com:443;ws", want: URI{Secure: true, User: "alice", Host: "a.example.com", Port: 443, Transport: "ws"}},
		{in: "msrps://df7jal23ls0d.invalid:2855/98cjs;ws", want: URI{Secure: true, Host: "df7jal23ls0d.invalid", Port: 2855, SessionID: "98cjs", Transport: "ws"}},
		{in: "msrps://relay.example.com;tcp", want: URI{Secure: true, Host: "relay.example.com", Transport: "tcp"}},
		{in: "msrp://h:9/s;tcp;foo=bar;baz", want: URI{Host: "h", Port: 9, SessionID: "s", Transport: "tcp", Params: "foo=bar;baz"}},
	}
	for _, tc := range cases {
		u, err := ParseURI(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if u != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.in, u, tc.want)
		}
		out := tc.out
		if out == "" {
			out = tc.in
		}
		if u.String() != out {
			t.Errorf("%s: String() = %s, want %s", tc.in, u.String(), out)
		}
		if again, err := ParseURI(u.String()); err != nil || again != u {
			t.Errorf("%s: round trip gave %+v, %v", tc.in, again, err)
		}
	}
}

func TestParseURIErrors(t *testing.T) {
	for _, in := range []string{
		"", "msrp:", "http://h:1/s;tcp", "msrp://h:1/s", "msrp://h:1/s;", "msrp://:1/s;tcp",
		"msrp://h:0/s;tcp", "msrp://h:65536/s;tcp", "msrp://h:12a/s;tcp", "msrp://h:/s;tcp",
		"msrp://h:1/;tcp", "msrp://h:1/s?x;tcp", "msrp://[::1/s;tcp", "msrp://[zz::]:1/s;tcp",
		"msrp://[::1]x/s;tcp", "msrp://h h:1/s;tcp", "msrp://h:1/s;t-p", "msrp://h:1/s;tcp;a b",
		"msrp://[192.0.2.1]:1/s;tcp", "msrp://u<>@h:1/s;tcp", "msrp://h:1/s;tcp;=x",
	} {
		if _, err := ParseURI(in); !errors.Is(err, ErrInvalidURI) {
			t.Errorf("%q: got %v, want ErrInvalidURI", in, err)
		}
	}
}

// TestURIEqual follows the rules of RFC 4975 §6.1.
func TestURIEqual(t *testing.T) {
	cases := []struct {
		a, b string
		eq   bool
	}{
		{"msrp://h.example.com:1/s;tcp", "msrp://h.example.com:1/s;tcp", true},
		{"MSRP://H.EXAMPLE.COM:1/s;TCP", "msrp://h.example.com:1/s;tcp", true}, // scheme, host, transport: case-insensitive
		{"msrp://h:1/abc;tcp", "msrp://h:1/ABC;tcp", false},                    // session-id: case-sensitive
		{"msrp://h:1/s;tcp", "msrps://h:1/s;tcp", false},                       // scheme must match
		{"msrp://h:1/s;tcp", "msrp://h:2/s;tcp", false},                        // port must match
		{"msrp://h/s;tcp", "msrp://h:2855/s;tcp", false},                       // explicit port never equals an absent one
		{"msrp://h:1;tcp", "msrp://h:1/s;tcp", false},                          // with and without session-id
		{"msrp://h:1/s;tcp", "msrp://h:1/s;ws", false},                         // transport must match
		{"msrp://alice@h:1/s;tcp", "msrp://bob@h:1/s;tcp", true},               // userinfo not considered
		{"msrp://h:1/s;tcp;x=1", "msrp://h:1/s;tcp", true},                     // other parameters ignored
		{"msrp://[2001:db8::1]:1/s;tcp", "msrp://[2001:DB8:0:0:0:0:0:1]:1/s;tcp", true},
		{"msrp://%68ost:1/s;tcp", "msrp://host:1/s;tcp", true}, // percent-encoding normalised
		{"msrp://192.0.2.1:1/s;tcp", "msrp://192.0.2.2:1/s;tcp", false},
	}
	for _, tc := range cases {
		a, b := MustParseURI(tc.a), MustParseURI(tc.b)
		if a.Equal(b) != tc.eq || b.Equal(a) != tc.eq {
			t.Errorf("%s vs %s: Equal = %v, want %v", tc.a, tc.b, a.Equal(b), tc.eq)
		}
	}
}

func TestParsePath(t *testing.T) {
	p, err := ParsePath("msrps://a.example.com:2855/jui787s2f;tcp  msrps://df7jal23ls0d.invalid:2855/98cjs;ws")
	if err != nil || len(p) != 2 || p[0].Host != "a.example.com" || p[1].Transport != "ws" {
		t.Fatalf("got %+v, %v", p, err)
	}
	if s := FormatPath(p); s != "msrps://a.example.com:2855/jui787s2f;tcp msrps://df7jal23ls0d.invalid:2855/98cjs;ws" {
		t.Errorf("FormatPath = %s", s)
	}
	q, _ := ParsePath(FormatPath(p))
	if !PathEqual(p, q) || PathEqual(p, q[:1]) {
		t.Error("PathEqual")
	}
	for _, bad := range []string{"", "   ", "msrp://h:1/s;tcp bogus"} {
		if _, err := ParsePath(bad); !errors.Is(err, ErrInvalidURI) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestParseURIDoesNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are not meaningful under -short builds")
	}
	n := testing.AllocsPerRun(100, func() {
		_, _ = ParseURI("msrp://chat.example.com:12763/kjhd37s2s20w2a;tcp")
	})
	if n != 0 {
		t.Errorf("ParseURI allocated %v times", n)
	}
}
