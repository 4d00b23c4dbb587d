package switchboard

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/parley-im/parley/msrp"
)

// The copies of a notice to a room are framed into one scratch buffer and
// share one Message-ID (wholeCopies): what a notice allocates does not grow
// with the room (issue 20: a frame buffer and a Message-ID per copy were a
// third of what 2,000 participants joining rooms of 100 allocated).
func TestRoomNoticeCopiesShare(t *testing.T) {
	h := newHarness(t, defaultPolicy()) // no join notices: the room is quiet
	const n = 40
	var pts []*party
	for i := range n {
		pts = append(pts, h.join("r", fmt.Sprintf("sip:p%d@x", i)))
	}
	rm := pts[0].hd.rm
	pol := *rm.Policy()
	pol.SystemMessages = true
	rm.SetPolicy(pol)
	h.sw.mu.Lock()
	rs := h.sw.rooms[rm]
	h.sw.mu.Unlock()

	mid := ""

	h.sw.noticeRoom(rs, h.sw.member(pts[0]), "the first notice")
	for _, pt := range pts[1:] {
		m := pt.ExpectRequest(msrp.MethodSEND)
		if !bytes.Contains(m.Body, []byte("the first notice")) {
			t.Fatalf("%s: want the notice, got:\n%s", pt.self, m.Body)
		}
		switch id := m.MessageID(); {
		case mid == "":
			mid = id
		case id != mid:
			t.Fatalf("copies of one notice have Message-IDs %q and %q", mid, id)
		}
	}
	pts[0].ExpectSilence(0)

	allocs := testing.AllocsPerRun(20, func() { h.sw.noticeRoom(rs, nil, "again") })
	// The body (cpim.New, its rendering), the map of bodies by room URI
	// and the Message-ID are a handful; what the relay does for a
	// connection that had nothing queued (start its writer, grow its
	// queue) is counted too, about half an allocation per copy. A frame
	// buffer and a Message-ID per copy were two more per copy.
	if allocs >= n {
		t.Errorf("a notice to a room of %d: %.0f allocations, want fewer than one per copy", n, allocs)
	}
}
