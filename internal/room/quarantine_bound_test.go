package room

import (
	"strconv"
	"testing"
	"time"
)

// TestQuarantineBoundedPerIdentity: an identity that takes and releases
// many nicknames in a room keeps only the last one reserved from others
// (issue 14); before, every released name stayed reserved for the whole
// quarantine. In another room its quarantined name is its own.
func TestQuarantineBoundedPerIdentity(t *testing.T) {
	pol := NickPolicy{Allowed: true, Quarantine: time.Hour}
	n := NewNicknames()
	squatter, other := user("s", "sip:squatter@x"), user("o", "sip:other@x")
	const names = 50
	for i := range names {
		wantNick(t, n.Request("r", squatter, "name"+strconv.Itoa(i), pol, t0), 200, "name"+strconv.Itoa(i))
	}
	wantNick(t, n.Request("q", squatter, "elsewhere", pol, t0), 200, "elsewhere") // its r nickname is released
	n.Release(squatter, t0)
	if got := len(n.keys); got != 2 {
		t.Errorf("%d nicknames still reserved, want 2 (the last one in r, the one in q)", got)
	}
	free := 0
	for i := range names {
		if n.Request("r", other, "name"+strconv.Itoa(i), pol, t0).Code == 200 {
			free++
		}
	}
	t.Logf("%d nicknames released by one identity; %d free for others, 1 reserved", names, free)
	if free != names-1 {
		t.Fatalf("%d of %d released nicknames free for another identity, want %d", free, names, names-1)
	}
	wantNick(t, n.Request("r", other, "name"+strconv.Itoa(names-1), pol, t0), 425, "")
	wantNick(t, n.Request("q", other, "elsewhere", pol, t0), 425, "")
	back := user("s2", "sip:squatter@x")
	wantNick(t, n.Request("r", back, "name"+strconv.Itoa(names-1), pol, t0), 200, "name"+strconv.Itoa(names-1))
}
