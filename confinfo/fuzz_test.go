package confinfo

import (
	"reflect"
	"testing"
)

// FuzzConferenceInfo: Parse never panics; whatever it accepts, Marshal
// writes and Parse reads back to a DeepEqual value. Validate and Apply
// (forced onto the merge path) must not panic either.
func FuzzConferenceInfo(f *testing.F) {
	for _, name := range conferenceGoldens {
		f.Add(readGolden(f, name))
	}
	for _, d := range trickyNamespaceDocs {
		f.Add([]byte(d))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		out, err := c.Marshal()
		if err != nil {
			t.Fatalf("Marshal after a successful Parse: %v", err)
		}
		c2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal()) = %v\n%s", err, out)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip changed the document\nfirst:  %#v\nsecond: %#v\n%s", c, c2, out)
		}
		_ = c.Validate()

		// Apply the document as a partial update onto itself: exercises
		// the merge of every user, endpoint and media it holds.
		local, err := Parse(out)
		if err != nil || local.Version == ^uint32(0) {
			return
		}
		local.State, local.HasVersion = StateFull, true
		c2.State, c2.HasVersion, c2.Entity = StatePartial, true, local.Entity
		c2.Version = local.Version + 1
		if err := local.Apply(c2); err != nil {
			return // a user or endpoint without its key
		}
		merged, err := local.Marshal()
		if err != nil {
			t.Fatalf("Marshal after Apply: %v", err)
		}
		if _, err := Parse(merged); err != nil {
			t.Fatalf("Parse after Apply: %v\n%s", err, merged)
		}
	})
}

// FuzzNicknameInfo: the same property for nickname-info documents.
func FuzzNicknameInfo(f *testing.F) {
	for _, name := range nicknameGoldens {
		f.Add(readGolden(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParseNicknameInfo(b)
		if err != nil {
			return
		}
		out, err := n.Marshal()
		if err != nil {
			t.Fatalf("Marshal after a successful Parse: %v", err)
		}
		n2, err := ParseNicknameInfo(out)
		if err != nil {
			t.Fatalf("ParseNicknameInfo(Marshal()) = %v\n%s", err, out)
		}
		if !reflect.DeepEqual(n, n2) {
			t.Fatalf("round trip changed the document\nfirst:  %#v\nsecond: %#v\n%s", n, n2, out)
		}
		_ = n.Validate()
		_ = n.ValidateOffer()
	})
}
