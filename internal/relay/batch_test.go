package relay

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// Tests of Batch (batch.go): what a read goroutine queues during
// HandleRequest through Session.Batch goes out per destination in the order
// of the calls, the batch's own connection last, before the read goroutine
// waits for input, under push's rules, and leaves nothing behind in the pool.

// setHandler makes rec's HandleRequest call fn on the read goroutine and
// answer with what it returns.
func setHandler(rec *recorder, fn func(*Session, *msrp.Message) int) {
	rec.mu.Lock()
	rec.code = fn
	rec.mu.Unlock()
}

// copyEnv is the envelope of a copy framed for dst, as fan-out frames it.
func copyEnv(dst *Session, mid string) msrp.Envelope {
	return msrp.Envelope{
		ToPath:        msrp.FormatPath(dst.PeerPath()),
		FromPath:      dst.LocalURI().String(),
		MessageID:     mid,
		FailureReport: "no",
		ContentType:   "text/plain",
	}
}

func whole(n int) msrp.ByteRange { return msrp.ByteRange{Start: 1, End: int64(n), Total: int64(n)} }

// queueCopy adds one framed copy of body for dst through b; o (if not nil)
// records its outcome under tag.
func queueCopy(b *Batch, dst *Session, droppable bool, ids *msrp.IDSource, mid string, body []byte, o *outcomes, tag any) {
	env := copyEnv(dst, mid)
	var done func(any, error)
	if o != nil {
		done = o.done
	}
	b.QueueFrame(dst, droppable, &env, ids, whole(len(body)), msrp.FlagEnd, body, done, tag)
}

// frameSize is what queueCopy's entry counts against its connection's limits.
func frameSize(dst *Session, mid string, body []byte) int {
	var ids msrp.IDSource
	env := copyEnv(dst, mid)
	_, f := env.AppendFrame(nil, &ids, whole(len(body)), msrp.FlagEnd)
	return len(f.Head) + len(body) + len(f.End)
}

// rawTo is a request for dst's peer to queue with Batch.Send, without a
// transaction id (Send gives it one).
func rawTo(dst *Session, body string) *msrp.Message {
	return msrptest.Send(dst.PeerPath()[0], dst.LocalURI(), "text/plain", []byte(body), msrptest.WithTID(""))
}

// trigger sends a SEND with body from p to s; the handler tells triggers
// apart by their bodies.
func trigger(p *msrptest.Peer, s *Session, body string) *msrp.Message {
	m := msrptest.Send(s.LocalURI(), p.URI, "text/plain", []byte(body))
	p.Send(m)
	return m
}

// expectBodies reads len(want) messages from p and checks that they are
// requests with these bodies, in this order.
func expectBodies(t *testing.T, p *msrptest.Peer, who string, want []string) {
	t.Helper()
	for i, w := range want {
		m := p.Expect()
		if !m.IsRequest() || string(m.Body) != w {
			t.Fatalf("%s: message %d of %d: got %s %q, want a request with body %q", who, i, len(want), msrptest.Describe(m), m.Body, w)
		}
	}
}

// outcomes records the done calls of QueueFrame entries.
type outcomes struct {
	mu    sync.Mutex
	errs  map[any][]error
	calls int
	// check, if set (before any traffic), is called first by done, outside mu.
	check func(tag any, err error)
}

func newOutcomes() *outcomes { return &outcomes{errs: map[any][]error{}} }

func (o *outcomes) done(tag any, err error) {
	if o.check != nil {
		o.check(tag, err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.errs[tag] = append(o.errs[tag], err)
	o.calls++
}

func (o *outcomes) of(tag any) []error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]error(nil), o.errs[tag]...)
}

func (o *outcomes) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls
}

// once checks that tag's done was called exactly once, and returns its error.
func (o *outcomes) once(t *testing.T, tag any) error {
	t.Helper()
	errs := o.of(tag)
	if len(errs) != 1 {
		t.Errorf("done(%v) called %d times (%v), want once", tag, len(errs), errs)
		return nil
	}
	return errs[0]
}

// lockFree reports whether mu can be taken within waitTimeout: a done
// function that finds a lock held by its own goroutine gives up here
// instead of deadlocking (others, such as a writer, hold it briefly).
func lockFree(mu *sync.Mutex) bool {
	deadline := time.Now().Add(waitTimeout)
	for !mu.TryLock() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Microsecond)
	}
	mu.Unlock()
	return true
}

func rlockFree(mu *sync.RWMutex) bool {
	deadline := time.Now().Add(waitTimeout)
	for !mu.TryRLock() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Microsecond)
	}
	mu.RUnlock()
	return true
}

// noLocksCheck is a done check that fails the test if done is called with
// the server's lock or a lock of one of conns held.
func noLocksCheck(t *testing.T, srv *Server, conns ...*conn) func(any, error) {
	return func(tag any, _ error) {
		if !rlockFree(&srv.mu) {
			t.Errorf("done(%v) called with the server's lock held", tag)
		}
		for _, c := range conns {
			if !lockFree(&c.mu) {
				t.Errorf("done(%v) called with conn %d's lock held", tag, c.id)
			}
		}
	}
}

// waitDrained waits until c has written everything queued to it.
func waitDrained(t *testing.T, c *conn) {
	t.Helper()
	waitFor(t, fmt.Sprintf("conn %d to drain", c.id), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return !c.writing && len(c.q) == 0 && c.pending == 0
	})
}

// Promise 1: per destination connection, output comes out in the order of
// the Batch calls, QueueFrame and Send mixed, for the batch's own
// connection too, across the automatic flushes at maxBatchEntries (reached
// once by a QueueFrame, once by a Send); every QueueFrame entry's done is
// called exactly once; Send gives a request without a transaction id one.
func TestBatchOrderPerDestination(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{}, rec)
	aSess, a := boundSession(t, srv, "alice")
	bSess, b := boundSession(t, srv, "bob")
	cSess, c := boundSession(t, srv, "carol")

	const (
		n      = 2*maxBatchEntries + 200
		first  = maxBatchEntries - 1   // this entry fills the batch: a QueueFrame
		second = 2*maxBatchEntries - 1 // and this one again: a Send
	)
	dstOf := func(i int) *Session {
		switch {
		case i%10 == 9:
			return aSess // the batch's own connection
		case i%3 == 0:
			return cSess
		}
		return bSess
	}
	isFrame := func(i int) bool { return i == first || dstOf(i) != aSess && i%2 == 0 && i != second }
	if dstOf(first) == aSess || dstOf(second) == aSess {
		t.Fatal("bad setup")
	}
	body := func(i int) string { return fmt.Sprintf("e%05d", i) }
	mid := func(i int) string { return fmt.Sprintf("m%05d", i) }

	o := newOutcomes()
	var (
		ids             msrp.IDSource
		held            [4]atomic.Int64 // entries held just before and after first and second
		emptyTID        atomic.Bool
		sendErrs, calls atomic.Int64
	)
	setHandler(rec, func(s *Session, _ *msrp.Message) int {
		calls.Add(1)
		bt := s.Batch()
		for i := range n {
			dst := dstOf(i)
			if isFrame(i) {
				queueCopy(bt, dst, i%4 == 0, &ids, mid(i), []byte(body(i)), o, i)
			} else {
				r := rawTo(dst, body(i))
				if err := bt.Send(dst, r); err != nil {
					sendErrs.Add(1)
				}
				if r.TID == "" {
					emptyTID.Store(true)
				}
			}
			for k, at := range []int{first, second} {
				switch {
				case i == at-1:
					held[2*k].Store(int64(len(bt.st.entries)))
				case i == at && bt.st != nil:
					held[2*k+1].Store(int64(len(bt.st.entries)))
				}
			}
		}
		return msrp.StatusOK
	})
	m := trigger(a, aSess, "go")

	wantOf := func(dst *Session) []string {
		var w []string
		for i := range n {
			if dstOf(i) == dst {
				w = append(w, body(i))
			}
		}
		return w
	}
	expectFrames := func(p *msrptest.Peer, who string, dst *Session) {
		t.Helper()
		for i := range n {
			if dstOf(i) != dst {
				continue
			}
			got := p.Expect()
			if !got.IsRequest() || string(got.Body) != body(i) {
				t.Fatalf("%s: got %s %q, want entry %d (%q): per-destination order broken", who, msrptest.Describe(got), got.Body, i, body(i))
			}
			if isFrame(i) && got.MessageID() != mid(i) {
				t.Fatalf("%s: entry %d has Message-ID %q, want %q", who, i, got.MessageID(), mid(i))
			}
			if got.TID == "" {
				t.Fatalf("%s: entry %d without a transaction id", who, i)
			}
		}
	}
	expectFrames(b, "bob", bSess)
	expectFrames(c, "carol", cSess)
	expectBodies(t, a, "alice", wantOf(aSess))
	a.ExpectResponse(m.TID, msrp.StatusOK) // after the batch's own output

	if calls.Load() != 1 {
		t.Fatalf("HandleRequest called %d times", calls.Load())
	}
	for k, at := range []int{first, second} {
		if got := held[2*k].Load(); got != maxBatchEntries-1 {
			t.Errorf("batch held %d entries before entry %d, want %d", got, at, maxBatchEntries-1)
		}
		if got := held[2*k+1].Load(); got != 0 {
			t.Errorf("batch held %d entries after entry %d (QueueFrame %v): no automatic flush", got, at, isFrame(at))
		}
	}
	if emptyTID.Load() {
		t.Error("Batch.Send left a request without a transaction id")
	}
	if sendErrs.Load() != 0 {
		t.Errorf("%d Batch.Send calls failed", sendErrs.Load())
	}
	frames := 0
	for i := range n {
		if isFrame(i) {
			frames++
			if err := o.once(t, i); err != nil {
				t.Errorf("entry %d: done(%v)", i, err)
			}
		}
	}
	if o.count() != frames {
		t.Errorf("%d done calls for %d QueueFrame entries", o.count(), frames)
	}
}

// Promise 1 with many destinations in changing orders: the batch finds each
// connection's group whether fan-out repeats its order (the cursor) or not
// (the hash table, grown past its first size), and every entry reaches its
// own connection, in order.
func TestBatchOrderManyDestinations(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{}, rec)
	aSess, a := boundSession(t, srv, "sender")
	const dests, rounds = 70, 6
	sess := make([]*Session, dests)
	peers := make([]*msrptest.Peer, dests)
	for k := range dests {
		sess[k], peers[k] = boundSession(t, srv, fmt.Sprintf("r%02d", k))
	}
	body := func(r, k int) string { return fmt.Sprintf("r%d-k%02d", r, k) }
	raw := func(r, k int) bool { return r%2 == 1 && k%5 == 0 }

	rng := rand.New(rand.NewPCG(7, 11)) // used on the read goroutine only
	var maxGroups atomic.Int64
	setHandler(rec, func(s *Session, _ *msrp.Message) int {
		bt := s.Batch()
		var ids msrp.IDSource
		for r := range rounds {
			order := make([]int, dests)
			for k := range order {
				order[k] = k
			}
			if r >= 2 { // rounds 0 and 1 repeat the order, as fan-out does
				rng.Shuffle(dests, func(i, j int) { order[i], order[j] = order[j], order[i] })
			}
			for _, k := range order {
				if raw(r, k) {
					_ = bt.Send(sess[k], rawTo(sess[k], body(r, k)))
				} else {
					queueCopy(bt, sess[k], r%3 == 0, &ids, fmt.Sprintf("r%dk%02d", r, k), []byte(body(r, k)), nil, nil)
				}
			}
		}
		maxGroups.Store(int64(len(bt.st.groups)))
		return msrp.StatusOK
	})
	m := trigger(a, aSess, "go")
	for k, p := range peers {
		want := msrp.FormatPath(sess[k].PeerPath())
		for r := range rounds {
			got := p.Expect()
			if !got.IsRequest() || string(got.Body) != body(r, k) {
				t.Fatalf("destination %d: got %s %q, want %q", k, msrptest.Describe(got), got.Body, body(r, k))
			}
			if tp := got.Header.Get(msrp.HeaderToPath); tp != want {
				t.Fatalf("destination %d: entry for %q arrived on its connection", k, tp)
			}
		}
	}
	a.ExpectResponse(m.TID, msrp.StatusOK)
	if g := maxGroups.Load(); g != dests {
		t.Errorf("batch had %d groups for %d destinations", g, dests)
	}
}

// Promise 2: output for the batch's own connection is queued after the
// copies to the other connections, even when it was added first; so when
// the sender reads anything of it, every copy's outcome has been reported.
func TestBatchOwnConnectionLast(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{IdleSweep: time.Hour}, rec)
	aSess, a := boundSession(t, srv, "alice")
	bSess, b := boundSession(t, srv, "bob")
	cSess, c := boundSession(t, srv, "carol")

	// From here on, alice's connection's active flag says whether anything
	// was queued to it.
	ac := aSess.conn.Load()
	waitDrained(t, ac)
	ac.releaseIfIdle()
	ac.mu.Lock()
	active := ac.active
	ac.mu.Unlock()
	if active {
		t.Fatal("alice's connection still marked active")
	}

	var copiesReported, ownFirst atomic.Int64
	o := newOutcomes()
	o.check = func(tag any, _ error) {
		if tag == "own" {
			return
		}
		ac.mu.Lock()
		if ac.active {
			ownFirst.Add(1) // output for alice was queued before this copy's outcome
		}
		ac.mu.Unlock()
		copiesReported.Add(1)
	}
	var ids msrp.IDSource
	setHandler(rec, func(s *Session, _ *msrp.Message) int {
		bt := s.Batch()
		_ = bt.Send(s, rawTo(s, "own-first")) // added before every copy
		queueCopy(bt, bSess, false, &ids, "mb", []byte("copy-bob"), o, "bob")
		queueCopy(bt, s, false, &ids, "ma", []byte("own-copy"), o, "own")
		_ = bt.Send(bSess, rawTo(bSess, "raw-bob"))
		queueCopy(bt, cSess, true, &ids, "mc", []byte("copy-carol"), o, "carol")
		return msrp.StatusOK
	})
	m := trigger(a, aSess, "go")

	expectBodies(t, a, "alice", []string{"own-first"})
	if n := copiesReported.Load(); n != 2 {
		t.Errorf("alice read her first output with %d of 2 copies reported: own connection not last", n)
	}
	expectBodies(t, a, "alice", []string{"own-copy"})
	a.ExpectResponse(m.TID, msrp.StatusOK)
	if n := ownFirst.Load(); n != 0 {
		t.Errorf("%d copies' outcomes came after output was queued to the batch's own connection", n)
	}
	expectBodies(t, b, "bob", []string{"copy-bob", "raw-bob"})
	expectBodies(t, c, "carol", []string{"copy-carol"})
	for _, tag := range []string{"bob", "carol", "own"} {
		if err := o.once(t, tag); err != nil {
			t.Errorf("%s: done(%v)", tag, err)
		}
	}
}

// Promise 3: nothing queued through the batch waits for more input from
// the sender: neither after a message read with a pooled buffer (the idle
// path), nor once the Reader has grown its buffer for a large message and
// waits in its own Read (flushingReader).
func TestBatchFlushedBeforeWaitingForInput(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{}, rec)
	aSess, a := boundSession(t, srv, "alice")
	bSess, b := boundSession(t, srv, "bob")

	var bufSize atomic.Int64
	var ids msrp.IDSource
	setHandler(rec, func(s *Session, m *msrp.Message) int {
		bufSize.Store(int64(s.conn.Load().rd.BufferSize()))
		queueCopy(s.Batch(), bSess, true, &ids, "m", bytes.Clone(m.Body), nil, nil)
		return msrp.StatusOK
	})
	large := string(bytes.Repeat([]byte("L"), 6*readBufSize))
	for i, body := range []string{"small-1", large, "small-2", "small-3"} {
		m := trigger(a, aSess, body)
		// The sender sends nothing more until its copy has arrived.
		expectBodies(t, b, "bob", []string{body})
		a.ExpectResponse(m.TID, msrp.StatusOK)
		if i == 2 && bufSize.Load() <= readBufSize {
			t.Fatalf("read buffer of %d bytes after a large message: the grown-buffer path is not exercised", bufSize.Load())
		}
	}
}

// Promise 3: a message read in part does not hold back the copies of the
// complete ones before it: the read goroutine flushes before it waits for
// the rest (flushingReader).
func TestBatchPartialMessageDoesNotHoldBack(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{}, rec)
	aSess, a := boundSession(t, srv, "alice")
	bSess, b := boundSession(t, srv, "bob")

	var buffered atomic.Int64
	var ids msrp.IDSource
	setHandler(rec, func(s *Session, m *msrp.Message) int {
		if string(m.Body) == "first" {
			buffered.Store(int64(s.conn.Load().rd.Buffered()))
		}
		queueCopy(s.Batch(), bSess, false, &ids, "m", bytes.Clone(m.Body), nil, nil)
		return msrp.StatusOK
	})
	m1 := msrptest.Send(aSess.LocalURI(), a.URI, "text/plain", []byte("first"))
	m2 := msrptest.Send(aSess.LocalURI(), a.URI, "text/plain", []byte("second"))
	w2 := m2.Bytes()
	half := len(w2) / 2
	// One write: the first message and half of the second.
	a.SendRaw(append(m1.Bytes(), w2[:half]...))
	expectBodies(t, b, "bob", []string{"first"})
	a.ExpectResponse(m1.TID, msrp.StatusOK)
	if buffered.Load() == 0 {
		t.Fatal("the first message was read alone: the partial-message path is not exercised")
	}
	a.SendRaw(w2[half:])
	expectBodies(t, b, "bob", []string{"second"})
	a.ExpectResponse(m2.TID, msrp.StatusOK)
}

// Promise 3: when the read side ends, what the batch holds is flushed:
// after a protocol error found in what was already read (the read loop
// ends without reading again), and when the sender closes.
func TestBatchFlushedWhenReadSideEnds(t *testing.T) {
	t.Run("protocol error", func(t *testing.T) {
		rec := &recorder{}
		srv := startServer(t, Config{}, rec)
		aSess, a := boundSession(t, srv, "alice")
		bSess, b := boundSession(t, srv, "bob")
		var buffered atomic.Int64
		var ids msrp.IDSource
		setHandler(rec, func(s *Session, m *msrp.Message) int {
			buffered.Store(int64(s.conn.Load().rd.Buffered()))
			queueCopy(s.Batch(), bSess, false, &ids, "m", bytes.Clone(m.Body), nil, nil)
			return msrp.StatusOK
		})
		m := msrptest.Send(aSess.LocalURI(), a.URI, "text/plain", []byte("last words"))
		a.SendRaw(append(m.Bytes(), "garbage\r\n"...)) // one write
		expectBodies(t, b, "bob", []string{"last words"})
		rec.waitEnded(t, aSess, CloseProtocolError)
		if buffered.Load() == 0 {
			t.Fatal("the message was read without what follows: the end-of-loop flush is not exercised")
		}
	})
	t.Run("sender closes", func(t *testing.T) {
		rec := &recorder{}
		srv := startServer(t, Config{}, rec)
		aSess, a := boundSession(t, srv, "alice")
		bSess, b := boundSession(t, srv, "bob")
		var ids msrp.IDSource
		setHandler(rec, func(s *Session, m *msrp.Message) int {
			queueCopy(s.Batch(), bSess, false, &ids, "m", bytes.Clone(m.Body), nil, nil)
			return msrp.StatusOK
		})
		m1 := msrptest.Send(aSess.LocalURI(), a.URI, "text/plain", []byte("one"))
		m2 := msrptest.Send(aSess.LocalURI(), a.URI, "text/plain", []byte("two"))
		a.SendRaw(append(m1.Bytes(), m2.Bytes()...))
		a.Close()
		expectBodies(t, b, "bob", []string{"one", "two"})
		// (Not ClosePeer for sure: writing the 200s may reset the socket first.)
		waitFor(t, "alice's session to end", func() bool { return len(rec.endings(aSess)) > 0 })
	})
}

// Promise 4: at the flush, droppable entries for a congested connection are
// dropped with ErrCongested (reported to done, counted in the Stats), as
// OfferFrame would drop them then: the congestion mark counts what the
// same flush queued before them; non-droppable ones are still queued. done
// runs with no lock held.
func TestBatchCongestionAtFlush(t *testing.T) {
	const congestedBytes = 16 << 10
	rec := &recorder{}
	srv := startServer(t, Config{MaxPendingBytes: 1 << 20, CongestedBytes: congestedBytes}, rec)
	aSess, a := boundSession(t, srv, "alice")
	bSess, b := boundSession(t, srv, "bob")
	ac, bc := aSess.conn.Load(), bSess.conn.Load()
	waitDrained(t, bc)

	const n = 40
	droppable := func(i int) bool { return i%4 != 3 }
	mid := func(i int) string { return fmt.Sprintf("m%03d", i) }
	body := func(i int) []byte { return append([]byte(fmt.Sprintf("%03d:", i)), bytes.Repeat([]byte("c"), 996)...) }

	// What OfferFrame and EnqueueFrame would do, one after the other.
	want := make([]error, n)
	var wantBodies []string
	pending, congested, drops := 0, false, 0
	for i := range n {
		size := frameSize(bSess, mid(i), body(i))
		if droppable(i) && (congested || pending+size > congestedBytes) {
			want[i], congested = ErrCongested, true
			drops++
			continue
		}
		pending += size
		wantBodies = append(wantBodies, string(body(i)))
	}
	if drops == 0 || drops == n-n/4 {
		t.Fatalf("bad setup: %d of %d dropped", drops, n)
	}

	o := newOutcomes()
	o.check = noLocksCheck(t, srv, ac, bc)
	var ids msrp.IDSource
	setHandler(rec, func(s *Session, m *msrp.Message) int {
		bt := s.Batch()
		switch string(m.Body) {
		case "go":
			for i := range n {
				queueCopy(bt, bSess, droppable(i), &ids, mid(i), body(i), o, i)
			}
		case "marker":
			queueCopy(bt, bSess, false, &ids, "marker", []byte("marker"), o, "marker")
		}
		return msrp.StatusOK
	})
	m := trigger(a, aSess, "go")
	a.ExpectResponse(m.TID, msrp.StatusOK)
	for i := range n {
		if got := o.once(t, i); got != want[i] {
			t.Errorf("entry %d (droppable %v): done(%v), want done(%v)", i, droppable(i), got, want[i])
		}
	}
	st := srv.Stats()
	if st.OffersDropped != uint64(drops) || st.Congested != 1 {
		t.Errorf("Stats: OffersDropped %d, Congested %d; want %d, 1", st.OffersDropped, st.Congested, drops)
	}
	expectBodies(t, b, "bob", wantBodies)
	// Nothing else was queued: the next thing bob reads is the marker.
	m = trigger(a, aSess, "marker")
	a.ExpectResponse(m.TID, msrp.StatusOK)
	expectBodies(t, b, "bob", []string{"marker"})
	if err := o.once(t, "marker"); err != nil {
		t.Errorf("marker: done(%v)", err)
	}
}

// Promise 4: a non-droppable entry over the hard cap closes its connection
// as a slow consumer, as EnqueueFrame would: its done reports
// ErrSlowConsumer, the entries after it ErrConnClosed (droppable or not),
// the ones before it nil; the sender is not affected.
func TestBatchHardCapClosesSlowConsumer(t *testing.T) {
	const maxPending = 16 << 10
	rec := &recorder{}
	srv := startServer(t, Config{MaxPendingBytes: maxPending}, rec)
	aSess, a := boundSession(t, srv, "alice")
	bSess, b := boundSession(t, srv, "bob")
	ac, bc := aSess.conn.Load(), bSess.conn.Load()
	waitDrained(t, bc)

	const n = 8
	droppable := func(i int) bool { return i == n-1 }
	mid := func(i int) string { return fmt.Sprintf("m%03d", i) }
	body := func(i int) []byte { return append([]byte(fmt.Sprintf("%03d:", i)), bytes.Repeat([]byte("s"), 3996)...) }
	slowAt := -1
	for i, pending := 0, 0; i < n; i++ {
		pending += frameSize(bSess, mid(i), body(i))
		if pending > maxPending {
			slowAt = i
			break
		}
	}
	if slowAt < 1 || slowAt >= n-2 {
		t.Fatalf("bad setup: the cap is passed at entry %d", slowAt)
	}

	o := newOutcomes()
	o.check = noLocksCheck(t, srv, ac, bc)
	var ids msrp.IDSource
	var sendErr atomic.Value
	setHandler(rec, func(s *Session, _ *msrp.Message) int {
		bt := s.Batch()
		for i := range n {
			queueCopy(bt, bSess, droppable(i), &ids, mid(i), body(i), o, i)
		}
		if err := bt.Send(bSess, rawTo(bSess, "after")); err != nil {
			sendErr.Store(err)
		}
		return msrp.StatusOK
	})
	m := trigger(a, aSess, "go")
	a.ExpectResponse(m.TID, msrp.StatusOK)
	for i := range n {
		err := o.once(t, i)
		switch {
		case i < slowAt && err != nil:
			t.Errorf("entry %d (under the cap): done(%v), want nil", i, err)
		case i == slowAt && !errors.Is(err, ErrSlowConsumer):
			t.Errorf("entry %d (over the cap): done(%v), want ErrSlowConsumer", i, err)
		case i > slowAt && !errors.Is(err, ErrConnClosed):
			t.Errorf("entry %d (after the close, droppable %v): done(%v), want ErrConnClosed", i, droppable(i), err)
		}
	}
	if err := sendErr.Load(); err != nil {
		t.Errorf("Batch.Send before the flush: %v", err)
	}
	rec.waitEnded(t, bSess, CloseSlowConsumer)
	if got := srv.Stats().ConnsClosed[CloseSlowConsumer]; got != 1 {
		t.Errorf("ConnsClosed[slow consumer] = %d, want 1", got)
	}
	expectEOF(t, b)
	// The sender goes on.
	setHandler(rec, func(*Session, *msrp.Message) int { return msrp.StatusOK })
	m = trigger(a, aSess, "still here")
	a.ExpectResponse(m.TID, msrp.StatusOK)
	if !aSess.Bound() {
		t.Error("the sender's session ended")
	}
}

// Promise 4: an entry for a connection that closed before the flush writes
// nothing and reports an error to done (ErrConnClosed); an entry for a
// session that had ended or was never bound when added reports
// ErrSessionClosed or ErrNotBound. done is called exactly once each.
func TestBatchDestinationClosedBeforeFlush(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{}, rec)
	aSess, a := boundSession(t, srv, "alice")
	bSess, b := boundSession(t, srv, "bob")
	unbound := newSession(t, srv, peerURI("nobody"))
	ac, bc := aSess.conn.Load(), bSess.conn.Load()
	waitDrained(t, bc)

	o := newOutcomes()
	o.check = noLocksCheck(t, srv, ac, bc)
	var ids msrp.IDSource
	var sendBefore, sendAfter atomic.Value
	setHandler(rec, func(s *Session, _ *msrp.Message) int {
		bt := s.Batch()
		queueCopy(bt, bSess, false, &ids, "m1", []byte("enqueued"), o, "enqueued")
		queueCopy(bt, bSess, true, &ids, "m2", []byte("offered"), o, "offered")
		if err := bt.Send(bSess, rawTo(bSess, "raw")); err != nil {
			sendBefore.Store(err)
		}
		bSess.Close(CloseNormal) // its only session: the connection closes
		queueCopy(bt, bSess, false, &ids, "m3", []byte("ended"), o, "ended")
		if err := bt.Send(bSess, rawTo(bSess, "raw2")); err != nil {
			sendAfter.Store(err)
		}
		queueCopy(bt, unbound, true, &ids, "m4", []byte("unbound"), o, "unbound")
		return msrp.StatusOK
	})
	m := trigger(a, aSess, "go")
	a.ExpectResponse(m.TID, msrp.StatusOK)
	// Entries refused when they were added hear of it after the flush has
	// queued the sender's own output, so the 200 can arrive first.
	waitFor(t, "every done call", func() bool { return o.count() >= 4 })

	for _, tag := range []string{"enqueued", "offered"} {
		if err := o.once(t, tag); !errors.Is(err, ErrConnClosed) {
			t.Errorf("%s: done(%v), want ErrConnClosed", tag, err)
		}
	}
	if err := o.once(t, "ended"); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("ended: done(%v), want ErrSessionClosed", err)
	}
	if err := o.once(t, "unbound"); !errors.Is(err, ErrNotBound) {
		t.Errorf("unbound: done(%v), want ErrNotBound", err)
	}
	if o.count() != 4 {
		t.Errorf("%d done calls for 4 entries", o.count())
	}
	if err := sendBefore.Load(); err != nil {
		t.Errorf("Batch.Send to a bound session: %v", err)
	}
	if err, _ := sendAfter.Load().(error); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("Batch.Send to an ended session: %v, want ErrSessionClosed", err)
	}
	b.ExpectClosed() // fails if anything was written
}

// Promise 5: a flushed batch goes back to the pool empty: each
// HandleRequest starts without a batch, and a later batch (with other
// destinations) neither repeats nor reports the entries of an earlier one.
func TestBatchPoolHygiene(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{}, rec)
	aSess, a := boundSession(t, srv, "alice")
	bSess, b := boundSession(t, srv, "bob")
	cSess, c := boundSession(t, srv, "carol")
	dSess, d := boundSession(t, srv, "dave")

	plan := map[string][]*Session{
		"1": {bSess, cSess},
		"2": {dSess},
		"3": {bSess},
		"4": {dSess, cSess},
		"5": {bSess, cSess, dSess},
	}
	o := newOutcomes()
	var ids msrp.IDSource
	var stale, badFirst atomic.Int64
	setHandler(rec, func(s *Session, m *msrp.Message) int {
		bt := s.Batch()
		if bt.st != nil {
			stale.Add(1) // a batch left from before this request
		}
		for k, dst := range plan[string(m.Body)] {
			tag := string(m.Body) + "/" + dst.ID()
			queueCopy(bt, dst, false, &ids, "m"+string(m.Body), []byte(string(m.Body)), o, tag)
			if k == 0 && (len(bt.st.entries) != 1 || len(bt.st.groups) != 1 || bt.st.cursor != 1) {
				badFirst.Add(1)
			}
		}
		return msrp.StatusOK
	})
	for _, x := range []string{"1", "2", "3", "4", "5"} {
		m := trigger(a, aSess, x)
		a.ExpectResponse(m.TID, msrp.StatusOK)
	}
	expectBodies(t, b, "bob", []string{"1", "3", "5"})
	expectBodies(t, c, "carol", []string{"1", "4", "5"})
	expectBodies(t, d, "dave", []string{"2", "4", "5"})
	if n := stale.Load(); n != 0 {
		t.Errorf("%d requests found a batch already started", n)
	}
	if n := badFirst.Load(); n != 0 {
		t.Errorf("%d batches held stale entries or groups after their first entry", n)
	}
	total := 0
	for x, dsts := range plan {
		for _, dst := range dsts {
			total++
			if err := o.once(t, x+"/"+dst.ID()); err != nil {
				t.Errorf("%s to %s: done(%v)", x, dst.ID(), err)
			}
		}
	}
	if o.count() != total {
		t.Errorf("%d done calls for %d entries: stale entries reported again", o.count(), total)
	}
}

// Promise 5, white-box: entries go to their connection's group in the order
// added, whatever the order of connections (cursor, hash table, its
// growth); reset empties everything, and a reused state groups a new set of
// connections as a new one would.
func TestBatchStateGroupsAndReset(t *testing.T) {
	srv := New(Config{}, nil)
	mkConns := func(from, n int) []*conn {
		cs := make([]*conn, n)
		for i := range cs {
			cs[i] = &conn{srv: srv, id: uint64(from + i)}
		}
		return cs
	}
	fill := func(st *batchState, cs []*conn, adds int, seed uint64) map[*conn][]int32 {
		rng := rand.New(rand.NewPCG(seed, 1))
		want := map[*conn][]int32{}
		for k := range adds {
			var c *conn
			switch {
			case k%11 == 0: // an entry that failed when added
			case k%2 == 0: // fan-out order
				c = cs[(k/2)%len(cs)]
			default:
				c = cs[rng.IntN(len(cs))]
			}
			e := st.add(c)
			e.tag = k
			if c != nil {
				want[c] = append(want[c], int32(k))
			}
		}
		return want
	}
	check := func(st *batchState, want map[*conn][]int32) {
		t.Helper()
		if len(st.groups) != len(want) {
			t.Fatalf("%d groups for %d connections", len(st.groups), len(want))
		}
		seen := map[*conn]bool{}
		for _, g := range st.groups {
			if seen[g.c] {
				t.Fatalf("two groups for conn %d", g.c.id)
			}
			seen[g.c] = true
			var got []int32
			for i := g.first; i >= 0; i = st.entries[i].next {
				got = append(got, i)
				if !st.entries[i].grouped || st.entries[i].tag != int(i) {
					t.Fatalf("conn %d: entry %d not grouped as added", g.c.id, i)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want[g.c]) {
				t.Fatalf("conn %d: entries %v, want %v", g.c.id, got, want[g.c])
			}
			if g.last != want[g.c][len(want[g.c])-1] {
				t.Fatalf("conn %d: last %d", g.c.id, g.last)
			}
		}
		for i := range st.entries {
			if e := &st.entries[i]; !e.grouped && e.next != -1 {
				t.Fatalf("ungrouped entry %d is linked", i)
			}
		}
	}

	st := new(batchState)
	want := fill(st, mkConns(1, 600), 6000, 1)
	check(st, want)
	st.stage = append(st.stage, "stale"...)
	st.reset()
	if len(st.entries) != 0 || len(st.groups) != 0 || len(st.stage) != 0 || st.cursor != 0 {
		t.Fatalf("after reset: %d entries, %d groups, %d staged, cursor %d", len(st.entries), len(st.groups), len(st.stage), st.cursor)
	}
	for i, s := range st.slots {
		if s != 0 {
			t.Fatalf("after reset: slot %d = %d", i, s)
		}
	}
	for _, e := range st.entries[:cap(st.entries)] {
		if e.tag != nil || e.done != nil || e.body != nil {
			t.Fatal("after reset: an entry still refers to a tag, callback or body")
		}
	}
	// Reused with other connections (some with the ids of old ones).
	want = fill(st, mkConns(590, 7), 50, 2)
	check(st, want)
}

// A copy cut into pieces (QueueFrame, then QueueFollow for the rest, as the
// switch cuts a copy for a WebSocket recipient) is queued or dropped whole:
// the pieces follow their first past the congestion mark, and are dropped
// with it; only the first reports the outcome.
func TestBatchFollowersGoWithTheirFirst(t *testing.T) {
	const congestedBytes = 16 << 10
	rec := &recorder{}
	srv := startServer(t, Config{MaxPendingBytes: 1 << 20, CongestedBytes: congestedBytes}, rec)
	aSess, a := boundSession(t, srv, "alice")
	bSess, b := boundSession(t, srv, "bob")
	waitDrained(t, bSess.conn.Load())

	const n, pieces = 12, 3
	droppable := func(i int) bool { return i%4 != 3 }
	mid := func(i int) string { return fmt.Sprintf("m%03d", i) }
	body := func(i, j int) []byte {
		return append([]byte(fmt.Sprintf("%03d.%d:", i, j)), bytes.Repeat([]byte("c"), 994)...)
	}
	want := make([]error, n)
	var wantBodies []string
	pending, congested, drops := 0, false, 0
	for i := range n {
		if droppable(i) && (congested || pending+frameSize(bSess, mid(i), body(i, 0)) > congestedBytes) {
			want[i], congested = ErrCongested, true
			drops++
			continue
		}
		for j := range pieces {
			pending += frameSize(bSess, mid(i), body(i, j))
			wantBodies = append(wantBodies, string(body(i, j)))
		}
	}
	if drops == 0 || drops == n-n/4 {
		t.Fatalf("bad setup: %d of %d dropped", drops, n)
	}

	o := newOutcomes()
	var ids msrp.IDSource
	setHandler(rec, func(s *Session, m *msrp.Message) int {
		bt := s.Batch()
		switch string(m.Body) {
		case "go":
			for i := range n {
				bt.Reserve(pieces)
				queueCopy(bt, bSess, droppable(i), &ids, mid(i), body(i, 0), o, i)
				for j := 1; j < pieces; j++ {
					env := copyEnv(bSess, mid(i))
					bt.QueueFollow(bSess, &env, &ids, whole(len(body(i, j))), msrp.FlagEnd, body(i, j))
				}
			}
		case "marker":
			queueCopy(bt, bSess, false, &ids, "marker", []byte("marker"), o, "marker")
		}
		return msrp.StatusOK
	})
	m := trigger(a, aSess, "go")
	a.ExpectResponse(m.TID, msrp.StatusOK)
	for i := range n {
		if got := o.once(t, i); got != want[i] {
			t.Errorf("copy %d (droppable %v): done(%v), want done(%v)", i, droppable(i), got, want[i])
		}
	}
	if o.count() != n {
		t.Errorf("%d outcomes reported, want %d (the first pieces')", o.count(), n)
	}
	expectBodies(t, b, "bob", wantBodies)
	m = trigger(a, aSess, "marker")
	a.ExpectResponse(m.TID, msrp.StatusOK)
	expectBodies(t, b, "bob", []string{"marker"})
}
