package relay

import (
	"fmt"

	"github.com/parley-im/parley/msrp"
)

// Batch defers what a connection's read goroutine queues, so that fan-out
// takes each recipient connection's lock once per read rather than once per
// copy (issue 7). The read loop parses every complete message a read(2)
// brought; copies and responses queued through the Batch meanwhile are
// queued for real (Flush) before the read goroutine next waits for input,
// before it calls the Handler for anything but HandleRequest, when the
// batch grows large, and when the connection's read side ends.
//
// The destination session is checked (bound, not ended) when an entry is
// added; the entry is checked against its connection's limits when it is
// flushed, exactly as Session.OfferFrame, EnqueueFrame and Send would check
// them then (congestion mark, hard cap, closed connection), in the order it
// was added. (A session ended between the two, on a connection that stays
// open for another session, still gets its copy: its peer answers 481.)
// Per destination connection, the order of output is the order of the
// calls. Output for the batch's own connection (responses to the
// sender, its REPORTs) is queued after the copies to the others, so that
// once a sender sees the 200 of a message, its copies are queued and
// counted. A Batch belongs to its connection's read goroutine: it may be
// used only inside Handler.HandleRequest for a session of that connection
// (Session.Batch).
type Batch struct {
	c  *conn       // the connection whose read goroutine owns it
	st *batchState // nil when empty; borrowed from the server's pool
}

// maxBatchEntries flushes a batch that grew this large (a read buffer
// grown for a large chunk can hold many small messages after it).
const maxBatchEntries = 2048

// batchState is a non-empty batch: entries linked per destination
// connection (group), and the frames' heads and end-lines in stage.
type batchState struct {
	srv     *Server
	stage   []byte
	entries []batchEntry
	groups  []batchGroup
	cursor  int     // the group the next entry probably belongs to (fan-out repeats its order)
	slots   []int32 // open-addressing table of groups by conn id: group index + 1
}

type batchGroup struct {
	c           *conn
	first, last int32 // entries, linked by next
}

type batchEntry struct {
	head, body, end []byte // head and end alias stage; a raw entry is head alone
	frame           bool
	droppable       bool
	follow          bool // QueueFollow: queued iff the group's previous entry was, with its outcome
	grouped         bool // added to a group (its session was writable)
	next            int32
	err             error
	done            func(tag any, err error)
	tag             any
}

// Batch returns the batch of the read goroutine of s's connection, or nil
// when s is not bound. It may be used only inside Handler.HandleRequest for
// s (on that read goroutine), never kept.
func (s *Session) Batch() *Batch {
	c := s.conn.Load()
	if c == nil {
		return nil
	}
	return &c.batch
}

// QueueFrame adds one framed chunk for dst: env framed (as
// msrp.Envelope.AppendFrame does, with a transaction id from ids) around
// body, which is kept by reference and must stay unmodified. droppable
// gives it OfferFrame's rules (dropped with ErrCongested while dst's
// connection is congested), otherwise EnqueueFrame's. done, if not nil, is
// called with tag and the outcome when the batch is flushed (on the read
// goroutine, with no lock held).
func (b *Batch) QueueFrame(dst *Session, droppable bool, env *msrp.Envelope, ids *msrp.IDSource, br msrp.ByteRange, flag byte, body []byte, done func(tag any, err error), tag any) {
	st := b.state()
	c, err := dst.writable()
	e := st.add(c)
	e.droppable, e.done, e.tag, e.err = droppable, done, tag, err
	if err != nil {
		return
	}
	at := len(st.stage)
	var headEnd int
	st.stage, headEnd = env.AppendChunk(st.stage, ids, br, flag)
	e.head, e.body, e.end, e.frame = st.stage[at:headEnd:headEnd], body, st.stage[headEnd:len(st.stage):len(st.stage)], true
	if len(st.entries) >= maxBatchEntries {
		b.Flush()
	}
}

// Reserve flushes the batch now if n more entries would take it to
// maxBatchEntries, so that the next n calls (a QueueFrame and the
// QueueFollow calls that continue it) go in one flush. (More than
// maxBatchEntries pieces grow the batch past it.)
func (b *Batch) Reserve(n int) {
	if b.st != nil && len(b.st.entries)+n >= maxBatchEntries {
		b.Flush()
	}
}

// QueueFollow adds a chunk that continues the frame last added for dst
// (QueueFrame, or QueueFollow): the next piece of a copy the switch cut to
// fit dst (Session.MaxChunk), added after Reserve (the pieces of a copy
// must go in one flush). It is queued if and only if that frame was, and
// then past the congestion mark, so that a copy is queued or dropped
// whole; it is still subject to the hard cap. Its outcome is not reported
// (the first piece's done reports the copy's). It never flushes the batch.
func (b *Batch) QueueFollow(dst *Session, env *msrp.Envelope, ids *msrp.IDSource, br msrp.ByteRange, flag byte, body []byte) {
	st := b.state()
	c, err := dst.writable()
	e := st.add(c)
	e.follow, e.err = true, err
	if err != nil {
		return
	}
	at := len(st.stage)
	var headEnd int
	st.stage, headEnd = env.AppendChunk(st.stage, ids, br, flag)
	e.head, e.body, e.end, e.frame = st.stage[at:headEnd:headEnd], body, st.stage[headEnd:len(st.stage):len(st.stage)], true
}

// Send adds m (a request or a response) for dst, serialised now, as
// Session.Send would queue it; m may be reused when Send returns. A request
// with an empty TID gets a fresh transaction id, stored in m.TID. The
// error is Session.Send's for an unbound or ended session; what happens
// when the batch is flushed is not reported.
func (b *Batch) Send(dst *Session, m *msrp.Message) error {
	c, err := dst.writable()
	if err != nil {
		return err
	}
	if m.IsRequest() && m.TID == "" {
		m.TID = c.newTID()
	}
	b.queueRaw(c, m)
	return nil
}

// queueRaw adds m for connection c.
func (b *Batch) queueRaw(c *conn, m *msrp.Message) {
	st := b.state()
	e := st.add(c)
	at := len(st.stage)
	st.stage = m.AppendTo(st.stage)
	e.head = st.stage[at:len(st.stage):len(st.stage)]
	if len(st.entries) >= maxBatchEntries {
		b.Flush()
	}
}

func (b *Batch) state() *batchState {
	if b.st == nil {
		b.st = b.c.srv.pools.getBatch()
		b.st.srv = b.c.srv
	}
	return b.st
}

// add appends an entry for c (nil: an entry that failed already) to c's
// group.
func (st *batchState) add(c *conn) *batchEntry {
	i := int32(len(st.entries))
	st.entries = append(st.entries, batchEntry{next: -1})
	e := &st.entries[i]
	if c == nil {
		return e
	}
	e.grouped = true
	g := st.group(c)
	if g.first < 0 {
		g.first = i
	} else {
		st.entries[g.last].next = i
	}
	g.last = i
	return e
}

// group returns c's group, made if new. Fan-out adds the copies of each
// message in the same order, so the group after the previous one is tried
// first.
func (st *batchState) group(c *conn) *batchGroup {
	if st.cursor < len(st.groups) && st.groups[st.cursor].c == c {
		st.cursor++
		return &st.groups[st.cursor-1]
	}
	if 2*(len(st.groups)+1) > len(st.slots) {
		st.rehash(max(64, 4*len(st.slots)))
	}
	mask := uint64(len(st.slots) - 1)
	for h := hashID(c.id) & mask; ; h = (h + 1) & mask {
		switch gi := st.slots[h]; {
		case gi == 0:
			st.groups = append(st.groups, batchGroup{c: c, first: -1, last: -1})
			st.slots[h] = int32(len(st.groups))
			st.cursor = len(st.groups)
			return &st.groups[len(st.groups)-1]
		case st.groups[gi-1].c == c:
			st.cursor = int(gi)
			return &st.groups[gi-1]
		}
	}
}

func hashID(id uint64) uint64 { return (id * 0x9E3779B97F4A7C15) >> 17 }

func (st *batchState) rehash(n int) {
	if cap(st.slots) >= n {
		st.slots = st.slots[:n]
		clear(st.slots)
	} else {
		st.slots = make([]int32, n)
	}
	mask := uint64(n - 1)
	for gi := range st.groups {
		h := hashID(st.groups[gi].c.id) & mask
		for st.slots[h] != 0 {
			h = (h + 1) & mask
		}
		st.slots[h] = int32(gi + 1)
	}
}

// reset empties st for reuse, keeping its arrays.
func (st *batchState) reset() {
	clear(st.entries) // drop references to bodies, callbacks and tags
	st.entries = st.entries[:0]
	clear(st.groups)
	st.groups = st.groups[:0]
	clear(st.slots)
	st.stage = st.stage[:0]
	st.cursor = 0
}

// Flush queues everything the batch holds: for each destination connection
// under one lock, the batch's own connection last, and reports outcomes to
// the entries' done functions, group by group. What a done function queues
// through the batch meanwhile goes out before Flush returns.
func (b *Batch) Flush() {
	for b.st != nil {
		b.flushOnce()
	}
}

func (b *Batch) flushOnce() {
	st := b.st
	owner := b.c
	b.st = nil // a done function may start a new batch
	for pass := range 2 {
		for gi := range st.groups {
			g := &st.groups[gi]
			if (g.c == owner) != (pass == 1) {
				continue
			}
			g.c.pushBatch(st, g.first, pass == 0)
			for i := g.first; i >= 0; i = st.entries[i].next {
				if e := &st.entries[i]; e.done != nil {
					e.done(e.tag, e.err)
				}
			}
		}
	}
	for i := range st.entries {
		if e := &st.entries[i]; !e.grouped && e.done != nil {
			e.done(e.tag, e.err)
		}
	}
	srv := st.srv
	st.reset()
	srv.pools.putBatch(st)
}

// pushBatch queues the entries of one group, from first, under one lock,
// with push's rules for each, and starts the writer once.
func (c *conn) pushBatch(st *batchState, first int32, paced bool) {
	var (
		dropped  uint64
		congest  bool
		slow     bool
		slowErr  error
		queued   int
		failFrom int32 = -1
	)
	if c.srv.closing.Load() {
		// Shutdown has begun: nothing more is queued (a 200 now could
		// promise copies the closes discard).
		for i := first; i >= 0; i = st.entries[i].next {
			st.entries[i].err = ErrServerClosed
		}
		return
	}
	var prevErr error // the outcome of the previous entry, for a follower
	c.mu.Lock()
	for i := first; i >= 0; prevErr, i = st.entries[i].err, st.entries[i].next {
		e := &st.entries[i]
		n := len(e.head) + len(e.body) + len(e.end)
		if e.follow {
			if prevErr != nil {
				e.err = prevErr // its copy was dropped: none of it goes
				continue
			}
		} else if e.droppable && c.state == stateOpen && (c.congested || c.pending+n > c.srv.cfg.CongestedBytes) {
			congest = c.congestLocked() || congest
			dropped++
			e.err = ErrCongested
			continue
		}
		if c.state != stateOpen {
			failFrom = i
			break
		}
		if c.pending+n > c.srv.cfg.MaxPendingBytes {
			slow = true
			slowErr = fmt.Errorf("%d bytes pending, %d more over the cap of %d", c.pending, n, c.srv.cfg.MaxPendingBytes)
			e.err = fmt.Errorf("relay: conn %d: %w", c.id, ErrSlowConsumer)
			failFrom = e.next
			break
		}
		if e.frame {
			c.queueFrameLocked(e.head, e.body, e.end)
		} else {
			c.q = append(c.q, c.copyToArena(e.head))
		}
		if c.units {
			c.q = append(c.q, nil) // the end of the unit (transport_ws.go)
		}
		c.pending += n
		queued++
		if !e.frame { // a fan-out copy is a frame: not looked at
			if code := responseCode(e.head); code != 0 {
				c.countSentLocked(code)
			}
		}
	}
	start := false
	if queued > 0 {
		c.active = true
		start = !c.writing && len(c.q) > 0
		if start {
			c.writing = true
		}
	}
	pending := c.pending
	c.mu.Unlock()

	if dropped > 0 {
		c.srv.stats.offersDropped.Add(dropped)
	}
	if congest {
		c.logger().Info("msrp connection congested", "pending", pending)
	}
	if slow {
		c.close(CloseSlowConsumer, slowErr)
	}
	if failFrom >= 0 {
		closed := fmt.Errorf("relay: conn %d: %w", c.id, ErrConnClosed)
		for i := failFrom; i >= 0; i = st.entries[i].next {
			if e := &st.entries[i]; e.err == nil {
				e.err = closed
			}
		}
	}
	started := false
	if start {
		if paced { // copies to others: let more join them (pacer.go)
			started = c.srv.deferWriter(c)
		} else { // the sender's own answers go at once
			started = c.startWriter()
		}
	}
	if start && !started {
		c.mu.Lock()
		c.writing = false
		c.mu.Unlock()
		for i := first; i >= 0; i = st.entries[i].next {
			if e := &st.entries[i]; e.err == nil {
				e.err = ErrServerClosed // Shutdown closes the connection
			}
		}
	}
}

// flushingReader is the read loop's source: before the Reader waits for
// more input, the batch goes out.
type flushingReader struct{ c *conn }

func (r flushingReader) Read(p []byte) (int, error) {
	r.c.batch.Flush()
	r.c.waitingForMore() // the progress deadline (limits.go)
	n, err := r.c.nc.Read(p)
	r.c.countReadBytes(n) // MSRP octets: tls.Conn's plaintext, a WebSocket message's payload
	return n, err
}
