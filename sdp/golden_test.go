package sdp

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/parley-im/parley/msrp"
)

// readGolden reads testdata/name and fails the test if it is missing.
func readGolden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseGolden reads and parses testdata/name.
func parseGolden(t testing.TB, name string) *Session {
	t.Helper()
	s, err := Parse(readGolden(t, name))
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return s
}

// msrpMedia returns the only MSRP media of s.
func msrpMedia(t *testing.T, s *Session) *Media {
	t.Helper()
	var found *Media
	for _, m := range s.Media {
		if m.IsMSRP() {
			if found != nil {
				t.Fatal("more than one MSRP m-line")
			}
			found = m
		}
	}
	if found == nil {
		t.Fatal("no MSRP m-line")
	}
	return found
}

// wantMSRP is what a golden file's MSRP m-line must carry.
type wantMSRP struct {
	port        int
	secure      bool
	path        []string
	acceptTypes string
	wrapped     string // "" = absent
	maxSize     int64  // -1 = absent
	setup       Setup
	direction   Direction
	chatroom    *Chatroom // nil = absent
	conn        string    // the effective c= address
}

func TestGolden(t *testing.T) {
	tests := []struct {
		file      string
		canonical string // file whose bytes Marshal must reproduce; "" = the file itself
		media     int
		origin    Origin
		name      string
		want      wantMSRP
	}{
		{
			file:   "rfc4975-offer.sdp",
			media:  1,
			origin: Origin{"alice", "2890844557", "2890844559", "IN", "IP4", "alicepc.example.com"},
			name:   " -",
			want: wantMSRP{
				port: 7777, path: []string{"msrp://alicepc.example.com:7777/iau39soe2843z;tcp"},
				acceptTypes: "text/plain", maxSize: -1, conn: "alicepc.example.com",
			},
		},
		{
			file:   "rfc4975-answer.sdp",
			media:  1,
			origin: Origin{"bob", "2890844612", "2890844616", "IN", "IP4", "bob.example.com"},
			name:   " -",
			want: wantMSRP{
				port: 8888, path: []string{"msrp://bob.example.com:8888/9di4eae923wzd;tcp"},
				acceptTypes: "text/plain", maxSize: -1, conn: "bob.example.com",
			},
		},
		{
			file:   "rfc7701-offer.sdp",
			media:  1,
			origin: Origin{"alice", "2890844526", "2890844526", "IN", "IP4", "client.atlanta.example.com"},
			name:   "-",
			want: wantMSRP{
				port: 7654, path: []string{"msrp://client.atlanta.example.com:7654/jshA7weztas;tcp"},
				acceptTypes: "message/cpim text/plain text/html", maxSize: -1,
				chatroom: &Chatroom{Nickname: true, PrivateMessages: true}, conn: "client.atlanta.example.com",
			},
		},
		{
			file:      "rfc7701-offer-lf.sdp",
			canonical: "rfc7701-offer.sdp",
			media:     1,
			origin:    Origin{"alice", "2890844526", "2890844526", "IN", "IP4", "client.atlanta.example.com"},
			name:      "-",
			want: wantMSRP{
				port: 7654, path: []string{"msrp://client.atlanta.example.com:7654/jshA7weztas;tcp"},
				acceptTypes: "message/cpim text/plain text/html", maxSize: -1,
				chatroom: &Chatroom{Nickname: true, PrivateMessages: true}, conn: "client.atlanta.example.com",
			},
		},
		{
			file:   "rfc7701-answer.sdp",
			media:  1,
			origin: Origin{"chat", "2890844527", "2890844527", "IN", "IP4", "chat.example.com"},
			name:   "-",
			want: wantMSRP{
				port: 12763, path: []string{"msrp://chat.example.com:12763/kjhd37s2s20w2a;tcp"},
				acceptTypes: "message/cpim", wrapped: "text/plain text/html *", maxSize: -1,
				chatroom: &Chatroom{Nickname: true, PrivateMessages: true}, conn: "chat.example.com",
			},
		},
		{
			file:   "rfc7977-ws-offer.sdp",
			media:  1,
			origin: Origin{"-", "2890844530", "2890844530", "IN", "IP4", "df7jal23ls0d.invalid"},
			name:   "-",
			want: wantMSRP{
				port: 1234, secure: true,
				path: []string{
					"msrps://a.example.com:2855/jui787s2f;tcp",
					"msrps://df7jal23ls0d.invalid:2855/98cjs;ws",
				},
				acceptTypes: "message/cpim text/plain", maxSize: -1, setup: SetupActive,
				chatroom: &Chatroom{}, conn: "df7jal23ls0d.invalid",
			},
		},
		{
			file:   "mixed-offer.sdp",
			media:  3,
			origin: Origin{"carol", "3724394400", "1", "IN", "IP4", "192.0.2.33"},
			name:   "-",
			want: wantMSRP{
				port: 2855, path: []string{"msrp://192.0.2.33:2855/s8d7f6g5h4j3k2l1;tcp"},
				acceptTypes: "message/cpim text/plain",
				wrapped:     "text/plain text/html application/im-iscomposing+xml",
				maxSize:     131072, direction: RecvOnly,
				chatroom: &Chatroom{Nickname: true, PrivateMessages: true}, conn: "192.0.2.33",
			},
		},
		{
			file:   "blink-offer.sdp",
			media:  1,
			origin: Origin{"-", "3911382447", "3911382447", "IN", "IP4", "10.0.0.7"},
			name:   "Blink 5.6.0 (MacOSX)",
			want: wantMSRP{
				port: 2855, secure: true, path: []string{"msrps://10.0.0.7:2855/8a1b2c3d4e5f60718293;tcp"},
				acceptTypes: "message/cpim text/* image/* application/im-iscomposing+xml",
				wrapped:     "*", maxSize: -1, setup: SetupActpass,
				chatroom: &Chatroom{Nickname: true, PrivateMessages: true,
					Other: []string{"com.ag-projects.screen-sharing", "com.ag-projects.zrtp-sas"}},
				conn: "10.0.0.7",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			in := readGolden(t, tt.file)
			s, err := Parse(in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if s.Version != 0 || s.Origin != tt.origin || s.Name != tt.name {
				t.Errorf("header = v=%d o=%+v s=%q, want o=%+v s=%q", s.Version, s.Origin, s.Name, tt.origin, tt.name)
			}
			if len(s.Media) != tt.media {
				t.Fatalf("%d media, want %d", len(s.Media), tt.media)
			}
			m := msrpMedia(t, s)
			checkMSRP(t, s, m, tt.want)
			if err := ValidateMSRP(m); err != nil {
				t.Errorf("ValidateMSRP: %v", err)
			}
			if err := CheckMSRPConsistency(s, m); err != nil {
				t.Errorf("CheckMSRPConsistency: %v", err)
			}

			// Round trip: byte-identical to the canonical CRLF form, and
			// equal after a second parse.
			canonical := in
			if tt.canonical != "" {
				canonical = readGolden(t, tt.canonical)
			}
			out := s.Marshal()
			if !bytes.Equal(out, canonical) {
				t.Errorf("Marshal:\n%q\nwant\n%q", out, canonical)
			}
			if got := s.String(); got != string(out) {
				t.Errorf("String() differs from Marshal()")
			}
			if got := s.AppendTo([]byte("prefix")); string(got) != "prefix"+string(out) {
				t.Errorf("AppendTo does not append")
			}
			s2, err := Parse(out)
			if err != nil {
				t.Fatalf("re-Parse: %v", err)
			}
			if !reflect.DeepEqual(s, s2) {
				t.Errorf("re-Parse differs:\n%#v\n%#v", s, s2)
			}
		})
	}
}

func checkMSRP(t *testing.T, s *Session, m *Media, want wantMSRP) {
	t.Helper()
	if m.Port != want.port || m.IsSecureMSRP() != want.secure {
		t.Errorf("port %d secure %v, want %d %v", m.Port, m.IsSecureMSRP(), want.port, want.secure)
	}
	if !reflect.DeepEqual(m.Formats, []string{"*"}) {
		t.Errorf("formats %q", m.Formats)
	}
	path, err := m.Path()
	if err != nil {
		t.Fatalf("Path: %v", err)
	}
	var wantPath []msrp.URI
	for _, u := range want.path {
		wantPath = append(wantPath, msrp.MustParseURI(u))
	}
	if !reflect.DeepEqual(path, wantPath) {
		t.Errorf("Path = %v, want %v", path, wantPath)
	}
	at, err := m.AcceptTypes()
	if err != nil || at.String() != want.acceptTypes {
		t.Errorf("AcceptTypes = %q, %v; want %q", at.String(), err, want.acceptTypes)
	}
	if !at.Accepts("Message/CPIM") && want.acceptTypes != "text/plain" {
		t.Errorf("accept-types %q does not accept message/cpim", at)
	}
	wt, ok, err := m.AcceptWrappedTypes()
	if err != nil || ok != (want.wrapped != "") || wt.String() != want.wrapped {
		t.Errorf("AcceptWrappedTypes = %q, %v, %v; want %q", wt.String(), ok, err, want.wrapped)
	}
	ms, ok, err := m.MaxSize()
	if want.maxSize < 0 {
		if ok || err != nil {
			t.Errorf("MaxSize = %d, %v, %v; want absent", ms, ok, err)
		}
	} else if !ok || err != nil || ms != want.maxSize {
		t.Errorf("MaxSize = %d, %v, %v; want %d", ms, ok, err, want.maxSize)
	}
	if got := m.Setup(); got != want.setup {
		t.Errorf("Setup = %v, want %v", got, want.setup)
	}
	if got := s.DirectionOf(m); got != want.direction {
		t.Errorf("Direction = %v, want %v", got, want.direction)
	}
	cr, ok := m.Chatroom()
	if ok != (want.chatroom != nil) || (want.chatroom != nil && !reflect.DeepEqual(cr, *want.chatroom)) {
		t.Errorf("Chatroom = %+v, %v; want %+v", cr, ok, want.chatroom)
	}
	if c := s.ConnectionFor(m); c == nil || c.Host() != want.conn {
		t.Errorf("ConnectionFor = %v, want %q", c, want.conn)
	}
}

func TestGoldenMixedOffer(t *testing.T) {
	s := parseGolden(t, "mixed-offer.sdp")
	audio, chat, foo := s.Media[0], s.Media[1], s.Media[2]

	if audio.Type != "audio" || audio.Port != 49170 || audio.Proto != "RTP/AVP" ||
		!reflect.DeepEqual(audio.Formats, []string{"0", "8", "101"}) || audio.IsMSRP() {
		t.Errorf("audio m-line = %+v", audio)
	}
	if got := audio.Attrs("rtpmap"); !reflect.DeepEqual(got, []string{"0 PCMU/8000", "8 PCMA/8000", "101 telephone-event/8000"}) {
		t.Errorf("rtpmap = %q", got)
	}
	if audio.Connection == nil || audio.Connection.Address != "192.0.2.34" {
		t.Errorf("audio c= = %v", audio.Connection)
	}
	if !reflect.DeepEqual(audio.Lines, []Line{{'b', "AS:64"}}) {
		t.Errorf("audio lines = %v", audio.Lines)
	}
	if !reflect.DeepEqual(s.Lines, []Line{{'i', "audio, chat and something else"}, {'b', "AS:128"}, {'t', "0 0"}}) {
		t.Errorf("session lines = %v", s.Lines)
	}
	if v, ok := s.Attr("tool"); !ok || v != "parley-test 0.1" {
		t.Errorf("a=tool = %q %v", v, ok)
	}
	if v, ok := s.Attr("x-session-extension"); !ok || v != "" || s.Attributes[1].HasValue {
		t.Errorf("a=x-session-extension = %q %v", v, ok)
	}
	if !reflect.DeepEqual(chat.Lines, []Line{{'y', "an unknown line type"}}) {
		t.Errorf("chat lines = %v", chat.Lines)
	}
	if v, ok := chat.Attr("connection"); !ok || v != "new" {
		t.Errorf("a=connection = %q %v", v, ok)
	}
	if v, _ := chat.Attr("x-vendor-value"); v != "1 2 3" {
		t.Errorf("a=x-vendor-value = %q", v)
	}
	if foo.Type != "foo" || foo.Port != 1 || foo.Proto != "BAR/BAZ" || !reflect.DeepEqual(foo.Formats, []string{"x"}) {
		t.Errorf("foo m-line = %+v", foo)
	}
	if err := ValidateMSRP(audio); !errors.Is(err, ErrNotMSRP) {
		t.Errorf("ValidateMSRP(audio) = %v", err)
	}
}
