package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Message is one message of a room as the store keeps it.
type Message struct {
	// Room is the canonical room URI.
	Room string
	// Seq is the message's sequence in the store (the JetStream stream
	// sequence: increasing across all rooms, so a room's sequences have
	// gaps). Set by the store; ignored by Append.
	Seq uint64
	// Received is when the room received the message (set by the caller;
	// kept to the nanosecond, without location or monotonic reading).
	Received time.Time
	// Sender is the sender's URI as the room shows it (the anonymous URI
	// of an anonymous sender).
	Sender string
	// Body is the whole message/cpim document exactly as the sender wrote
	// it, headers and body; it reads back byte for byte.
	Body []byte
}

// Append stores m (m.Seq is ignored) without waiting for the server:
// JetStream publishes are pipelined, and done is called exactly once, from
// a store goroutine, with the sequence the message got or an error:
// ErrUnavailable when the store is down or did not answer (the message may
// then have been stored or not), ErrClosed once Close has begun,
// ErrTooLarge, or another error for an invalid room. Append waits only when
// Config.MaxPending publishes are in flight, and then for a slot at most a
// short bound (500 ms; done then gets ErrUnavailable). The done calls of
// all appends made before Close follow Append order (so do a room's), one
// at a time on one goroutine: done must be quick and must not block. Append
// keeps no reference to m.Body after it returns.
func (s *Store) Append(m Message, done func(seq uint64, err error)) {
	if done == nil {
		done = func(uint64, error) {}
	}
	subj, err := s.pub.msgSubject(m.Room)
	if err != nil {
		s.pub.reject(done, err)
		return
	}
	if len(m.Sender)+len(m.Body) > s.cfg.MaxMessageBytes {
		s.pub.reject(done, fmt.Errorf("%w: %d octets, at most %d", ErrTooLarge, len(m.Sender)+len(m.Body), s.cfg.MaxMessageBytes))
		return
	}
	s.pub.publish(subj, &m, nil, done, false)
}

// settle keeps the cache in step with an append whose done is about
// to be called (completer goroutine, in order).
func (c *cache) settle(e *pubEntry) {
	switch {
	case e.room == "" || !e.sent || !c.enabled():
	case e.err == nil:
		c.add(e.room, cachedMsg{seq: e.seq, at: time.Now(), frame: e.frame})
	default:
		c.drop(e.room) // it may be stored without the cache knowing
	}
}

// pubEntry is one publish in flight or waiting for its done call.
type pubEntry struct {
	done     func(uint64, error)
	seq      uint64
	err      error
	at       time.Duration // when published, since publisher.base
	resolved bool          // seq or err is final
	slot     bool          // holds a slot of publisher.slots
	internal bool          // a cursor write: not in the append counters
	sent     bool          // published (a failure may have been stored all the same)
	room     string        // an append's room, for the cache
	frame    []byte        // a copy of the stored frame, when the room is cached
}

// publisher pipelines JetStream publishes over core NATS: each carries a
// reply subject <inbox>a.<id>, with ids consecutive, and the entries wait
// in a ring in publish order. JetStream acknowledges in that order; the
// ack handler resolves entries, and one completer goroutine pops resolved
// entries from the head and calls their done, so done calls follow
// publish order even when an ack is lost and the entry times out.
type publisher struct {
	s    *Store
	base time.Time

	mu        sync.Mutex
	ring      []pubEntry
	head, n   int
	headID    uint64 // id of ring[head]
	nextID    uint64 // id of the next publish
	delivered uint64 // every id below had its done called
	closed    bool   // Close began: publishes are refused
	stopped   bool   // the completer delivers what remains and exits
	progress  chan struct{}
	buf       []byte
	subjects  map[string]string // room URI → subject, bounded

	slots    chan struct{} // a token per entry holding a slot
	sig      chan struct{} // wakes the completer
	quit     chan struct{} // stops the janitor and the flusher
	exited   chan struct{} // closed by the completer when it exits
	sub      *nats.Subscription
	replyPfx string

	// The linger (Config.Linger): frames held for the flusher, in publish
	// order, their bytes one after another in slab.
	linger    time.Duration
	held      []heldPub
	slab      []byte
	flushSoon bool          // the bounds are reached: publish now
	kick      chan struct{} // wakes the flusher

	lastAckID uint64        // the highest id acknowledged (under mu)
	lastAck   time.Duration // when an acknowledgement last came, since base (under mu)

	appended, failed, stalled atomic.Uint64
	latency                   latency // of acknowledged appends (latency.go)
}

const maxCachedSubjects = 4096

func (p *publisher) init(s *Store) error {
	p.s = s
	p.base = time.Now()
	p.ring = make([]pubEntry, 256)
	p.nextID, p.headID, p.delivered = 1, 1, 1
	p.progress = make(chan struct{})
	p.subjects = make(map[string]string)
	p.slots = make(chan struct{}, s.cfg.MaxPending)
	p.sig = make(chan struct{}, 1)
	p.quit = make(chan struct{})
	p.exited = make(chan struct{})
	p.replyPfx = s.inbox + "a."
	p.linger = s.cfg.Linger
	p.kick = make(chan struct{}, 1)
	sub, err := s.nc.Subscribe(p.replyPfx+"*", p.onAck)
	if err != nil {
		return fmt.Errorf("store: subscribing to acknowledgements: %w", err)
	}
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	p.sub = sub
	return nil
}

// msgSubject is the subject of a room's messages, parley.room.<key>.msg.
func (p *publisher) msgSubject(room string) (string, error) {
	p.mu.Lock()
	subj, ok := p.subjects[room]
	p.mu.Unlock()
	if ok {
		return subj, nil
	}
	key, err := escapeKey(room)
	if err != nil {
		return "", fmt.Errorf("store: room: %w", err)
	}
	subj = msgSubjectPfx + key + msgSubjectSfx
	p.mu.Lock()
	if len(p.subjects) >= maxCachedSubjects {
		clear(p.subjects)
	}
	p.subjects[room] = subj
	p.mu.Unlock()
	return subj, nil
}

// acquire takes a slot, waiting at most the stall bound.
func (p *publisher) acquire() error {
	select {
	case p.slots <- struct{}{}:
		return nil
	default:
	}
	p.stalled.Add(1)
	t := time.NewTimer(p.s.stallTimeout)
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-t.C:
		return fmt.Errorf("%w: %d publishes in flight for %v", ErrUnavailable, cap(p.slots), p.s.stallTimeout)
	case <-p.s.closing:
		return ErrClosed
	}
}

// publish sends m's frame (or raw when m is nil) to subj and queues done.
func (p *publisher) publish(subj string, m *Message, raw []byte, done func(uint64, error), internal bool) {
	if err := p.acquire(); err != nil {
		p.push(pubEntry{done: done, err: err, resolved: true, internal: internal})
		return
	}
	e := pubEntry{done: done, slot: true, internal: internal}
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		<-p.slots
		e.err = ErrClosed
		p.count(&e)
		go done(0, ErrClosed)
		return
	}
	switch {
	case p.closed:
		e.err, e.resolved = ErrClosed, true
	case !p.s.available.Load():
		e.err, e.resolved = ErrUnavailable, true
	case p.linger > 0:
		p.holdLocked(subj, m, raw, &e)
	default:
		data := raw
		if m != nil {
			p.buf = appendFrame(p.buf[:0], m)
			data = p.buf
			e.room = m.Room
			if p.s.cache.has(m.Room) {
				e.frame = append([]byte(nil), p.buf...)
			}
		}
		reply := p.replyPfx + strconv.FormatUint(p.nextID, 10)
		e.at, e.sent = time.Since(p.base), true
		if err := p.s.nc.PublishRequest(subj, reply, data); err != nil {
			e.err, e.resolved = publishError(err), true
		}
		if cap(p.buf) > 64<<10 {
			p.buf = nil // do not keep a large message's buffer
		}
	}
	p.pushLocked(e)
	failed := p.flushSoon && p.flushHeldLocked()
	p.mu.Unlock()
	if e.resolved || failed {
		p.wake()
	}
}

// heldPub is a publish held back for the linger: its id and its frame's
// place in publisher.slab.
type heldPub struct {
	id     uint64
	subj   string
	lo, hi int
}

// Bounds on what is held: past either, the publisher that reaches it
// publishes everything at once instead of waiting for the flusher.
const (
	maxHeldBytes = 32 << 10 // nats.go's write buffer
	maxHeld      = 256
)

// holdLocked queues e's frame for the flusher (p.mu held). The entry counts
// as sent from now on: its acknowledgement timeout runs, and a failure
// before it is published drops the room from the cache like any other.
func (p *publisher) holdLocked(subj string, m *Message, raw []byte, e *pubEntry) {
	lo := len(p.slab)
	if m != nil {
		p.slab = appendFrame(p.slab, m)
		e.room = m.Room
		if p.s.cache.has(m.Room) {
			e.frame = append([]byte(nil), p.slab[lo:]...)
		}
	} else {
		p.slab = append(p.slab, raw...)
	}
	p.held = append(p.held, heldPub{id: p.nextID, subj: subj, lo: lo, hi: len(p.slab)})
	e.at, e.sent = time.Since(p.base), true
	switch {
	case len(p.slab) >= maxHeldBytes || len(p.held) >= maxHeld:
		// Published after pushLocked has put e in the ring.
		p.flushSoon = true
	case len(p.held) == 1:
		select {
		case p.kick <- struct{}{}:
		default:
		}
	}
}

// flushHeldLocked publishes every held frame in order (p.mu held) and
// reports whether one failed (its entry is then resolved: wake the
// completer). Entries already resolved (failed by the janitor or a lost
// connection) are not published.
func (p *publisher) flushHeldLocked() (failed bool) {
	p.flushSoon = false
	for _, h := range p.held {
		if h.id < p.headID || h.id >= p.nextID {
			continue
		}
		e := &p.ring[(p.head+int(h.id-p.headID))%len(p.ring)]
		if e.resolved {
			continue
		}
		reply := p.replyPfx + strconv.FormatUint(h.id, 10)
		if err := p.s.nc.PublishRequest(h.subj, reply, p.slab[h.lo:h.hi]); err != nil {
			e.err, e.resolved, failed = publishError(err), true, true
		}
	}
	clear(p.held)
	p.held = p.held[:0]
	p.slab = p.slab[:0]
	if cap(p.slab) > 4*maxHeldBytes {
		p.slab = nil // do not keep a large message's buffer
	}
	return failed
}

// flushHeld publishes what is held.
func (p *publisher) flushHeld() {
	p.mu.Lock()
	failed := p.flushHeldLocked()
	p.mu.Unlock()
	if failed {
		p.wake()
	}
}

// flusher is the linger's goroutine: kicked when a first frame is held,
// it waits the linger, so that the appends of a busy moment go out
// together (one write to NATS, one pass of the stream's loop, one flush of
// the acknowledgements instead of one each), then publishes them all. It
// exits when the publisher drains, publishing what is left.
func (p *publisher) flusher() {
	defer p.s.wg.Done()
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		select {
		case <-p.kick:
		case <-p.quit:
			p.flushHeld()
			return
		}
		t.Reset(p.linger)
		select {
		case <-t.C:
		case <-p.quit:
			t.Stop()
		}
		p.flushHeld()
	}
}

func publishError(err error) error {
	switch {
	case errors.Is(err, nats.ErrConnectionClosed):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	case errors.Is(err, nats.ErrMaxPayload):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	default:
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
}

// reject queues a done call for an append that was never published.
func (p *publisher) reject(done func(uint64, error), err error) {
	p.push(pubEntry{done: done, err: err, resolved: true})
}

func (p *publisher) push(e pubEntry) {
	p.mu.Lock()
	if p.stopped {
		// The completer is gone: Close has finished delivering.
		p.mu.Unlock()
		if e.slot {
			<-p.slots
		}
		p.count(&e)
		go e.done(0, e.err)
		return
	}
	p.pushLocked(e)
	p.mu.Unlock()
	if e.resolved {
		p.wake()
	}
}

// pushLocked appends e to the ring with id nextID.
func (p *publisher) pushLocked(e pubEntry) {
	if p.n == len(p.ring) {
		ring := make([]pubEntry, 2*len(p.ring))
		k := copy(ring, p.ring[p.head:])
		copy(ring[k:], p.ring[:p.head])
		p.ring, p.head = ring, 0
	}
	p.ring[(p.head+p.n)%len(p.ring)] = e
	p.n++
	p.nextID++
}

func (p *publisher) wake() {
	select {
	case p.sig <- struct{}{}:
	default:
	}
}

// onAck resolves the entry an acknowledgement answers.
func (p *publisher) onAck(m *nats.Msg) {
	id, err := strconv.ParseUint(m.Subject[len(p.replyPfx):], 10, 64)
	if err != nil {
		return
	}
	seq, aerr := parseAck(m)
	p.mu.Lock()
	p.lastAckID, p.lastAck = max(p.lastAckID, id), time.Since(p.base)
	if id >= p.headID && id < p.nextID {
		e := &p.ring[(p.head+int(id-p.headID))%len(p.ring)]
		if !e.resolved {
			e.seq, e.err, e.resolved = seq, aerr, true
		}
	}
	p.mu.Unlock()
	p.wake()
}

var seqField = []byte(`"seq":`)

// parseAck reads a JetStream publish acknowledgement:
// {"stream":"S","seq":N,...} or {"error":{...}}, or a no-responders status.
func parseAck(m *nats.Msg) (uint64, error) {
	if len(m.Data) == 0 {
		if m.Header.Get("Status") == "503" {
			return 0, fmt.Errorf("%w: no stream answered (no responders)", ErrUnavailable)
		}
		return 0, fmt.Errorf("store: empty acknowledgement (status %q)", m.Header.Get("Status"))
	}
	if !bytes.Contains(m.Data, []byte(`"error"`)) {
		if i := bytes.Index(m.Data, seqField); i >= 0 {
			var seq uint64
			j := i + len(seqField)
			for ; j < len(m.Data) && '0' <= m.Data[j] && m.Data[j] <= '9'; j++ {
				seq = seq*10 + uint64(m.Data[j]-'0')
			}
			if seq > 0 {
				return seq, nil
			}
		}
	}
	var ack struct {
		Seq   uint64 `json:"seq"`
		Error *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(m.Data, &ack); err != nil {
		return 0, fmt.Errorf("store: bad acknowledgement %q: %w", m.Data, err)
	}
	if ack.Error != nil {
		err := fmt.Errorf("store: JetStream refused the message: %s (%d/%d)", ack.Error.Description, ack.Error.Code, ack.Error.ErrCode)
		if ack.Error.Code == 503 {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return 0, err
	}
	if ack.Seq == 0 {
		return 0, fmt.Errorf("store: acknowledgement without a sequence: %q", m.Data)
	}
	return ack.Seq, nil
}

// complete is the completer goroutine: it calls the done of resolved
// entries at the head of the ring, in order, and exits once stopped with
// nothing left.
func (p *publisher) complete() {
	defer p.s.wg.Done()
	defer close(p.exited)
	var batch []pubEntry
	for range p.sig {
		for {
			p.mu.Lock()
			batch = batch[:0]
			for p.n > 0 && p.ring[p.head].resolved {
				batch = append(batch, p.ring[p.head])
				p.ring[p.head] = pubEntry{}
				p.head = (p.head + 1) % len(p.ring)
				p.n--
				p.headID++
			}
			last := p.headID
			exit := p.stopped && p.n == 0
			p.mu.Unlock()
			for i := range batch {
				e := &batch[i]
				p.count(e)
				p.s.cache.settle(e)
				e.done(e.seq, e.err)
				if e.slot {
					<-p.slots
				}
				*e = pubEntry{}
			}
			if len(batch) > 0 {
				p.mu.Lock()
				p.delivered = last
				close(p.progress)
				p.progress = make(chan struct{})
				p.mu.Unlock()
			}
			if exit {
				return
			}
			if len(batch) == 0 {
				break
			}
		}
	}
}

func (p *publisher) count(e *pubEntry) {
	if e.internal {
		return
	}
	if e.err == nil {
		p.appended.Add(1)
		if e.sent {
			p.latency.observe(time.Since(p.base) - e.at)
		}
	} else {
		p.failed.Add(1)
	}
}

// janitor fails entries whose acknowledgement is overdue: sent longer
// than the bound ago, and either a later publish was acknowledged (JetStream
// answers in order: this one's answer was lost) or none was for as long
// (the server stopped answering). A pipeline that is merely slow (an
// fsync per message on a busy disk) keeps its appends.
func (p *publisher) janitor() {
	defer p.s.wg.Done()
	t := time.NewTicker(max(p.s.ackTimeout/8, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
		}
		cutoff := time.Since(p.base) - p.s.ackTimeout
		expired := false
		p.mu.Lock()
		silent := p.lastAck < cutoff
		for i := 0; i < p.n; i++ {
			e := &p.ring[(p.head+i)%len(p.ring)]
			if e.resolved {
				continue
			}
			if e.at > cutoff || !silent && p.headID+uint64(i) > p.lastAckID {
				break
			}
			e.err = fmt.Errorf("%w: no acknowledgement within %v", ErrUnavailable, p.s.ackTimeout)
			e.resolved, expired = true, true
		}
		p.mu.Unlock()
		if expired {
			p.wake()
		}
	}
}

// failInFlight resolves every entry still waiting for its ack with err
// and returns how many there were.
func (p *publisher) failInFlight(err error) int {
	p.mu.Lock()
	failed := 0
	for i := 0; i < p.n; i++ {
		e := &p.ring[(p.head+i)%len(p.ring)]
		if !e.resolved {
			e.err, e.resolved = err, true
			failed++
		}
	}
	p.mu.Unlock()
	if failed > 0 {
		p.wake()
	}
	return failed
}

// barrier returns the id below which every publish made so far lies.
func (p *publisher) barrier() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nextID
}

// waitDelivered waits until every entry below id had its done called.
func (p *publisher) waitDelivered(ctx context.Context, id uint64) error {
	for {
		p.mu.Lock()
		if p.delivered >= id || p.stopped {
			p.mu.Unlock()
			return nil
		}
		ch := p.progress
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (p *publisher) inFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// drain refuses new publishes, waits for those in flight (failing them
// with ErrClosed when ctx ends first), then stops the completer and the
// janitor.
func (p *publisher) drain(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	target := p.nextID
	failed := p.flushHeldLocked()
	p.mu.Unlock()
	if failed {
		p.wake()
	}
	err := p.waitDelivered(ctx, target)
	if err != nil {
		n := p.failInFlight(fmt.Errorf("%w: closed before the acknowledgement came", ErrClosed))
		_ = p.waitDelivered(context.Background(), target)
		err = fmt.Errorf("store: close: %d publishes unacknowledged: %w", n, err)
	}
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.wake()
	<-p.exited
	close(p.quit)
	if p.sub != nil {
		_ = p.sub.Unsubscribe()
	}
	return err
}
