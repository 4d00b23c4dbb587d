package iscomposing

import (
	"errors"
	"os"
	"testing"
)

// FuzzParse: Parse never panics, fails only with its two errors, and what
// it accepts marshals and parses back to the same Status.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"rfc3994-active.xml", "rfc3994-idle.xml"} {
		doc, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc)
	}
	f.Add([]byte(`<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>x</state><refresh>1</refresh></isComposing>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		s, err := Parse(doc)
		if err != nil {
			if !errors.Is(err, ErrNotStatus) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse error %v wraps neither ErrNotStatus nor ErrInvalid", err)
			}
			return
		}
		if s.State != Active && s.State != Idle {
			t.Fatalf("state %q", s.State)
		}
		out, err := s.Marshal()
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", s, err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal): %v\n%s", err, out)
		}
		want := s
		if !want.IsActive() {
			want.Refresh = 0 // Marshal writes refresh only for active
		}
		// lastactive is written to the second, in UTC.
		want.LastActive = want.LastActive.Truncate(1e9)
		if !same(again, want) {
			t.Fatalf("round trip %+v, want %+v\n%s", again, want, out)
		}
	})
}
