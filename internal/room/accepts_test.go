package room

import (
	"testing"

	"github.com/parley-im/parley/sdp"
)

// AcceptsWrapped remembers its latest answer; asking about another type,
// then the first again, gives each type its own answer.
func TestAcceptsWrappedRemembersPerType(t *testing.T) {
	wrapped, err := sdp.ParseFormatList("text/plain application/im-iscomposing+xml")
	if err != nil {
		t.Fatal(err)
	}
	p := &Participant{Wrapped: wrapped, HasWrapped: true}
	for range 3 {
		for _, c := range []struct {
			ct   string
			want bool
		}{
			{"text/plain", true},
			{"image/png", false},
			{"image/png", false},
			{"application/im-iscomposing+xml", true},
			{"text/html", false},
			{"text/plain", true},
		} {
			if got := p.AcceptsWrapped(c.ct); got != c.want {
				t.Errorf("AcceptsWrapped(%q) = %v, want %v", c.ct, got, c.want)
			}
		}
	}
	if !(&Participant{}).AcceptsWrapped("image/png") {
		t.Error("no a=accept-wrapped-types: everything is admitted")
	}
}
