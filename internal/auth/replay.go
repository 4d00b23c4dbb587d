package auth

import "time"

// replayTable remembers the nonces issued and, for each, the highest nc
// accepted (RFC 7616 §3.3 and §5.5: a server that checks the nonce count
// refuses replays). It is bounded: it holds at most max nonces, in a ring
// in issue order; issuing one more evicts the oldest, and nonces older
// than the lifetime are dropped from the old end as new ones come in.
// A nonce that is valid but no longer remembered is answered as stale,
// never accepted: a flood of challenges costs honest clients a
// re-challenge, not a replay.
//
// Memory: the ring holds one nonceID (20 bytes) per slot, and the map one
// nonceID key and one replayState (8 bytes) per entry plus the map's own
// overhead (Go's Swiss tables: a control byte per slot, at most 7/8 full,
// doubling when full); 48 to 87 bytes per remembered nonce measured
// depending on where the map is between two doublings
// (TestReplayTableMemory), so at most 90 bytes × max: 9 MB for the
// default 100,000.
//
// Not safe for concurrent use: Digest's mutex guards it.
type replayTable struct {
	max      int
	lifetime time.Duration
	ring     []nonceID // grows to max, then wraps
	head     int       // index of the oldest nonce in ring
	n        int       // nonces in ring
	states   map[nonceID]replayState
}

// replayState is what the table knows of one nonce.
type replayState struct {
	nc   uint32 // highest nc accepted, 0 for none
	used bool   // accepted without qop (RFC 2069 style): single use
}

func newReplayTable(max int, lifetime time.Duration) *replayTable {
	return &replayTable{max: max, lifetime: lifetime, states: make(map[nonceID]replayState)}
}

// add remembers a nonce issued at now, after dropping the expired ones
// and, if the table is full, the oldest.
func (t *replayTable) add(id nonceID, now time.Time) {
	t.expire(now)
	if t.n == t.max {
		t.dropOldest()
	}
	if t.n == len(t.ring) { // not full yet but out of room: grow, oldest first
		ring := make([]nonceID, min(max(2*len(t.ring), 64), t.max))
		for i := range t.n {
			ring[i] = t.ring[(t.head+i)%len(t.ring)]
		}
		t.ring, t.head = ring, 0
	}
	t.ring[(t.head+t.n)%len(t.ring)] = id
	t.n++
	t.states[id] = replayState{}
}

// expire drops the nonces at the old end of the ring whose age is over
// the lifetime at now. (A nonce issued later but with an earlier clock
// reading, after a step back of the clock, waits for those before it.)
func (t *replayTable) expire(now time.Time) {
	for t.n > 0 && now.Sub(t.ring[t.head].issued()) > t.lifetime {
		t.dropOldest()
	}
}

func (t *replayTable) dropOldest() {
	delete(t.states, t.ring[t.head])
	t.ring[t.head] = nonceID{}
	t.head = (t.head + 1) % len(t.ring)
	t.n--
}

// accept records a use of the nonce id with nonce count nc (qop=auth) or
// without qop (nc == 0, withQOP false) and reports what it found: OK,
// Stale when id is not remembered, Replayed when nc is not above the
// highest accepted or a single-use nonce was used already. Only OK
// changes the table.
func (t *replayTable) accept(id nonceID, withQOP bool, nc uint32) Result {
	st, ok := t.states[id]
	switch {
	case !ok:
		return Stale
	case st.used:
		return Replayed
	case withQOP && nc <= st.nc:
		return Replayed
	case !withQOP && st.nc != 0:
		return Replayed
	}
	if withQOP {
		st.nc = nc
	} else {
		st.used = true
	}
	t.states[id] = st
	return OK
}

// len is the number of nonces remembered.
func (t *replayTable) len() int { return t.n }
