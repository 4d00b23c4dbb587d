package switchboard

import (
	"sync"
	"sync/atomic"

	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/msrp"
)

// Attachment is the Data of every relay session the focus opens: the
// focus's handle, and the switch's link once the session is bound. The
// server's Switch adapter wraps the handle with NewAttachment.
type Attachment struct {
	Handle any
	link   atomic.Pointer[link]
}

// NewAttachment wraps a focus handle for relay.Server.NewSession.
func NewAttachment(handle any) *Attachment { return &Attachment{Handle: handle} }

func attachment(sess *relay.Session) *Attachment {
	a, _ := sess.Data().(*Attachment)
	return a
}

// link is one bound MSRP session of a member. A re-INVITE that moves the
// session gives the member a new link; the old one stops receiving.
type link struct {
	sess     *relay.Session
	m        *member
	toPath   string // the participant's path: To-Path of what we send it
	fromPath string // our session URI: From-Path of what we send it

	// histSeen is how far its room's ring was when it bound (ring.pushed):
	// it got those messages through replay, so fan-out skips them. Set
	// before the link is published.
	histSeen uint64
	bind     uint64 // its place in the ring's bind order (ring.binds)

	// Owned by the session's read goroutine (the sender side of fan-out).
	ids     *msrp.IDSource      // made when the participant first sends (idSource)
	rcpts   []*room.Participant // Route's scratch
	scratch []byte              // envelopes are framed here, then copied by the relay
	middle  []byte              // the fields a message's copies share (msrp.Envelope.Middle), on the read goroutine

	// Messages per second (ratelimit.go), next to the fields above that
	// the read goroutine writes anyway: whether the session is held to the
	// rate (set before the link is published), its bucket's TAT (atomic
	// only so that the member's next link, when the session moves, can
	// start from it) and whether it has been told it is over the rate in
	// the current episode.
	rateOn bool
	told   bool
	tat    atomic.Int64

	mu  sync.Mutex  // guards unf's fields and the transfers' held
	unf *unfinished // the chunked messages this session is sending; nil before the first
}

// unfinished is what a link keeps of the chunked messages its session is
// sending (limits.go), made when it starts the first and dropped after the
// last: most participants never send one. Kept out of the link, it leaves
// the link at 176 bytes, a size class the SIP parser's garbage hardly
// touches (issue 20: at 192, each link kept a span of the parser's To,
// From and Contact headers resident after a burst of joins, about 1 kB
// per participant).
type unfinished struct {
	byMID map[string]*transfer // by the sender's Message-ID
	held  int64                // octets received so far of those messages
}

// counts returns how many chunked messages are unfinished and their octets
// held so far; a nil u has none. The link's mu is held.
func (u *unfinished) counts() (int, int64) {
	if u == nil {
		return 0, 0
	}
	return len(u.byMID), u.held
}

// idSource returns the link's IDSource, made at its first use: a
// participant that never sends keeps none. Only on the session's read
// goroutine.
func (l *link) idSource() *msrp.IDSource {
	if l.ids == nil {
		l.ids = new(msrp.IDSource)
	}
	return l.ids
}

// flush queues what the link's read goroutine holds in its relay batch,
// before the switch queues something directly. Only on that goroutine.
func (l *link) flush() {
	if b := l.sess.Batch(); b != nil {
		b.Flush()
	}
}

// send queues m to the link's own session from its read goroutine: through
// the relay batch, after the copies it holds (the sender sees its 200 once
// they are queued), or directly when the session is not bound.
func (l *link) send(m *msrp.Message) error {
	if b := l.sess.Batch(); b != nil {
		return b.Send(l.sess, m)
	}
	return l.sess.Send(m)
}

// member is one participant of one room, as the switch sees it.
type member struct {
	p         *room.Participant
	rs        *roomState
	link      atomic.Pointer[link] // the current bound session; nil before binding and after leaving
	announced atomic.Bool          // its join notice went out (so a leave notice will too)
	warned    atomic.Bool          // it has been told that messages to it are being dropped
	replayed  atomic.Bool          // its first binding got the room's history
	left      atomic.Bool
}

// roomState is the switch's view of a room: a copy-on-write snapshot of its
// members, read without locks on the message path.
type roomState struct {
	rm   *room.Room
	mu   sync.Mutex // serialises snapshot updates
	snap atomic.Pointer[snapshot]
	hist *ring // its recent messages (history.go); nil when it keeps none
}

// snapshot is an immutable member list.
type snapshot struct {
	parts []*room.Participant
	mems  []*member // parallel to parts
	mem   map[*room.Participant]*member
}

// lookup returns p's member. Recipients come in the order of parts
// (room.RouteAppend keeps it), so the search goes on from *j, where the
// previous one ended; the map is the fallback.
func (sn *snapshot) lookup(p *room.Participant, j *int) *member {
	for k := *j; k < len(sn.parts); k++ {
		if sn.parts[k] == p {
			*j = k + 1
			return sn.mems[k]
		}
	}
	return sn.mem[p]
}

var emptySnapshot = &snapshot{mem: map[*room.Participant]*member{}}

func (rs *roomState) members() *snapshot {
	if sn := rs.snap.Load(); sn != nil {
		return sn
	}
	return emptySnapshot
}

// add publishes a snapshot with m added.
func (rs *roomState) add(m *member) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	old := rs.members()
	sn := &snapshot{parts: make([]*room.Participant, 0, len(old.parts)+1), mem: make(map[*room.Participant]*member, len(old.mem)+1)}
	sn.parts = append(sn.parts, old.parts...)
	sn.parts = append(sn.parts, m.p)
	sn.mems = append(append(make([]*member, 0, len(sn.parts)), old.mems...), m)
	for p, x := range old.mem {
		sn.mem[p] = x
	}
	sn.mem[m.p] = m
	rs.snap.Store(sn)
}

// remove publishes a snapshot without p and returns its member and how
// many remain.
func (rs *roomState) remove(p *room.Participant) (*member, int) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	old := rs.members()
	m := old.mem[p]
	if m == nil {
		return nil, len(old.parts)
	}
	sn := &snapshot{parts: make([]*room.Participant, 0, len(old.parts)), mems: make([]*member, 0, len(old.parts)), mem: make(map[*room.Participant]*member, len(old.mem))}
	for i, q := range old.parts {
		if q != p {
			sn.parts = append(sn.parts, q)
			sn.mems = append(sn.mems, old.mems[i])
		}
	}
	for q, x := range old.mem {
		if q != p {
			sn.mem[q] = x
		}
	}
	rs.snap.Store(sn)
	return m, len(sn.parts)
}

// Joined implements focus.Roster: p may now be routed to (once bound).
func (s *Switch) Joined(rm *room.Room, p *room.Participant) {
	s.mu.Lock()
	rs := s.rooms[rm]
	if rs == nil {
		// A room new to the switch: its history comes from the store,
		// without the switch's lock held.
		s.mu.Unlock()
		fresh := s.newRoomState(rm)
		s.mu.Lock()
		if rs = s.rooms[rm]; rs == nil {
			rs = fresh
			s.rooms[rm] = rs
		}
	}
	rs.add(&member{p: p, rs: rs})
	s.mu.Unlock()
}

// Left implements focus.Roster: p is gone. Its nickname is released, the
// chunked messages it was sending are aborted, and the others are told.
func (s *Switch) Left(rm *room.Room, p *room.Participant) {
	s.mu.Lock()
	rs := s.rooms[rm]
	var m *member
	if rs != nil {
		var left int
		m, left = rs.remove(p)
		if left == 0 {
			delete(s.rooms, rm)
		}
	}
	s.mu.Unlock()
	s.nicks.Release(p, s.cfg.Now())
	if m == nil {
		return
	}
	m.left.Store(true)
	s.leftWithHistory(rs, m)
	if l := m.link.Swap(nil); l != nil {
		s.abortInbound(l, "sender left")
	}
	if m.announced.Load() {
		s.noticeLeft(rs, m)
	}
}

// SessionBound implements relay.Handler: the session's participant can
// now send and receive. The first binding of a participant announces it.
func (s *Switch) SessionBound(sess *relay.Session) {
	a := attachment(sess)
	if a == nil {
		return
	}
	rm, p := s.cfg.Resolve(a.Handle)
	if rm == nil || p == nil {
		return
	}
	s.mu.Lock()
	rs := s.rooms[rm]
	s.mu.Unlock()
	if rs == nil {
		return
	}
	m := rs.members().mem[p]
	if m == nil {
		return
	}
	l := &link{
		sess:     sess,
		m:        m,
		toPath:   msrp.FormatPath(sess.PeerPath()),
		fromPath: sess.LocalURI().String(),
	}
	s.rateLink(l, m.link.Load())
	a.link.Store(l)
	first := !m.replayed.Swap(true)
	if old := s.bindWithHistory(rs, m, l, first); old != nil {
		s.abortInbound(old, "session moved")
	}
	if m.left.Load() {
		// Left ran meanwhile: it may have missed this link.
		m.link.CompareAndSwap(l, nil)
		return
	}
	if s.cfg.Observer != nil {
		s.cfg.Observer.Bound(rm, p)
	}
	if !m.announced.Swap(true) {
		s.noticeJoined(rs, m)
		if !p.Caps.ChatroomAware {
			s.noticeRoster(rs, m)
		}
	}
}

// SessionEnded implements relay.Handler: the session ended on its own
// (connection lost, slow consumer, bind timeout...). Its chunked messages
// are aborted and the focus ends the dialog (BYE), which makes the
// participant leave.
func (s *Switch) SessionEnded(sess *relay.Session, reason relay.CloseReason) {
	a := attachment(sess)
	if a == nil {
		return
	}
	if l := a.link.Load(); l != nil {
		l.m.link.CompareAndSwap(l, nil)
		s.abortInbound(l, "session ended: "+reason.String())
	}
	if s.cfg.Ended != nil {
		s.cfg.Ended(a.Handle, sess.ID(), reason)
	}
}
