package cpim

import "testing"

var uriEqualTests = []struct {
	a, b string
	want bool
}{
	// RFC 7701 §9.3: the CPIM To carries ;transport=tcp, the INVITE did not.
	{"sip:chatroom22@chat.example.com;transport=tcp", "sip:chatroom22@chat.example.com", true},
	{"sip:alice@example.com", "sip:alice@atlanta.example.com", false},
	{"sip:a@h", "sip:a@h:5060", false},
	{"sip:a@h;user=phone", "sip:a@h", false},

	// RFC 3261 §19.1.4 equivalences
	{"sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp", true},
	{"sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5", true},
	{"sip:carol@chicago.com", "sip:carol@chicago.com;security=on", true},
	{"sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on", true},
	{"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com", "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com", true},
	{"sip:alice@atlanta.com?subject=project%20x&priority=urgent", "sip:alice@atlanta.com?priority=urgent&subject=project%20x", true},
	// RFC 3261 §19.1.4 non-equivalences
	{"SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP", false},
	{"sip:bob@biloxi.com", "sip:bob@biloxi.com:5060", false},
	{"sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp", true}, // transport in one only: ignored
	{"sip:bob@biloxi.com;transport=tcp", "sip:bob@biloxi.com;transport=udp", false},
	{"sip:bob@biloxi.com:6000;transport=tcp", "sip:bob@biloxi.com:6000", true},
	{"sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting", false},
	{"sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4", false},

	// schemes
	{"sip:alice@example.com", "sips:alice@example.com", false},
	{"SIPS:alice@example.com", "sips:alice@EXAMPLE.com", true},
	{"sip:alice@example.com", "tel:+12015550123", false},

	// userinfo
	{"sip:Alice@example.com", "sip:alice@example.com", false},
	{"sip:alice:secret@h", "sip:alice:SECRET@h", false},
	{"sip:alice:secret@h", "sip:alice:secret@h", true},
	{"sip:alice@h", "sip:alice:secret@h", false},
	{"sip:%41lice@h", "sip:Alice@h", true},
	{"sip:a%3bb@h", "sip:a%3Bb@h", true}, // escapes of reserved chars: hex case-insensitive
	{"sip:a%3Bb@h", "sip:a;b@h", false},  // ...but not equal to the literal
	{"sip:+12015550123;phone-context=x@h;user=phone", "sip:+12015550123;phone-context=x@h;user=phone", true},
	{"sip:h", "sip:@h", false},

	// parameters
	{"sip:a@h;ttl=15", "sip:a@h", false},
	{"sip:a@h;method=INVITE", "sip:a@h", false},
	{"sip:a@h;maddr=239.255.255.1", "sip:a@h", false},
	{"sip:a@h;maddr=239.255.255.1", "sip:a@h;MADDR=239.255.255.1", true},
	{"sip:a@h;user=phone", "sip:a@h;USER=Phone", true},
	{"sip:a@h;user=ip", "sip:a@h;user=phone", false},
	{"sip:a@h;lr", "sip:a@h;lr", true},
	{"sip:a@h;lr", "sip:a@h;lr=on", false},
	{"sip:a@h;%75ser=phone", "sip:a@h;user=phone", true},
	{"sip:a@h;x=1;x=2", "sip:a@h;x=1", true}, // first occurrence counts

	// ports and IPv6
	{"sip:a@[2001:db8::1]:5070", "sip:a@[2001:DB8::1]:5070", true},
	{"sip:a@[2001:db8::1]", "sip:a@[2001:db8::1]:5060", false},
	{"sip:a@h:5070", "sip:a@h:5071", false},

	// headers
	{"sip:a@h?X=1", "sip:a@h?x=1", true},
	{"sip:a@h?x=1", "sip:a@h?x=2", false},
	{"sip:a@h?x=1&y=2", "sip:a@h?x=1", false},

	// tel (RFC 3966)
	{"tel:+1-201-555-0123", "tel:+1.201.555.0123", true},
	{"tel:+1(201)5550123", "TEL:+12015550123", true},
	{"tel:+12015550123", "tel:+12015550124", false},
	{"tel:7042;phone-context=example.com", "tel:7042;PHONE-CONTEXT=Example.COM", true},
	{"tel:7042;phone-context=example.com", "tel:7042", false},
	{"tel:+1-201-555-0123;ext=1;isub=2", "tel:+12015550123;isub=2;ext=1", true},
	{"tel:863-1234;phone-context=+1-914-555", "tel:8631234;phone-context=+1-914-555", true},
	{"tel:*31#", "tel:*31#", true},

	// im and pres
	{"im:alice@Example.COM", "IM:alice@example.com", true},
	{"im:Alice@example.com", "im:alice@example.com", false},
	{"pres:bob@example.com", "pres:bob@EXAMPLE.com", true},
	{"im:bob@example.com", "pres:bob@example.com", false},
	{"im:johnny@example.com.invalid", "im:johnny@example.com.invalid", true},

	// other schemes and non-URIs
	{"mailto:a@h", "MAILTO:a@h", true},
	{"mailto:a@h", "mailto:a@H", false},
	{"urn:ietf:params:xml", "urn:ietf:params:xml", true},
	{"not a uri", "not a uri", true},
	{"not a uri", "NOT A URI", false},
	{"", "", true},
	{"sip:a@h", "", false},
	{"1sip:a@h", "1SIP:a@h", false},
}

func TestURIEqual(t *testing.T) {
	for _, tt := range uriEqualTests {
		if got := URIEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("URIEqual(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := URIEqual(tt.b, tt.a); got != tt.want {
			t.Errorf("URIEqual(%q, %q) = %v, want %v (symmetry)", tt.b, tt.a, got, tt.want)
		}
		if !uriEqual(tt.a, tt.a) || !uriEqual(tt.b, tt.b) {
			t.Errorf("URIEqual not reflexive on %q / %q", tt.a, tt.b)
		}
		if tt.want && URIKey(tt.a) != URIKey(tt.b) {
			t.Errorf("equal URIs %q, %q have keys %q, %q", tt.a, tt.b, URIKey(tt.a), URIKey(tt.b))
		}
	}
}

func TestURIEqualManyParams(t *testing.T) {
	long := "sip:a@h"
	for i := 0; i <= maxParts; i++ {
		long += ";p"
	}
	if !URIEqual(long, long) {
		t.Error("not reflexive beyond maxParts")
	}
	if URIEqual(long, long+";q") || URIEqual(long, "sip:a@h") {
		t.Error("URIs beyond maxParts compared as equal")
	}
	if !URIEqual("sip:a@h;p;p;p", "sip:a@h") {
		t.Error("few params not compared")
	}
}

func TestURIEqualNoAlloc(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		URIEqual("sip:chatroom22@chat.example.com;transport=tcp?x=1", "SIP:chatroom22@CHAT.example.com?x=1")
		URIEqual("tel:+1-201-555-0123;ext=1", "tel:+12015550123;ext=1")
	})
	if allocs != 0 {
		t.Errorf("URIEqual allocates %v times", allocs)
	}
}

func TestURIKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sip:chatroom22@chat.example.com;transport=tcp", "sip:chatroom22@chat.example.com"},
		{"SIP:Alice@Atlanta.Example.COM:5070;user=phone?x=y", "sip:Alice@atlanta.example.com:5070"},
		{"sips:%61%3bx:pw@H", "sips:a%3Bx:pw@h"},
		{"sip:chat.example.com", "sip:chat.example.com"},
		{"sip:@h", "sip:@h"},
		{"sip:a@[2001:DB8::1]:5060", "sip:a@[2001:db8::1]:5060"},
		{"sip:a@h:", "sip:a@h:"},
		{"tel:+1-201-555-0123;ext=1", "tel:+12015550123"},
		{"TEL:(0)A.b", "tel:0ab"},
		{"im:Alice@EXAMPLE.com", "im:Alice@example.com"},
		{"Pres:bob", "pres:bob"},
		{"MAILTO:A@H", "mailto:A@H"},
		{"no scheme", "no scheme"},
	}
	for _, tt := range tests {
		if got := URIKey(tt.in); got != tt.want {
			t.Errorf("URIKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSameUserHost(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"sip:lobby@127.0.0.1:5060", "sip:lobby@127.0.0.1:5070", true},
		{"sip:lobby@127.0.0.1", "sip:lobby@127.0.0.1:5060;transport=tcp", true},
		{"sip:lobby@Chat.Example.com", "SIPS:lobby@chat.example.com", true},
		{"sip:lob%62y@chat.example.com", "sip:lobby@chat.example.com", true},
		{"sip:lobby@[::1]:5060", "sip:lobby@[::1]:5061", true},
		{"sip:Lobby@chat.example.com", "sip:lobby@chat.example.com", false}, // the user part is case-sensitive
		{"sip:lobby@chat.example.com", "sip:lobby@example.com", false},
		{"sip:chat.example.com", "sip:chat.example.com", false}, // no user
		{"im:lobby@chat.example.com", "sip:lobby@chat.example.com", false},
		{"lobby@chat.example.com", "lobby@chat.example.com", false},
	} {
		if got := SameUserHost(tc.a, tc.b); got != tc.want {
			t.Errorf("SameUserHost(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := SameUserHost(tc.b, tc.a); got != tc.want {
			t.Errorf("SameUserHost(%q, %q) = %v, want %v (symmetry)", tc.b, tc.a, got, tc.want)
		}
	}
}
