package store

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the tail cache.
const (
	// DefaultCacheMessages is Config.CacheMessages's default: messages
	// kept in memory per room read.
	DefaultCacheMessages = 128
	// DefaultCacheBytes is Config.CacheBytes's default.
	DefaultCacheBytes = 64 << 20
)

// cachedMsg is a message of a room's tail in memory: its stored frame
// (which nobody modifies), its sequence and when it was stored.
type cachedMsg struct {
	seq   uint64
	at    time.Time
	frame []byte
}

// tail is the end of one room's history in memory.
type tail struct {
	msgs    []cachedMsg // ascending sequences; every message of the room from msgs[0] on
	whole   bool        // and none before msgs[0] (the room had fewer than k when read)
	filling int         // reads from the stream under way to fill it
	pend    []cachedMsg // appended while filling
	bytes   int
	used    uint64 // cache.clock at the last read
}

// cache keeps the last messages of recently read rooms, so that Last and
// After serve a join's history and a short catch-up from memory: in a
// stream where many rooms interleave, JetStream finds a room's messages by
// scanning every message stored in between. A room's tail is filled by
// the first Last on it (reading max(n, k) messages), then follows the
// room's acknowledged appends in order (the completer adds them before
// calling done). An append that fails after its publish (its message may
// be stored all the same), a DeleteRoom and a reconnection drop tails.
type cache struct {
	mu     sync.Mutex
	k      int   // messages per room
	max    int64 // bytes in all
	bytes  int64
	maxAge time.Duration
	clock  uint64
	rooms  map[string]*tail

	hits, misses atomic.Uint64
}

func (c *cache) init(k int, maxBytes int64, maxAge time.Duration) {
	c.k, c.max, c.maxAge = k, maxBytes, maxAge
	c.rooms = make(map[string]*tail)
}

func (c *cache) enabled() bool { return c.k > 0 }

// add appends a message acknowledged for room to its tail, if it has one.
func (c *cache) add(room string, m cachedMsg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.rooms[room]
	if t == nil {
		return
	}
	if m.frame == nil {
		// Published before the tail was made, acknowledged after: the
		// read that fills it may have missed it, and there is no copy.
		c.dropLocked(room)
		return
	}
	if t.filling > 0 {
		t.pend = append(t.pend, m)
		return
	}
	if n := len(t.msgs); n > 0 && m.seq <= t.msgs[n-1].seq {
		return
	}
	t.msgs = append(t.msgs, m)
	c.grew(t, len(m.frame))
	c.trim(t)
	c.evict()
}

func (c *cache) grew(t *tail, n int) {
	t.bytes += n
	c.bytes += int64(n)
}

// trim keeps the last k messages of t.
func (c *cache) trim(t *tail) {
	if over := len(t.msgs) - c.k; over > 0 {
		for _, m := range t.msgs[:over] {
			c.grew(t, -len(m.frame))
		}
		t.msgs = slices.Delete(t.msgs, 0, over)
		t.whole = false
	}
}

// evict drops the least recently read tails when over the byte budget,
// down to 7/8 of it (so that the scan for them is rare).
func (c *cache) evict() {
	if c.bytes <= c.max {
		return
	}
	for c.bytes > c.max-c.max/8 && len(c.rooms) > 0 {
		var oldest string
		var ot *tail
		for room, t := range c.rooms {
			if t.filling == 0 && (ot == nil || t.used < ot.used) {
				oldest, ot = room, t
			}
		}
		if ot == nil {
			return
		}
		c.dropLocked(oldest)
	}
}

func (c *cache) dropLocked(room string) {
	if t := c.rooms[room]; t != nil {
		c.bytes -= int64(t.bytes)
		delete(c.rooms, room)
	}
}

// has reports whether room has a tail (so that appends to it keep a copy
// of their frame for it).
func (c *cache) has(room string) bool {
	if !c.enabled() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rooms[room] != nil
}

// drop forgets room's tail.
func (c *cache) drop(room string) {
	c.mu.Lock()
	c.dropLocked(room)
	c.mu.Unlock()
}

// clear forgets every tail.
func (c *cache) clear() {
	c.mu.Lock()
	clear(c.rooms)
	c.bytes = 0
	c.mu.Unlock()
}

// expire drops t's messages that the stream's MaxAge removed.
func (c *cache) expire(t *tail, now time.Time) {
	cut := now.Add(-c.maxAge)
	i := 0
	for i < len(t.msgs) && t.msgs[i].at.Before(cut) {
		c.grew(t, -len(t.msgs[i].frame))
		i++
	}
	if i > 0 {
		t.msgs = slices.Delete(t.msgs, 0, i)
		// What went was the oldest: the rest is still all there is.
	}
}

// ready returns room's tail when it can answer (filled, not filling).
func (c *cache) ready(room string, now time.Time) *tail {
	t := c.rooms[room]
	if t == nil || t.filling > 0 {
		return nil
	}
	c.clock++
	t.used = c.clock
	c.expire(t, now)
	return t
}

// last answers Last from memory when the tail holds the answer.
func (c *cache) last(room string, n int, cutoff, now time.Time) ([]Message, bool) {
	c.mu.Lock()
	t := c.ready(room, now)
	if t == nil {
		c.mu.Unlock()
		return nil, false
	}
	i := len(t.msgs)
	complete := t.whole
	for i > 0 && len(t.msgs)-i < n {
		if !within(&t.msgs[i-1], cutoff) {
			complete = true // the older ones are older still
			break
		}
		i--
	}
	if len(t.msgs)-i < n && !complete && i == 0 {
		c.mu.Unlock()
		return nil, false
	}
	ms := slices.Clone(t.msgs[i:]) // frames are never modified: decode them unlocked
	c.mu.Unlock()
	msgs, err := decodeCached(room, ms)
	return msgs, err == nil
}

// within reports whether m is no older than cutoff (zero: no limit), by
// the time it was stored and, when set, by Received.
func within(m *cachedMsg, cutoff time.Time) bool {
	if cutoff.IsZero() {
		return true
	}
	if m.at.Before(cutoff) {
		return false
	}
	var ns int64
	if len(m.frame) >= 9 {
		ns = int64(uint64(m.frame[1])<<56 | uint64(m.frame[2])<<48 | uint64(m.frame[3])<<40 | uint64(m.frame[4])<<32 |
			uint64(m.frame[5])<<24 | uint64(m.frame[6])<<16 | uint64(m.frame[7])<<8 | uint64(m.frame[8]))
	}
	return ns == 0 || !time.Unix(0, ns).Before(cutoff)
}

// after answers After from memory when the tail covers seq.
func (c *cache) after(room string, seq uint64, n int, now time.Time) ([]Message, bool, bool) {
	c.mu.Lock()
	t := c.ready(room, now)
	if t == nil || !t.whole && (len(t.msgs) == 0 || seq+1 < t.msgs[0].seq) {
		c.mu.Unlock()
		return nil, false, false
	}
	i, _ := slices.BinarySearchFunc(t.msgs, seq+1, func(m cachedMsg, s uint64) int {
		switch {
		case m.seq < s:
			return -1
		case m.seq > s:
			return 1
		}
		return 0
	})
	j := min(i+n, len(t.msgs))
	ms, more := slices.Clone(t.msgs[i:j]), j < len(t.msgs)
	c.mu.Unlock()
	msgs, err := decodeCached(room, ms)
	return msgs, more, err == nil
}

// beginFill makes room's tail (if needed) and marks a fill under way; the
// appends acknowledged meanwhile wait in pend.
func (c *cache) beginFill(room string) *tail {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.rooms[room]
	if t == nil {
		t = &tail{}
		c.rooms[room] = t
	}
	t.filling++
	return t
}

// endFill merges what a read found (the room's last messages, ascending;
// whole when that is all the room has) with the tail and what was
// appended meanwhile. After a failed read (ok false) a tail that was never
// filled is dropped.
func (c *cache) endFill(room string, t *tail, read []cachedMsg, whole, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t.filling--
	if c.rooms[room] != t {
		return // dropped meanwhile
	}
	if !ok && len(t.msgs) == 0 {
		if t.filling == 0 {
			c.dropLocked(room)
		}
		return
	}
	all := append(read, t.msgs...)
	all = append(all, t.pend...)
	slices.SortFunc(all, func(a, b cachedMsg) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	all = slices.CompactFunc(all, func(a, b cachedMsg) bool { return a.seq == b.seq })
	c.grew(t, -t.bytes)
	t.msgs, t.pend = all, nil
	for _, m := range all {
		c.grew(t, len(m.frame))
	}
	if ok {
		t.whole = whole
	}
	c.trim(t)
	c.clock++
	t.used = c.clock
	c.evict()
}

// decodeCached turns cached frames into Messages with bodies of their own.
func decodeCached(room string, ms []cachedMsg) ([]Message, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	out := make([]Message, len(ms))
	for i := range ms {
		m := &out[i]
		m.Room, m.Seq = room, ms[i].seq
		if err := parseFrame(ms[i].frame, m); err != nil {
			return nil, err
		}
		m.Body = append([]byte(nil), m.Body...)
	}
	return out, nil
}
