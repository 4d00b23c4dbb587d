package switchboard

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-im/parley/cpim"
	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/msrp"
)

// transfer is a chunked message in progress from one sending session (RFC
// 7701 §6.1): first its CPIM headers being gathered, then, once routed, the
// recipients its first chunk went to, which every later chunk follows.
type transfer struct {
	key       string // transaction id prefix of its copies; key of Switch.transfers
	sender    *link
	senderMID string // the sender's Message-ID (key of sender.unf.byMID)

	mu      sync.Mutex // guards everything below; taken before a conn's lock
	done    bool       // finished, aborted or dropped: nothing more goes out
	head    []byte     // before routing: the message's first octets, until the CPIM headers end
	routed  bool
	private bool
	mid     string // Message-ID of the copies
	delta   int64  // octets the CPIM From rewrite added (anonymous sender)
	total   int64  // the sender's total, or msrp.Unknown
	sent    int64  // octets relayed so far (copies' numbering), for the abort chunk
	held    int64  // octets received so far, counted in sender.unf.held; guarded by sender.mu
	rcpts   []rcpt
	// keep gathers the whole message as relayed, for the room's history
	// (history.go): nil when the room keeps none, the message is private,
	// or a chunk came out of order (it is then not kept).
	keep  []byte
	binds uint64    // the ring's bind count when it was routed: who bound later is no recipient
	last  time.Time // when the latest chunk arrived
	timer *time.Timer
}

// rcpt is one recipient session of a transfer.
type rcpt struct {
	m       *member
	l       *link
	stopped atomic.Bool // the recipient answered a failure, was congested, or went away
}

func (s *Switch) newTransfer(l *link, senderMID string) *transfer {
	return &transfer{
		key:       string(l.idSource().AppendID(make([]byte, 0, 10), 10)),
		sender:    l,
		senderMID: senderMID,
		total:     msrp.Unknown,
	}
}

// arm starts or restarts the chunk reception timer (RFC 7701 §6.1 item 9).
func (tr *transfer) arm(s *Switch) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.done {
		return
	}
	tr.last = time.Now()
	if tr.timer == nil {
		tr.timer = time.AfterFunc(s.cfg.ChunkTimeout, func() { s.expire(tr) })
	}
}

func (tr *transfer) stopTimer() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.timer != nil {
		tr.timer.Stop()
	}
}

// expire runs on the chunk timer's goroutine: a transfer whose latest chunk
// is older than the timeout is aborted; a younger one is re-armed.
func (s *Switch) expire(tr *transfer) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return
	}
	tr.mu.Lock()
	if tr.done {
		tr.mu.Unlock()
		return
	}
	if wait := s.cfg.ChunkTimeout - time.Since(tr.last); wait > 0 {
		tr.timer.Reset(wait)
		tr.mu.Unlock()
		return
	}
	tr.mu.Unlock()
	s.log.Info("chunked message timed out", "session", tr.sender.sess.ID(), "message_id", tr.senderMID)
	s.abort(tr)
}

// nextChunk handles a chunk of a message in progress.
func (s *Switch) nextChunk(l *link, tr *transfer, msg *msrp.Message, br msrp.ByteRange, flag byte) int {
	tr.mu.Lock()
	if tr.done {
		tr.mu.Unlock()
		return msrp.StatusStopSending
	}
	if !tr.routed {
		return s.gather(l, tr, msg, br, flag) // unlocks
	}
	pol := l.m.rs.rm.Policy()
	end := br.Start - 1 + int64(len(msg.Body))
	if pol.MaxMessage > 0 && (end > pol.MaxMessage || br.Total > pol.MaxMessage) {
		tr.mu.Unlock()
		s.abort(tr)
		return msrp.StatusStopSending
	}
	if flag == msrp.FlagAbort {
		tr.mu.Unlock()
		s.abort(tr)
		return msrp.StatusOK
	}
	if !s.grow(l, tr, int64(len(msg.Body))) {
		tr.mu.Unlock()
		s.abort(tr)
		return s.refuseUnfinished(l, msg, reasonUnfinishedBytes)
	}
	s.stats.chunks.Add(1)
	total := br.Total
	if total == msrp.Unknown {
		total = tr.total
	} else {
		tr.total = total
	}
	if total != msrp.Unknown {
		total += tr.delta
	}
	out := outgoing{
		mid:     tr.mid,
		prefix:  tr.key + ".",
		private: tr.private,
		br:      copyRange(br.Start+tr.delta, len(msg.Body), total),
		flag:    flag,
		body:    append(make([]byte, 0, len(msg.Body)), msg.Body...),
	}
	last := flag != msrp.FlagContinue
	var e *entry
	if tr.keep != nil {
		if br.Start-1+tr.delta == int64(len(tr.keep)) {
			tr.keep = append(tr.keep, out.body...)
		} else {
			tr.keep = nil // out of order: relayed, not kept
		}
		if last && tr.keep != nil {
			e = s.keep(l, tr.keep) // before the last copies go out, as for one chunk
		}
	}
	s.deliverTransfer(l, tr, &out)
	if last {
		tr.done = true
		if tr.timer != nil {
			tr.timer.Stop()
		}
	}
	tr.last = time.Now()
	binds := tr.binds
	tr.mu.Unlock()
	if last {
		s.forget(tr)
		if e != nil {
			s.sendLateBinders(l, e, binds, nil)
		}
		s.answerStored(l, msg, end, e)
		return 0
	}
	return msrp.StatusOK
}

// gather adds a chunk to a message whose CPIM headers are still incomplete,
// and routes it once they are. tr.mu is held and is released here.
func (s *Switch) gather(l *link, tr *transfer, msg *msrp.Message, br msrp.ByteRange, flag byte) int {
	if br.Start != int64(len(tr.head))+1 || len(tr.head)+len(msg.Body) > maxPendingHeader || flag == msrp.FlagAbort {
		tr.done = true
		tr.mu.Unlock()
		s.dropTransfer(l, tr)
		if flag == msrp.FlagAbort {
			return msrp.StatusOK
		}
		return msrp.StatusStopSending
	}
	if !s.grow(l, tr, int64(len(msg.Body))) {
		tr.done = true
		tr.mu.Unlock()
		s.dropTransfer(l, tr)
		return s.refuseUnfinished(l, msg, reasonUnfinishedBytes)
	}
	s.stats.chunks.Add(1)
	tr.head = append(tr.head, msg.Body...)
	if br.Total != msrp.Unknown {
		tr.total = br.Total
	}
	if _, complete := cpim.IsComplete(tr.head); !complete {
		if flag != msrp.FlagContinue {
			tr.done = true
			tr.mu.Unlock()
			s.dropTransfer(l, tr)
			return msrp.StatusBadRequest
		}
		tr.last = time.Now()
		tr.mu.Unlock()
		return msrp.StatusOK
	}
	head, total := tr.head, tr.total
	tr.mu.Unlock()
	return s.route(l, msg, msrp.ByteRange{Start: 1, End: int64(len(head)), Total: total}, flag, head, tr)
}

// deliverTransfer sends a chunk to the transfer's recipients that have not
// stopped. tr.mu is held.
func (s *Switch) deliverTransfer(l *link, tr *transfer, out *outgoing) {
	for i := range tr.rcpts {
		r := &tr.rcpts[i]
		if r.stopped.Load() {
			continue
		}
		if r.m.link.Load() != r.l { // moved or gone: its copy cannot go on
			r.stopped.Store(true)
			continue
		}
		err := s.deliver(l, r.l, out)
		s.deliveredCopy(r.m, err, out.private)
		if err != nil {
			r.stopped.Store(true)
			if errors.Is(err, relay.ErrCongested) {
				// Its copy has a gap now: end it if the abort fits (it
				// goes through congestion control like any copy, so it
				// is dropped too while the connection stays congested;
				// the recipient's own chunk timer then discards the
				// message, RFC 7701 §6.1).
				s.sendAbort(r.m, r.l, tr.mid, tr.key, out.br.Start-1)
			}
		}
	}
	tr.sent = out.br.Start - 1 + int64(len(out.body))
}

// abort ends a transfer early: every recipient still receiving it gets an
// empty chunk with the '#' flag (RFC 4975 §7.1.1), and the state goes.
func (s *Switch) abort(tr *transfer) {
	tr.mu.Lock()
	if tr.done {
		tr.mu.Unlock()
		return
	}
	tr.done = true
	if tr.timer != nil {
		tr.timer.Stop()
	}
	s.stats.aborted.Add(1) // before the aborts: whoever sees one sees the count
	for i := range tr.rcpts {
		r := &tr.rcpts[i]
		if !r.stopped.Swap(true) && r.m.link.Load() == r.l {
			s.sendAbort(r.m, r.l, tr.mid, tr.key, tr.sent)
		}
	}
	tr.mu.Unlock()
	s.forget(tr)
}

// sendAbort queues an empty '#' chunk of message mid to rl (member m),
// after the sent octets it already has. It is offered like any copy (RFC
// 7701 §6.4): for a congested recipient it is dropped and counted, and the
// recipient is told once per episode. (Queued past the congestion mark, as
// it was, the aborts a sender leaves behind by starting many chunked
// messages and hanging up pushed recipients over the hard cap: issue 14.)
func (s *Switch) sendAbort(m *member, rl *link, mid, key string, sent int64) {
	env := msrp.Envelope{
		ToPath: rl.toPath, FromPath: rl.fromPath, MessageID: mid,
		FailureReport: copyFailureReport, ContentType: cpimType, TIDPrefix: key + ".",
	}
	s.idMu.Lock()
	_, f := env.AppendFrame(make([]byte, 0, env.FrameSize()), &s.ids, msrp.ByteRange{Start: sent + 1, End: sent, Total: msrp.Unknown}, msrp.FlagAbort)
	s.idMu.Unlock()
	if err := rl.sess.Offer(f.Head, f.End); errors.Is(err, relay.ErrCongested) {
		s.stats.droppedAborts.Add(1)
		s.delivered(m, err)
	}
}

// dropTransfer forgets a transfer that relayed nothing yet.
func (s *Switch) dropTransfer(l *link, tr *transfer) {
	tr.mu.Lock()
	tr.done = true
	if tr.timer != nil {
		tr.timer.Stop()
	}
	tr.mu.Unlock()
	s.forget(tr)
}

// forget removes a finished transfer from both tables.
func (s *Switch) forget(tr *transfer) {
	tr.sender.inboundDelete(tr.senderMID, tr)
	s.transfers.delete(tr)
}

// abortInbound aborts every chunked message l is sending (its session
// ended, moved, or its participant left).
func (s *Switch) abortInbound(l *link, why string) {
	l.mu.Lock()
	var trs []*transfer
	if l.unf != nil {
		trs = make([]*transfer, 0, len(l.unf.byMID))
		for _, tr := range l.unf.byMID {
			trs = append(trs, tr)
		}
	}
	l.mu.Unlock()
	for _, tr := range trs {
		s.log.Debug("chunked message aborted", "session", l.sess.ID(), "message_id", tr.senderMID, "why", why)
		s.abort(tr)
	}
}

// HandleResponse implements relay.Handler. Copies ask for failure responses
// only; one for a chunk of a message in progress stops that recipient's
// copy (a 413 means exactly that, RFC 4975 §7.3.1; any other failure leaves
// its copy broken anyway). Everything else is consumed (RFC 7701 §6.3).
func (s *Switch) HandleResponse(sess *relay.Session, msg *msrp.Message) {
	if msg.Code == msrp.StatusOK {
		return
	}
	i := strings.IndexByte(msg.TID, '.')
	if i <= 0 {
		return
	}
	tr := s.transfers.get(msg.TID[:i])
	if tr == nil {
		return
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for j := range tr.rcpts {
		r := &tr.rcpts[j]
		if r.l.sess == sess {
			r.stopped.Store(true)
		}
	}
}

// transferTable indexes transfers by key, for HandleResponse and Close.
type transferTable struct {
	mu sync.Mutex
	m  map[string]*transfer
}

func (t *transferTable) put(tr *transfer) {
	t.mu.Lock()
	t.m[tr.key] = tr
	t.mu.Unlock()
}

func (t *transferTable) get(key string) *transfer {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[key]
}

func (t *transferTable) delete(tr *transfer) {
	t.mu.Lock()
	if t.m[tr.key] == tr {
		delete(t.m, tr.key)
	}
	t.mu.Unlock()
}

func (t *transferTable) all() []*transfer {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*transfer, 0, len(t.m))
	for _, tr := range t.m {
		out = append(out, tr)
	}
	return out
}

// Transfers returns the number of chunked messages in progress.
func (s *Switch) Transfers() int {
	s.transfers.mu.Lock()
	defer s.transfers.mu.Unlock()
	return len(s.transfers.m)
}

func (l *link) inboundGet(mid string) *transfer {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unf == nil {
		return nil
	}
	return l.unf.byMID[mid]
}

func (l *link) inboundPut(mid string, tr *transfer) {
	l.mu.Lock()
	if l.unf == nil {
		l.unf = &unfinished{byMID: make(map[string]*transfer)}
	}
	l.unf.byMID[mid] = tr
	l.unf.held += tr.held
	l.mu.Unlock()
}

func (l *link) inboundDelete(mid string, tr *transfer) {
	l.mu.Lock()
	if u := l.unf; u != nil && u.byMID[mid] == tr {
		delete(u.byMID, mid)
		u.held -= tr.held
		if len(u.byMID) == 0 {
			l.unf = nil // the last one: a link that sent one keeps nothing for it
		}
	}
	l.mu.Unlock()
}
