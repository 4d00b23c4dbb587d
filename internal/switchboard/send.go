package switchboard

import (
	"errors"

	"github.com/parley-im/parley/cpim"
	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/sdp"
)

// Report model of the copies the switch sends (SPEC §14 item 6): no success
// reports, and responses only for failures, so that a recipient's 200s do
// not double the traffic while its 413 still stops its copy.
const copyFailureReport = "partial"

const cpimType = "message/cpim"

// HandleRequest implements relay.Handler (SPEC §14A.1).
func (s *Switch) HandleRequest(sess *relay.Session, msg *msrp.Message) int {
	if msg.Method == msrp.MethodREPORT {
		return 0 // recipients' reports are consumed, never forwarded (RFC 7701 §6.3)
	}
	var l *link
	if a := attachment(sess); a != nil {
		l = a.link.Load()
	}
	if l == nil || l.m.left.Load() {
		s.stats.refused.Add(1)
		return msrp.StatusSessionDoesNotExist // not (or no longer) a participant
	}
	var code int
	switch msg.Method {
	case msrp.MethodSEND:
		code = s.send(l, msg)
	case msrp.MethodNICKNAME:
		code = s.nickname(l, msg)
	default:
		code = msrp.StatusMethodNotUnderstood
	}
	if code >= 300 {
		s.stats.refused.Add(1)
	}
	return code
}

// send handles a SEND with content (SPEC §14A.2): a chunk of a message in
// progress follows its message; a first chunk is checked and routed.
func (s *Switch) send(l *link, msg *msrp.Message) int {
	br, ok, err := msg.ByteRange()
	if err != nil {
		return msrp.StatusBadRequest
	}
	if !ok {
		br = msrp.ByteRange{Start: 1, End: msrp.Unknown, Total: msrp.Unknown}
	}
	flag := msg.EndFlag()
	if flag == msrp.FlagEnd && br.Total != msrp.Unknown && br.Start-1+int64(len(msg.Body)) < br.Total {
		// A '$' short of the declared total: more follows. RFC 7701 §9.5
		// prints its first chunk this way (SPEC §14 item 10), and
		// msrp.Reassembler reads it so too; the copies get '+'.
		flag = msrp.FlagContinue
	}
	mid := msg.MessageID()
	if tr := l.inboundGet(mid); tr != nil {
		l.flush() // chunks are queued directly: what this sender queued before goes first
		return s.nextChunk(l, tr, msg, br, flag)
	}
	if br.Start != 1 {
		if flag == msrp.FlagAbort {
			return msrp.StatusOK // nothing of it was relayed
		}
		// A chunk of a message the switch does not track: refused earlier,
		// aborted by the chunk timer, or sent out of order. RFC 4975 §7.3.1:
		// 413 tells the sender to stop sending the message.
		return msrp.StatusStopSending
	}
	if l.rateOn && !s.takeMessage(l) {
		return s.refuseRate(l, msg) // a message starts here: within its sender's rate?
	}
	if sdp.BaseMediaType(msg.ContentType()) != cpimType {
		return msrp.StatusUnsupportedMedia // RFC 7701 §6.3
	}
	pol := l.m.rs.rm.Policy()
	if pol.MaxMessage > 0 && br.Total > pol.MaxMessage {
		return msrp.StatusStopSending
	}
	if flag == msrp.FlagAbort {
		return msrp.StatusOK
	}
	if flag == msrp.FlagContinue {
		// It would start a chunked message: within the sender's limits?
		if reason := s.admit(l, int64(len(msg.Body))); reason != "" {
			return s.refuseUnfinished(l, msg, reason)
		}
	}
	s.stats.chunks.Add(1)
	if _, complete := cpim.IsComplete(msg.Body); !complete {
		if flag != msrp.FlagContinue {
			return msrp.StatusBadRequest // the whole message, and its CPIM headers are cut short
		}
		if len(msg.Body) > maxPendingHeader {
			return msrp.StatusStopSending
		}
		// RFC 7701 §9.5: the CPIM headers go on in the next chunk; hold
		// what came (a copy: msg aliases the read buffer, at its size:
		// most senders never send more than this) until they end.
		tr := s.newTransfer(l, mid)
		tr.head = append(make([]byte, 0, len(msg.Body)), msg.Body...)
		tr.held = int64(len(msg.Body))
		tr.total = br.Total
		l.inboundPut(mid, tr)
		s.transfers.put(tr)
		tr.arm(s)
		return msrp.StatusOK
	}
	body := append(make([]byte, 0, len(msg.Body)), msg.Body...)
	return s.route(l, msg, br, flag, body, nil)
}

// route decides where a message goes once its CPIM headers are complete in
// body (a copy the switch owns: the first len(body) octets of the message)
// and sends the first chunk. tr is the transfer that buffered the headers,
// or nil. msg is the chunk that completed them.
func (s *Switch) route(l *link, msg *msrp.Message, br msrp.ByteRange, flag byte, body []byte, tr *transfer) int {
	// Sessions bound so far, read before the members are: one that joins
	// and binds after the snapshot but before the message is kept is no
	// recipient and got no replay of it (sendLateBinders below).
	var binds uint64
	if h := l.m.rs.hist; h != nil {
		binds = h.binds.Load()
	}
	snap := l.m.rs.members()
	if s.afterSnapshot != nil {
		s.afterSnapshot()
	}
	code, dec, rewrite, ct := s.decide(l, snap, body)
	kept := !dec.Private && !transient(ct)
	if code != 0 {
		if tr != nil {
			s.dropTransfer(l, tr)
		}
		return code
	}
	rcpts := dec.Recipients
	total := br.Total
	if total != msrp.Unknown {
		var tooBig bool
		rcpts, tooBig = fitSize(rcpts, total, dec.Private)
		if tooBig {
			if tr != nil {
				s.dropTransfer(l, tr)
			}
			return msrp.StatusStopSending
		}
	}
	received := int64(len(body))
	delta := 0
	if rewrite != "" {
		body, delta = rewriteFrom(body, rewrite)
	}
	outTotal := total
	if outTotal != msrp.Unknown {
		outTotal += int64(delta)
	}
	last := flag != msrp.FlagContinue
	out := outgoing{
		mid:     l.idSource().MessageID(),
		private: dec.Private,
		br:      copyRange(1, len(body), outTotal),
		flag:    flag,
		body:    body,
	}
	s.stats.messages.Add(1)
	if last {
		if tr != nil {
			s.dropTransfer(l, tr)
		}
		var e *entry
		if kept {
			if e = s.keep(l, body); e != nil {
				out.hist = e.index
			}
		}
		s.deliverAll(l, snap, rcpts, &out)
		if e != nil && l.m.rs.hist.binds.Load() > binds {
			s.sendLateBinders(l, e, binds, snap)
		}
		s.answerStored(l, msg, received, e)
		return 0
	}
	l.flush() // chunks are queued directly: what this sender queued before goes first
	if tr == nil {
		tr = s.newTransfer(l, msg.MessageID())
		tr.held = received
		l.inboundPut(tr.senderMID, tr)
		s.transfers.put(tr)
	}
	tr.mu.Lock()
	if tr.done { // the chunk timer fired meanwhile
		tr.mu.Unlock()
		return msrp.StatusStopSending
	}
	tr.head = nil
	tr.routed = true
	tr.private = dec.Private
	if h := l.m.rs.hist; h != nil && kept {
		tr.keep = body[:len(body):len(body)] // appending copies: the first copy's body stays as it is
		tr.binds = h.binds.Load()
	}
	tr.mid = out.mid
	tr.delta = int64(delta)
	tr.total = total
	tr.rcpts = make([]rcpt, 0, len(rcpts))
	j := 0
	for _, p := range rcpts {
		if m := snap.lookup(p, &j); m != nil {
			if rl := m.link.Load(); rl != nil {
				tr.rcpts = append(tr.rcpts, rcpt{m: m, l: rl})
			}
		}
	}
	out.prefix = tr.key + "."
	s.deliverTransfer(l, tr, &out)
	tr.mu.Unlock()
	tr.arm(s)
	return msrp.StatusOK
}

// decide parses the CPIM headers at the start of body and routes the
// message (SPEC §14 item 4). It returns the status to refuse with (0: go
// on), Route's decision, for an anonymous sender who wrote its own
// identity in CPIM From the anonymous URI to put there instead, and the
// wrapped content's type. A From equal to the sender's nickname IM URI
// (room.Nicknames.URIOf) is accepted and kept as is, for an anonymous
// sender too.
func (s *Switch) decide(l *link, snap *snapshot, body []byte) (code int, dec room.Decision, rewrite, ct string) {
	cm, err := cpim.Parse(body)
	if err != nil {
		return msrp.StatusBadRequest, dec, "", ""
	}
	from, err := cm.From()
	if err != nil {
		return msrp.StatusForbidden, dec, "", "" // no single valid From (RFC 7701 §6.3)
	}
	tos, err := cm.To()
	if err != nil || len(tos) == 0 {
		return msrp.StatusForbidden, dec, "", ""
	}
	sender := l.m.p
	fromURI := from.URI
	if sender.Anonymous {
		// Its anonymous URI, its nickname's IM URI (which reveals nothing,
		// and goes out unchanged: draft-niemi-00 §4.3.3), or the identity
		// it signalled (which must not reach the others: the switch writes
		// the anonymous URI instead).
		switch {
		case cpim.URIEqual(fromURI, sender.URI):
		case sender.NicknameURI() != "" && cpim.URIEqual(fromURI, sender.NicknameURI()):
		case cpim.URIEqual(fromURI, sender.Signalled):
			fromURI, rewrite = sender.URI, sender.URI
		default:
			return msrp.StatusForbidden, dec, "", ""
		}
	}
	var toBuf [4]string
	to := toBuf[:0]
	for _, a := range tos {
		to = append(to, a.URI)
	}
	rs := l.m.rs
	multiple := rs.rm.Policy().MultiplePrivate
	if multiple {
		// draft-niemi-00 §4.2: cc names recipients too. RFC 7701 knows no
		// cc: without the policy it is ignored, as any unknown header is.
		ccs, err := cm.Cc()
		if err != nil {
			return msrp.StatusForbidden, dec, "", ""
		}
		for _, a := range ccs {
			to = append(to, a.URI)
		}
	}
	roomURI := sender.RoomURI
	if len(to) == 1 && !cpim.URIEqual(to[0], roomURI) &&
		(cpim.SameUserHost(to[0], roomURI) || s.cfg.RoomAlias != nil && s.cfg.RoomAlias(rs.rm, to[0])) {
		roomURI = to[0] // the room under another of its URIs (another port, transport, host alias)
	}
	pol := room.RoutePolicy{
		PrivateMessages: rs.rm.Policy().PrivateMessages,
		MultiplePrivate: multiple,
		Accepts:         (*room.Participant).AcceptsWrapped,
	}
	dec = room.RouteAppend(l.rcpts, snap.parts, roomURI, sender, fromURI, to, cm.ContentType(), pol)
	if dec.Recipients != nil {
		l.rcpts = dec.Recipients[:0]
	}
	return dec.Code, dec, rewrite, cm.ContentType()
}

// fitSize drops the recipients whose a=max-size is below a message of
// total octets; for a private message that refuses it instead (413).
func fitSize(rcpts []*room.Participant, total int64, private bool) ([]*room.Participant, bool) {
	kept := rcpts[:0]
	for _, p := range rcpts {
		if p.MaxSize > 0 && total > p.MaxSize {
			if private {
				return rcpts, true
			}
			continue
		}
		kept = append(kept, p)
	}
	clear(rcpts[len(kept):])
	return kept, false
}

// copyRange is the Byte-Range of a copy whose body is the n octets of the
// message from start on, of total (RFC 4975 §7.1.1). The switch re-chunks
// what it relays (RFC 7701 §6.1, RFC 4975 §7.1.1): whatever range-end the sender
// wrote, a copy with more than msrp.InterruptibleSize (2048) octets of body
// is interruptible, range-end "*"; a smaller one states its end.
func copyRange(start int64, n int, total int64) msrp.ByteRange {
	end := start - 1 + int64(n)
	if n > msrp.InterruptibleSize {
		end = msrp.Unknown
	}
	return msrp.ByteRange{Start: start, End: end, Total: total}
}

// outgoing is one chunk as it goes to every recipient.
type outgoing struct {
	mid     string // Message-ID of the copies
	prefix  string // transaction id prefix ("" unless chunked)
	private bool
	hist    uint64         // its entry's index in the room's ring (0: not kept): recipients whose replay had it are skipped
	br      msrp.ByteRange // copyRange: range-end "*" over 2048 octets
	flag    byte
	body    []byte // shared by every copy; never modified
}

// deliverAll sends a one-chunk message to its recipients. On the sender's
// read goroutine (always, in parleyd) the copies go through the relay's
// batch (relay.Batch): framed there, queued when the read goroutine has
// parsed what it read, each recipient's copies under one lock. Otherwise
// each envelope is framed into the sender's scratch buffer and copied by
// the relay into the recipient's own queue. The body is shared.
func (s *Switch) deliverAll(l *link, snap *snapshot, rcpts []*room.Participant, out *outgoing) {
	b := l.sess.Batch()
	env := msrp.Envelope{
		MessageID:     out.mid,
		FailureReport: copyFailureReport,
		ContentType:   cpimType,
		TIDPrefix:     out.prefix,
	}
	// Every whole copy has the same fields but its paths and transaction
	// id: rendered once (issue 20). Pieces cut to a recipient's MaxChunk
	// have their own Byte-Range: they use piece, without it.
	piece := env
	if b != nil {
		l.middle = env.AppendMiddle(l.middle[:0], out.br)
		env.Middle = l.middle
	}
	j := 0
	for _, p := range rcpts {
		m := snap.lookup(p, &j)
		if m == nil {
			continue
		}
		rl := m.link.Load()
		if rl == nil || (out.hist != 0 && rl.histSeen >= out.hist) {
			continue
		}
		if b == nil {
			s.deliveredCopy(m, s.deliver(l, rl, out), out.private)
			continue
		}
		env.ToPath, env.FromPath = rl.toPath, rl.fromPath
		done := s.deliveredFn
		if out.private {
			done = s.deliveredPrivateFn
		}
		// Every copy may be dropped for a congested recipient, a private
		// one too (issue 14: private copies that skipped the congestion
		// mark let a burst of them close the recipient as a slow consumer).
		if mc := rl.sess.MaxChunk(); mc > 0 && len(out.body) > mc {
			// Cut to fit (a WebSocket recipient): the first piece is
			// offered like any copy, the others follow it (queued or
			// dropped with it), each its own unit.
			n := mc
			piece.ToPath, piece.FromPath = rl.toPath, rl.fromPath
			b.Reserve((len(out.body) + mc - 1) / mc)
			b.QueueFrame(rl.sess, true, &piece, l.idSource(), pieceRange(out, 0, n), msrp.FlagContinue, out.body[:n], done, m)
			for off := n; off < len(out.body); off += n {
				n = min(mc, len(out.body)-off)
				b.QueueFollow(rl.sess, &piece, l.idSource(), pieceRange(out, off, n), pieceFlag(out, off+n), out.body[off:off+n])
			}
			continue
		}
		b.QueueFrame(rl.sess, true, &env, l.idSource(), out.br, out.flag, out.body, done, m)
	}
}

// pieceRange is the Byte-Range of the n octets at off in out's body, a
// piece of out cut to fit a recipient's Session.MaxChunk.
func pieceRange(out *outgoing, off, n int) msrp.ByteRange {
	return copyRange(out.br.Start+int64(off), n, out.br.Total)
}

// pieceFlag is the continuation flag of the piece of out that ends at end:
// '+' but for the last, which has out's.
func pieceFlag(out *outgoing, end int) byte {
	if end < len(out.body) {
		return msrp.FlagContinue
	}
	return out.flag
}

// deliver frames out for recipient rl in l's scratch buffer and queues it.
// For a recipient that takes smaller chunks (Session.MaxChunk: a WebSocket
// one) out is cut into pieces, each queued as its own chunk: the first is
// offered like any copy, and once it is queued the others are enqueued
// past the congestion mark, so that the copy is dropped whole or not at
// all (as one unit of out would be).
func (s *Switch) deliver(l *link, rl *link, out *outgoing) error {
	env := msrp.Envelope{
		ToPath:        rl.toPath,
		FromPath:      rl.fromPath,
		MessageID:     out.mid,
		FailureReport: copyFailureReport,
		ContentType:   cpimType,
		TIDPrefix:     out.prefix,
	}
	var f msrp.Frame
	if mc := rl.sess.MaxChunk(); mc > 0 && len(out.body) > mc {
		for off, n := 0, 0; off < len(out.body); off += n {
			n = min(mc, len(out.body)-off)
			l.scratch, f = env.AppendFrame(l.scratch[:0], l.idSource(), pieceRange(out, off, n), pieceFlag(out, off+n))
			var err error
			if off == 0 {
				err = rl.sess.OfferFrame(f.Head, out.body[:n], f.End)
			} else {
				err = rl.sess.EnqueueFrame(f.Head, out.body[off:off+n], f.End)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	l.scratch, f = env.AppendFrame(l.scratch[:0], l.idSource(), out.br, out.flag)
	return rl.sess.OfferFrame(f.Head, out.body, f.End) // droppable, private or not
}

// deliveredTag is delivered as a relay.Batch outcome function (tag: the
// recipient's *member); made once, as Switch.deliveredFn.
func (s *Switch) deliveredTag(tag any, err error) { s.delivered(tag.(*member), err) }

// deliveredPrivateTag is deliveredTag for copies of private messages.
func (s *Switch) deliveredPrivateTag(tag any, err error) {
	s.deliveredCopy(tag.(*member), err, true)
}

// deliveredCopy is delivered, counting a dropped private copy as such.
func (s *Switch) deliveredCopy(m *member, err error, private bool) {
	if private && errors.Is(err, relay.ErrCongested) {
		s.stats.droppedPrivate.Add(1)
	}
	s.delivered(m, err)
}

// delivered counts a copy and handles its failure: a congested recipient
// is told, once per episode, that messages to it are being dropped (RFC
// 7701 §6.4), whatever was dropped: a regular or private copy, or an abort.
func (s *Switch) delivered(m *member, err error) {
	switch {
	case err == nil:
		s.stats.deliveries.Add(1)
		if m.warned.Load() {
			m.warned.Store(false)
		}
	case errors.Is(err, relay.ErrCongested):
		s.stats.dropped.Add(1)
		if !m.warned.Swap(true) {
			s.noticeCongested(m)
		}
	}
}

// accepted answers the sender's last chunk and sends its success REPORT
// when it asked for one (RFC 7701 §6.3, SPEC §14 item 5: the switch is the
// receiving endpoint). The response is sent here, before the REPORT.
// n is the size of the whole message as the sender numbered it.
func (s *Switch) accepted(l *link, msg *msrp.Message, n int64) {
	if msg.WantsResponse(msrp.StatusOK) {
		if err := l.send(msg.Response(msrp.StatusOK, "")); err != nil {
			return
		}
	}
	if sr, _ := msg.SuccessReport(); sr {
		rep := msg.Report(l.idSource().TID(), msrp.StatusOK, "", msrp.ByteRange{Start: 1, End: n, Total: n})
		if err := l.send(rep); err != nil {
			s.log.Debug("success report not sent", "session", l.sess.ID(), "err", err)
		}
	}
}
