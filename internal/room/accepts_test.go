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

// Issue 20: once it has answered for up to four types, alternating among
// them costs no allocation (no parse, no new memo); a fifth type pushes
// the oldest out, and every answer stays right.
func TestAcceptsWrappedFewTypesNoAlloc(t *testing.T) {
	wrapped, err := sdp.ParseFormatList("text/plain application/im-iscomposing+xml image/*")
	if err != nil {
		t.Fatal(err)
	}
	p := &Participant{Wrapped: wrapped, HasWrapped: true}
	types := []string{"text/plain", "application/im-iscomposing+xml", "text/html", "image/png"}
	want := []bool{true, true, false, true}
	for i, ct := range types {
		if got := p.AcceptsWrapped(ct); got != want[i] {
			t.Fatalf("AcceptsWrapped(%q) = %v", ct, got)
		}
	}
	i := 0
	if n := testing.AllocsPerRun(100, func() {
		if p.AcceptsWrapped(types[i%4]) != want[i%4] {
			t.Fatalf("AcceptsWrapped(%q) wrong", types[i%4])
		}
		i++
	}); n != 0 {
		t.Errorf("%v allocations per answer among four remembered types, want 0", n)
	}
	if p.AcceptsWrapped("video/mp4") {
		t.Error("video/mp4 admitted")
	}
	for k, ct := range types {
		if got := p.AcceptsWrapped(ct); got != want[k] {
			t.Errorf("after a fifth type, AcceptsWrapped(%q) = %v", ct, got)
		}
	}
}
