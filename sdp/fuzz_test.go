package sdp

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// goldenFiles returns the contents of testdata/*.sdp, the fuzz seeds.
func goldenFiles(f *testing.F) [][]byte {
	f.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "*.sdp"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no golden files: %v", err)
	}
	var out [][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzParse: whatever parses marshals, re-parses to an equal Session and
// marshals to the same bytes again; no accessor panics on it.
func FuzzParse(f *testing.F) {
	for _, b := range goldenFiles(f) {
		f.Add(b)
	}
	f.Add([]byte(minimal + "m=message 9/2 TCP/MSRP *\nc=IN IP4 h\nc=IN IP4 g\na=setup:active\n"))
	f.Add([]byte("v=0\r\ns=x\r\no=a b c d e f\r\nm=a 0 b c\r\na=chatroom:nickname nicknames x x\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			var se *SyntaxError
			if !errors.Is(err, ErrEmpty) && !errors.As(err, &se) {
				t.Fatalf("Parse error of unexpected type %T: %v", err, err)
			}
			return
		}
		out := s.Marshal()
		s2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal()) failed: %v\ninput  %q\noutput %q", err, data, out)
		}
		if !reflect.DeepEqual(s, s2) {
			t.Fatalf("Parse(Marshal()) differs:\n%#v\n%#v\noutput %q", s, s2, out)
		}
		if out2 := s2.Marshal(); string(out2) != string(out) {
			t.Fatalf("Marshal not stable:\n%q\n%q", out, out2)
		}
		if c := s.Clone(); !reflect.DeepEqual(s, c) {
			t.Fatal("Clone differs")
		}
		_ = s.Direction()
		for _, m := range s.Media {
			exerciseMedia(t, s, m)
		}
		ans := NewAnswer(s, s.Origin, s.Connection, func(i int, m *Media) *Media {
			if i%2 == 0 {
				return nil
			}
			return m.Clone()
		})
		back, err := Parse(ans.Marshal())
		if err != nil || len(back.Media) != len(s.Media) {
			t.Fatalf("answer does not parse back: %v", err)
		}
	})
}

func exerciseMedia(t *testing.T, s *Session, m *Media) {
	_, _ = m.IsMSRP(), m.IsSecureMSRP()
	if path, err := m.Path(); err == nil {
		if len(path) == 0 {
			t.Fatal("Path returned no URI and no error")
		}
		for _, u := range path {
			if !u.HasPort() {
				t.Fatalf("Path returned a URI without port: %v", u)
			}
		}
		c := m.Clone()
		c.SetPath(path)
		if p2, err := c.Path(); err != nil || !reflect.DeepEqual(p2, path) {
			t.Fatalf("SetPath(Path()) = %v, %v; want %v", p2, err, path)
		}
	}
	if l, err := m.AcceptTypes(); err == nil {
		checkFormatList(t, l)
	}
	if l, ok, err := m.AcceptWrappedTypes(); err == nil && ok {
		checkFormatList(t, l)
	}
	if n, ok, err := m.MaxSize(); err == nil && ok {
		c := m.Clone()
		c.SetMaxSize(n)
		if n2, _, err := c.MaxSize(); err != nil || n2 != n {
			t.Fatalf("SetMaxSize(%d) reads back %d, %v", n, n2, err)
		}
	}
	setup := m.Setup()
	_ = setup.Effective()
	_ = AnswerSetup(setup)
	if cr, ok := m.Chatroom(); ok {
		c := m.Clone()
		c.SetChatroom(cr)
		if cr2, ok := c.Chatroom(); !ok || !reflect.DeepEqual(cr, cr2) {
			t.Fatalf("SetChatroom(%#v) reads back %#v", cr, cr2)
		}
	}
	_, _ = m.Direction(), s.DirectionOf(m)
	_ = ValidateMSRP(m)
	_ = CheckMSRPConsistency(s, m)
	_ = RejectMedia(m)
}

func checkFormatList(t *testing.T, l FormatList) {
	str := l.String()
	l2, err := ParseFormatList(str)
	if err != nil || !reflect.DeepEqual(l, l2) {
		t.Fatalf("format list %q does not round-trip: %#v, %v", str, l2, err)
	}
	for _, e := range l {
		switch {
		case e.isAny():
			if !l.Accepts("x/y") {
				t.Fatalf("%q does not accept x/y", str)
			}
		case e.Subtype == "*":
			if !l.Accepts(e.Type + "/anything") {
				t.Fatalf("%q does not accept %s/anything", str, e.Type)
			}
		case e.Type != "*":
			mt := e.Type + "/" + e.Subtype
			if !l.Accepts(mt) || !l.Contains(mt) || BaseMediaType(e.String()) == "" {
				t.Fatalf("%q does not accept or contain its entry %q", str, mt)
			}
		}
	}
}

// FuzzFormatList: whatever ParseFormatList accepts formats back to a string
// that parses to the same list, and each entry matches itself.
func FuzzFormatList(f *testing.F) {
	for _, b := range goldenFiles(f) {
		s, err := Parse(b)
		if err != nil {
			f.Fatal(err)
		}
		for _, m := range s.Media {
			for _, name := range []string{AttrAcceptTypes, AttrAcceptWrappedTypes} {
				for _, v := range m.Attrs(name) {
					f.Add(v)
				}
			}
		}
	}
	for _, v := range []string{
		"*", "*/*", "text/*", `text/plain;charset="utf 8";x=y image/*;q="a \"b\" \\c"`,
		"  a/b \t c/d  ", "text/plain;", `a/b;p=""`, "Message/CPIM",
	} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseFormatList(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidFormatList) {
				t.Fatalf("error does not wrap ErrInvalidFormatList: %v", err)
			}
			return
		}
		if len(l) == 0 {
			t.Fatal("empty list without error")
		}
		checkFormatList(t, l)
		if l2, _ := ParseFormatList(l.String()); l2.String() != l.String() {
			t.Fatalf("String not stable: %q %q", l.String(), l2.String())
		}
	})
}
