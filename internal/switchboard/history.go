package switchboard

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-im/parley/cpim"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/iscomposing"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/sdp"
)

// History (issue 16): a room whose policy keeps history (room.Policy.History
// > 0) remembers its last regular messages. A participant whose session
// binds gets them, oldest first, before any live message, each as the
// original CPIM object with a header in parley's namespace saying when the
// room received it; one that comes back (the same identity, a cursor in the
// store) gets only what it missed. Private messages are never kept.
//
// The switch keeps each room's recent messages in memory (ring), filled
// on the message path, and the store (Config.History) keeps them across
// restarts: a room's ring is loaded from the store when the switch first
// sees the room. The ring is what closes the race between a joiner's
// replay and live messages: a message is pushed under the ring's lock
// before its copies go out, and a binding session takes the ring's
// contents and becomes a recipient under that same lock, remembering how
// far the ring was (link.histSeen); fan-out skips a recipient that already
// got the message through replay. So every message reaches a joiner
// exactly once, through replay or live.
//
// With a store, a regular message is answered 200 only once it is stored
// (for a chunked message: its last chunk, once the whole message is): the
// sender's read goroutine never waits, the 200 is queued from the store's
// acknowledgement. A message the store could not keep is answered 200 all
// the same (it was relayed), counted, and the room is told once that its
// history is paused.

// History is where rooms' messages and participants' cursors are kept:
// internal/store, through an adapter in internal/server. Room is the room's
// name. Append and SetCursor never block; Last and Cursor may (the switch
// calls them only where a participant is being admitted, never on the
// message path).
type History interface {
	// Append stores m; done is called exactly once, from another
	// goroutine, with its sequence in the room or an error.
	Append(room string, m Stored, done func(seq uint64, err error))
	// Last returns the room's last n messages no older than maxAge (0:
	// any age), oldest first.
	Last(ctx context.Context, room string, n int, maxAge time.Duration) ([]Stored, error)
	// SetCursor records that participant has had every message of room
	// up to seq.
	SetCursor(room, participant string, seq uint64)
	// Cursor returns the sequence SetCursor last recorded, if any.
	Cursor(ctx context.Context, room, participant string) (seq uint64, ok bool, err error)
}

// Stored is one kept message.
type Stored struct {
	Seq      uint64    // its sequence in the room (0 until stored)
	Received time.Time // when the room received it
	Sender   string    // the sender's URI as the room shows it (an anonymous sender's anonymous URI)
	Body     []byte    // the CPIM object as relayed
}

// historyWait bounds the store queries made while a participant is
// admitted (loading a room's ring, reading a cursor).
const historyWait = 2 * time.Second

// HistoryNS declares the CPIM namespace of the history header (RFC 3862
// §3.1; client.HistoryNamespace is its URI), and HistoryHeader is the
// header: "parley.History: <RFC 3339 date-time>", the time the room
// received the message. A CPIM reader that does not know the namespace
// ignores the header.
const (
	HistoryNS     = "NS: parley <https://github.com/parley-im/parley/ns/history>"
	HistoryHeader = "parley.History"
)

// ring is a room's recent regular messages, oldest first.
type ring struct {
	mu     sync.Mutex // a leaf but in SessionBound, which queues replay under it (ring.mu → conn lock)
	buf    []*entry   // circular, len = the policy's History
	head   int        // index of the oldest
	n      int
	pushed uint64        // entries ever pushed: the index of the newest
	binds  atomic.Uint64 // sessions bound so far (link.bind); written under mu, read without it
	acked  uint64        // the highest sequence stored
	paused bool          // the store failed; the room was told
}

type entry struct {
	index    uint64 // its place in the ring's order (ring.pushed when pushed)
	seq      uint64 // guarded by ring.mu; 0 until stored
	received time.Time
	sender   string
	body     []byte // shared with the copies: never modified
}

func newRing(size int) *ring { return &ring{buf: make([]*entry, size)} }

// push adds e as the newest, evicting the oldest when full. ring.mu held.
func (h *ring) push(e *entry) {
	h.pushed++
	e.index = h.pushed
	if h.n < len(h.buf) {
		h.buf[(h.head+h.n)%len(h.buf)] = e
		h.n++
		return
	}
	h.buf[h.head] = e
	h.head = (h.head + 1) % len(h.buf)
}

// since returns, oldest first, the entries a participant has not had: no
// older than maxAge, and newer than cursor when it has one (an entry not
// yet stored is newer than any cursor). ring.mu held.
func (h *ring) since(cursor uint64, hasCursor bool, maxAge time.Duration, now time.Time) []*entry {
	var out []*entry
	for i := range h.n {
		e := h.buf[(h.head+i)%len(h.buf)]
		if maxAge > 0 && now.Sub(e.received) > maxAge {
			continue
		}
		if hasCursor && e.seq != 0 && e.seq <= cursor {
			continue
		}
		out = append(out, e)
	}
	return out
}

// newRoomState makes the switch's state of rm, with its ring loaded from
// the store when the room keeps history. Called without switch locks: it
// may wait for the store (bounded by historyWait).
func (s *Switch) newRoomState(rm *room.Room) *roomState {
	rs := &roomState{rm: rm}
	size := rm.Policy().History
	if size <= 0 {
		return rs
	}
	rs.hist = newRing(size)
	if s.cfg.History == nil {
		return rs
	}
	ctx, cancel := context.WithTimeout(context.Background(), historyWait)
	defer cancel()
	kept, err := s.cfg.History.Last(ctx, rm.Name, size, rm.Policy().HistoryMaxAge)
	if err != nil {
		s.log.Warn("room history not loaded", "room", rm.Name, "error", err)
		return rs
	}
	for _, k := range kept {
		rs.hist.push(&entry{seq: k.Seq, received: k.Received, sender: k.Sender, body: k.Body})
		rs.hist.acked = max(rs.hist.acked, k.Seq)
	}
	return rs
}

// keep pushes a complete regular message into its room's ring before its
// copies go out, and returns its entry (nil when the room keeps no
// history). On the sender's read goroutine.
func (s *Switch) keep(l *link, body []byte) *entry {
	h := l.m.rs.hist
	if h == nil {
		return nil
	}
	e := &entry{received: s.cfg.Now(), sender: l.m.p.URI, body: body}
	h.mu.Lock()
	h.push(e)
	h.mu.Unlock()
	if s.afterKeep != nil {
		s.afterKeep()
	}
	return e
}

// answerStored answers msg's last chunk once e is stored (accepted, from
// the store's acknowledgement), or at once without a store. What it sends
// later is built now: msg aliases the read buffer. n is the size of the
// whole message as the sender numbered it.
func (s *Switch) answerStored(l *link, msg *msrp.Message, n int64, e *entry) {
	if e == nil || s.cfg.History == nil {
		s.accepted(l, msg, n)
		return
	}
	var res, rep []byte
	if msg.WantsResponse(msrp.StatusOK) {
		r := msg.Response(msrp.StatusOK, "")
		res = r.AppendTo(make([]byte, 0, r.SizeBound()))
	}
	if sr, _ := msg.SuccessReport(); sr {
		r := msg.Report(l.idSource().TID(), msrp.StatusOK, "", msrp.ByteRange{Start: 1, End: n, Total: n})
		rep = r.AppendTo(make([]byte, 0, r.SizeBound()))
	}
	sess, rs := l.sess, l.m.rs
	s.cfg.History.Append(rs.rm.Name, Stored{Received: e.received, Sender: e.sender, Body: e.body}, func(seq uint64, err error) {
		s.stored(rs, e, seq, err)
		// The sender learns its message is kept (RFC 4975 §7.3: the 200
		// may come after later transactions' answers).
		if res != nil {
			if sess.Enqueue(res) != nil {
				return
			}
		}
		if rep != nil {
			sess.Enqueue(rep)
		}
	})
}

// stored records the store's answer for e.
func (s *Switch) stored(rs *roomState, e *entry, seq uint64, err error) {
	h := rs.hist
	h.mu.Lock()
	if err == nil {
		e.seq = seq
		h.acked = max(h.acked, seq)
		resumed := h.paused
		h.paused = false
		h.mu.Unlock()
		s.stats.stored.Add(1)
		if resumed {
			s.log.Info("room history resumed", "room", rs.rm.Name)
			s.noticeRoom(rs, nil, "History is kept again.")
		}
		return
	}
	first := !h.paused
	h.paused = true
	h.mu.Unlock()
	s.stats.notStored.Add(1)
	if first {
		s.log.Warn("room history paused: messages are relayed but not kept", "room", rs.rm.Name, "error", err)
		s.noticeRoom(rs, nil, "History is paused: messages are relayed but not kept.")
	}
}

// bindWithHistory makes l m's link under its room's ring lock, after
// queueing to it what m has not had of the ring (replay), so that every
// message reaches m once: through replay, or live (fan-out skips what
// l.histSeen covers). The cursor is read before, without locks. It
// returns the link l replaced. Only a participant's first binding
// replays; a moved session just takes over.
func (s *Switch) bindWithHistory(rs *roomState, m *member, l *link, first bool) *link {
	h := rs.hist
	if h == nil {
		return m.link.Swap(l)
	}
	var cursor uint64
	var hasCursor bool
	if first && s.cfg.History != nil {
		ctx, cancel := context.WithTimeout(context.Background(), historyWait)
		var err error
		cursor, hasCursor, err = s.cfg.History.Cursor(ctx, rs.rm.Name, identity(m.p))
		cancel()
		if err != nil {
			s.log.Warn("participant's history cursor not read: replaying the room's last messages", "room", rs.rm.Name, "error", err)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	l.histSeen = h.pushed
	l.bind = h.binds.Add(1)
	if first {
		es := h.since(cursor, hasCursor, rs.rm.Policy().HistoryMaxAge, s.cfg.Now())
		var w wholeCopies
		for _, e := range es {
			w.next()
			body, err := cpim.InsertHeaders(make([]byte, 0, len(e.body)+len(HistoryNS)+64), e.body,
				HistoryNS, HistoryHeader+": "+e.received.UTC().Format(time.RFC3339Nano))
			if err != nil {
				continue
			}
			if s.sendWhole(l, body, true, &w) != nil {
				break // congested or gone: the rest would be dropped too
			}
			s.stats.replayed.Add(1)
		}
	}
	return m.link.Swap(l)
}

// leftWithHistory records how far m got, for its catch-up when it comes
// back.
func (s *Switch) leftWithHistory(rs *roomState, m *member) {
	h := rs.hist
	if h == nil || s.cfg.History == nil {
		return
	}
	h.mu.Lock()
	acked := h.acked
	h.mu.Unlock()
	if acked > 0 {
		s.cfg.History.SetCursor(rs.rm.Name, identity(m.p), acked)
	}
}

// transient reports whether a message of wrapped content type ct is a
// status, not a message: an RFC 3994 typing indication. Such messages are
// relayed but never kept (a stale "is typing" replayed to a joiner would
// be wrong, and they would crowd the room's last messages out).
func transient(ct string) bool {
	return sdp.BaseMediaType(ct) == iscomposing.ContentType
}

// identity is what a participant's cursor is kept under: the URI it
// signalled (an anonymous participant's real one, never shown to anyone),
// so that it is the same on its next visit. A guest's is marked as a
// guest's (issue 17): an account made later under the same URI does not
// inherit what a guest read.
func identity(p *room.Participant) string {
	id := p.Signalled
	if id == "" {
		id = p.URI
	}
	if p.Guest {
		return "guest:" + id
	}
	return id
}

// sendLateBinders sends the kept message e whole to the members that
// bound after binds (the ring's bind count read before its recipients
// were decided) and got it neither live nor in their replay: for a
// chunked message, those that bound while it was being relayed (its
// recipients were fixed by its first chunk, their replay came before it
// was complete); for a one-chunk message, those that joined and bound
// between the members' snapshot and the push (except, the snapshot: its
// members got it live). They get it as any recipient would have: not its
// sender, and only if they take its content type and size.
func (s *Switch) sendLateBinders(l *link, e *entry, binds uint64, except *snapshot) {
	cm, err := cpim.Parse(e.body)
	if err != nil {
		return
	}
	ct := cm.ContentType()
	var w wholeCopies
	for _, m := range l.m.rs.members().mems {
		rl := m.link.Load()
		if rl == nil || rl.bind <= binds || m == l.m || rl.histSeen >= e.index {
			continue
		}
		if except != nil && except.mem[m.p] != nil {
			continue // a recipient already: it got the message live
		}
		if !m.p.AcceptsWrapped(ct) || (m.p.MaxSize > 0 && int64(len(e.body)) > m.p.MaxSize) {
			continue
		}
		s.delivered(m, s.sendWhole(rl, e.body, true, &w))
	}
}
