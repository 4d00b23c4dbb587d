package focus

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/confinfo"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/sdp"
)

func (f *Focus) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		f.onReInvite(req, tx)
		return
	}
	f.onNewInvite(req, tx)
}

// parseOffer checks the body of an INVITE: application/sdp, or
// multipart/mixed with an application/sdp part and maybe a draft-niemi-00
// nickname-info offer (splitInviteBody). 488 (with a Warning) without a
// body, 400 (with a Warning) for a malformed multipart body, 415 for a body
// without SDP, 400 for unparseable SDP or a nickname offer that does not
// parse or is no valid offer, 488 (with a Warning) when no MSRP stream can
// carry the chat (or, in a room that requires TLS, no msrps one). It
// returns the nickname offer, or nil when there is none. On failure it
// returns the error response to send.
func (f *Focus) parseOffer(req *sip.Request, requireTLS bool) (*sdp.Session, offerInfo, *confinfo.NicknameInfo, *sip.Response) {
	body := req.Body()
	if len(body) == 0 {
		res := sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil)
		res.AppendHeader(f.warning("an SDP offer in the INVITE is required"))
		return nil, offerInfo{}, nil, res
	}
	mt, params := contentType(req.ContentType())
	parts, err := splitInviteBody(mt, params, body)
	if err != nil {
		res := sip.NewResponseFromRequest(req, 400, "Bad Multipart Body", nil)
		res.AppendHeader(f.warning(err.Error()))
		return nil, offerInfo{}, nil, res
	}
	if parts.sdp == nil {
		res := sip.NewResponseFromRequest(req, 415, "Unsupported Media Type", nil)
		res.AppendHeader(sip.NewHeader("Accept", acceptTypes))
		return nil, offerInfo{}, nil, res
	}
	offer, err := sdp.Parse(parts.sdp)
	if err != nil {
		res := sip.NewResponseFromRequest(req, 400, "Bad SDP", nil)
		res.AppendHeader(f.warning(err.Error()))
		return nil, offerInfo{}, nil, res
	}
	var nick *confinfo.NicknameInfo
	if parts.nick != nil {
		if nick, err = parseNicknameOffer(parts.nick); err != nil {
			return nil, offerInfo{}, nil, f.badNicknameOffer(req, err)
		}
	}
	info, err := pickMSRP(offer, msrpTransports{tls: f.cfg.SecureMSRP, ws: f.cfg.WebSocketMSRP}, requireTLS)
	if err != nil {
		res := sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil)
		res.AppendHeader(f.warning(err.Error()))
		return nil, offerInfo{}, nil, res
	}
	info.detach(offer.Media[info.index], &f.formats)
	return offer, info, nick, nil
}

func (f *Focus) onNewInvite(req *sip.Request, tx sip.ServerTransaction) {
	if f.shuttingDown() {
		f.respond(tx, req, 503, "Service Unavailable")
		return
	}
	roomName := req.Recipient.User
	if f.refuseRoomRequest(req, tx) {
		return
	}
	if !f.admitRate(f.rates.joins, hitJoinRate, req, tx) {
		return
	}
	if roomName == "" || !f.cfg.Rooms.Exists(roomName) {
		f.respond(tx, req, 404, "Not Found")
		return
	}
	// One room, one URI (issue 19): the room's own name, however the
	// Request-URI spells it, goes in the Contact of the answer.
	roomName = f.cfg.Rooms.Canonical(roomName)
	var canceled atomic.Bool
	if !tx.OnCancel(func(*sip.Request) { canceled.Store(true) }) {
		return // already canceled or terminated: sipgo has answered
	}
	// No 100 Trying of our own: sipgo's server transaction sends one if no
	// response has gone out within 200 ms (RFC 3261 §17.2.1), and a join
	// is normally answered well within that (one datagram less per join).

	pol, _ := f.cfg.Rooms.Lookup(roomName) // the policy the room has or will get
	if pol.RequireTLS && !secureTransport(req.Transport()) {
		f.send(tx, f.tlsRequired(req))
		return
	}
	id, ok := f.authenticate(req, tx, pol)
	if !ok {
		return
	}
	offer, info, nickOffer, errRes := f.parseOffer(req, pol.RequireTLS)
	if errRes != nil {
		f.send(tx, errRes)
		return
	}
	from := req.From()
	cseq := req.CSeq()
	contact := req.Contact()
	// The server's SIP guard has refused requests without From, To, Call-ID
	// or CSeq; Contact is the INVITE's own (RFC 3261 §8.1.1.8).
	if from == nil || cseq == nil || req.CallID() == nil || req.To() == nil {
		f.respond(tx, req, 400, "Missing From, To, Call-ID or CSeq")
		return
	}
	if contact == nil {
		f.respond(tx, req, 400, "Missing Contact")
		return
	}

	// What the dialog holds against its source and identity, from now
	// until it leaves the table (forget); released here if it never gets
	// there. An ad hoc room it creates counts as well, until deleted.
	dc := f.ledger.chargeFor(kindDialog, req, nil)
	if hit, ok := f.ledger.acquire(dc); !ok {
		f.refuseLimit(tx, req, hit)
		return
	}
	admitted := false
	defer func() {
		if !admitted {
			f.ledger.release(dc)
		}
	}()
	var roomCharge *charge
	if _, exists := f.cfg.Rooms.Lookup(roomName); !exists {
		roomCharge = f.ledger.chargeFor(kindRoom, req, nil)
		if hit, ok := f.ledger.acquire(roomCharge); !ok {
			f.refuseLimit(tx, req, hit)
			return
		}
	}

	d := &dialog{
		charge:     dc,
		roomName:   roomName,
		transport:  req.Transport(),
		source:     req.Source(),
		remote:     addrHeader(from.Value()),
		identity:   id.URI,
		state:      stateAccepted,
		remoteCSeq: cseq.SeqNo,
		localCSeq:  randUint32() & 0x7fffffff,
		acked:      make(chan struct{}),
		target:     contact.Address.String(),
		peerPath:   info.path,
	}
	for _, h := range req.GetHeaders("Record-Route") {
		d.routeSet = append(d.routeSet, strings.Clone(h.Value()))
	}

	sess, err := f.cfg.Switch.OpenSession(info.path, d)
	if err != nil {
		f.ledger.release(roomCharge)
		f.sessionError(tx, req, err)
		return
	}
	p := &room.Participant{
		ID: sess.ID(), URI: d.identity, Signalled: d.identity, RoomURI: bareURI(req.Recipient), Caps: info.caps, Value: d,
		AcceptTypes: info.accept, Wrapped: info.wrapped, HasWrapped: info.hasWrapd, MaxSize: info.maxSize,
		Account: id.Account, Guest: id.Guest,
	}
	if wantsAnonymity(req) {
		p.Anonymous, p.URI = true, f.anonymousURI()
		p.Endpoint = p.URI // nothing of its device may show (RFC 7701 §5.2)
	} else {
		p.Display, p.Endpoint = from.DisplayName, bareURI(contact.Address)
	}
	var owner any // the room's creator's charge, when this INVITE creates it
	if roomCharge != nil {
		owner = roomCharge
	}
	rm, created, err := f.cfg.Rooms.JoinAs(roomName, p, owner)
	if !created {
		f.ledger.release(roomCharge) // someone else created it meanwhile, or none was created
	}
	if err != nil {
		sess.Close()
		code, reason := joinError(err)
		f.respond(tx, req, code, reason)
		return
	}
	// The nickname offer is decided once p is in the room (draft-niemi-00
	// §4.3.2); the roster hears of the nickname after Joined.
	var nickAnswer *confinfo.NicknameInfo
	nickChanged := false
	if nickOffer != nil {
		// Never stale: the dialog's first offer.
		nickAnswer, nickChanged, _ = f.answerNicknames(d, rm, p, nickOffer)
	}
	sessID := uint64(randUint32())
	answer := f.buildAnswer(offer, info, sess.LocalURI(), *rm.Policy(), sessID, 1)
	res := f.answerResponse(req, d.roomName, d.transport, answer, nickAnswer)
	tag, _ := res.To().Params.Get("tag")
	remoteTag, _ := from.Params.Get("tag")

	// The switch already holds d (as the session's handle) and may report
	// the session's end from another goroutine: fill d in under its lock.
	d.mu.Lock()
	d.session, d.room, d.participant = sess, rm, p
	d.sdpSessID, d.sdpVersion, d.answerSum = sessID, 1, sha256.Sum256(answer)
	d.local = addrHeader(res.To().Value())
	// Copies: the request's strings may share its text.
	d.key = dialogKey{callID: strings.Clone(req.CallID().Value()), localTag: tag, remoteTag: strings.Clone(remoteTag)}
	d.mu.Unlock()
	f.stats.joins.Add(1)
	if f.cfg.Roster != nil {
		f.cfg.Roster.Joined(rm, p)
	}
	if nickChanged {
		f.nicknameChanged(rm, p)
	}

	if f.cfg.beforeAnswer != nil {
		f.cfg.beforeAnswer()
	}
	// Before the 2xx, since its ACK or BYE may come at once; refused once
	// Shutdown has begun, so every admitted dialog gets Shutdown's BYE.
	if !f.admit(d) {
		f.rollback(d)
		f.respond(tx, req, 503, "Service Unavailable")
		return
	}
	admitted = true // from now on the dialog's charge goes with it (forget)
	if canceled.Load() {
		f.rollback(d)
		return
	}
	acked := d.expectAck(cseq.SeqNo) // before the 2xx: its ACK may come at once
	f.stats.response(res)
	if err := tx.Respond(res); err != nil {
		f.log.Info("INVITE ended before the answer", "room", roomName, "error", err)
		f.rollback(d)
		return
	}
	f.awaitAck(d, res, acked)
	f.log.Info("participant joined", "room", roomName, "participant", d.identity, "session", sess.ID(), "transport", d.transport)
}

// answerResponse builds a 2xx to an INVITE carrying our SDP answer, and
// with a nickname-info answer (non-nil nickAnswer) both in a
// multipart/mixed body, SDP first; see withNicknameAnswer for an answer
// too large for UDP.
func (f *Focus) answerResponse(req *sip.Request, roomName, transport string, answer []byte, nickAnswer *confinfo.NicknameInfo) *sip.Response {
	build := func(doc []byte) *sip.Response {
		body, ct := answer, sdpType
		if doc != nil {
			body, ct = mixedBody(bodyPart{sdpType, answer}, bodyPart{confinfo.NicknameMIMEType, doc})
		}
		res := sip.NewResponseFromRequest(req, 200, "OK", body)
		res.AppendHeader(f.roomContact(roomName, transport))
		addFocusHeaders(res)
		res.AppendHeader(sip.NewHeader("Content-Type", ct))
		return res
	}
	if nickAnswer == nil {
		return build(nil)
	}
	return f.withNicknameAnswer(req, nickAnswer, build)
}

// sessionError answers an INVITE whose MSRP session could not be opened.
func (f *Focus) sessionError(tx sip.ServerTransaction, req *sip.Request, err error) {
	if f.shuttingDown() {
		f.respond(tx, req, 503, "Service Unavailable")
		return
	}
	f.log.Error("opening an MSRP session failed", "error", err)
	f.respond(tx, req, 500, "Server Internal Error")
}

// rollback undoes an INVITE that was canceled or could not be answered.
func (f *Focus) rollback(d *dialog) {
	if !d.terminate() {
		return
	}
	f.forget(d)
	d.mu.Lock()
	sess, rm, p := d.session, d.room, d.participant
	d.mu.Unlock()
	sess.Close()
	f.leaveRoom(rm, p)
}

func joinError(err error) (int, string) {
	switch {
	case errors.Is(err, room.ErrRoomFull):
		return 486, "Room Full"
	case errors.Is(err, room.ErrTooManyRooms):
		return 503, "Too Many Rooms"
	case errors.Is(err, room.ErrNameTooLong):
		return 414, reasonNameTooLong
	default:
		return 404, "Not Found"
	}
}

// onReInvite answers an INVITE inside a dialog (RFC 3261 §14.2).
func (f *Focus) onReInvite(req *sip.Request, tx sip.ServerTransaction) {
	d := f.liveDialog(req, tx)
	if d == nil {
		return
	}
	cseq := req.CSeq()
	d.mu.Lock()
	if d.inviting {
		d.mu.Unlock()
		res := sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil)
		res.AppendHeader(retryAfter())
		f.send(tx, res)
		return
	}
	d.inviting = true
	d.mu.Unlock()
	f.send(tx, sip.NewResponseFromRequest(req, 100, "Trying", nil))
	// The flag is cleared before the final response goes out: RFC 3261
	// §14.2 refuses only a re-INVITE that overlaps one still unanswered.
	res, old := f.reInvite(req, d, cseq.SeqNo)
	if res.StatusCode == 200 {
		acked := d.expectAck(cseq.SeqNo) // before the 2xx: its ACK may come at once
		f.send(tx, res)
		f.awaitAck(d, res, acked)
	} else {
		f.send(tx, res)
	}
	if old != nil {
		// Closed after the 200, so that a participant moving its session
		// to a connection it already has is not cut off meanwhile.
		old.Close()
	}
}

// reInvite processes a re-INVITE and returns its final response and, when
// the offer moved the MSRP session, the old session to close. The answer is
// built from the new offer (its m-lines decide the answer's, RFC 3264 §8);
// the session is kept unless the offer changes the participant's path, and
// the o= version goes up only when the answer changes. A failed re-INVITE
// leaves everything as it was (RFC 3261 §14.2).
func (f *Focus) reInvite(req *sip.Request, d *dialog, cseq uint32) (*sip.Response, Session) {
	defer func() {
		d.mu.Lock()
		d.inviting = false
		d.mu.Unlock()
	}()
	d.mu.Lock()
	requireTLS := d.room.Policy().RequireTLS
	d.mu.Unlock()
	offer, info, nickOffer, errRes := f.parseOffer(req, requireTLS)
	if errRes != nil {
		return errRes, nil
	}
	d.mu.Lock()
	changed := !msrp.PathEqual(info.path, d.peerPath)
	sess, pol, rm, p := d.session, *d.room.Policy(), d.room, d.participant
	d.mu.Unlock()
	if nickOffer != nil {
		if err := d.nick.check(nickOffer.Version); err != nil {
			return f.badNicknameOffer(req, err), nil // a stale offer refuses the re-INVITE before anything changes
		}
	}

	var old Session
	if changed {
		moved, err := f.cfg.Switch.OpenSession(info.path, d)
		if err != nil {
			code, reason := 500, "Server Internal Error"
			if f.shuttingDown() {
				code, reason = 503, "Service Unavailable"
			}
			return sip.NewResponseFromRequest(req, code, reason, nil), nil
		}
		old, sess = sess, moved
	}
	d.mu.Lock()
	if d.state == stateTerminated { // a BYE or the switch ended the dialog meanwhile
		d.mu.Unlock()
		if old != nil {
			sess.Close()
		}
		return sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil), nil
	}
	if c := req.Contact(); c != nil {
		d.target = c.Address.String()
	}
	answer := f.buildAnswer(offer, info, sess.LocalURI(), pol, d.sdpSessID, d.sdpVersion)
	if sum := sha256.Sum256(answer); sum != d.answerSum {
		d.sdpVersion++ // same o= session-id, next version (RFC 4566 §5.2)
		answer = f.buildAnswer(offer, info, sess.LocalURI(), pol, d.sdpSessID, d.sdpVersion)
	}
	d.session, d.peerPath, d.answerSum = sess, info.path, sha256.Sum256(answer)
	d.mu.Unlock()
	if old != nil {
		f.log.Info("re-INVITE moved the MSRP session", "room", d.roomName, "participant", d.identity, "session", sess.ID())
	}
	// The nickname offer is decided once the re-INVITE cannot fail any more.
	var nickAnswer *confinfo.NicknameInfo
	if nickOffer != nil {
		a, nickChanged, err := f.answerNicknames(d, rm, p, nickOffer)
		if err != nil { // an INFO answered meanwhile made it stale
			f.log.Info("nickname-info offer of a re-INVITE unanswered", "room", d.roomName, "participant", d.identity, "error", err)
		} else {
			nickAnswer = a
			if nickChanged {
				f.nicknameChanged(rm, p)
			}
		}
	}
	return f.answerResponse(req, d.roomName, d.transport, answer, nickAnswer), old
}

func (f *Focus) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	name := req.Recipient.User
	if f.cfg.Rooms.NameTooLong(name) {
		f.ledger.count(&f.ledger.stats.NameTooLong)
		f.respond(tx, req, 414, reasonNameTooLong)
		return
	}
	if name != "" {
		if _, ok := f.cfg.Rooms.Lookup(name); !ok && !f.cfg.Rooms.Exists(name) {
			f.respond(tx, req, 404, "Not Found")
			return
		}
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	if name != "" {
		res.AppendHeader(f.roomContact(f.cfg.Rooms.Canonical(name), req.Transport()))
	}
	addFocusHeaders(res)
	f.send(tx, res)
}

// secureTransport reports whether a request came over a transport that
// protects it: TLS (RFC 3261 §26.2), or a WebSocket over TLS (wss, RFC
// 7118 §5). Checked on the transport the request arrived by (sipgo's,
// from the listener), never on what its Via claims.
func secureTransport(transport string) bool {
	return strings.EqualFold(transport, "TLS") || strings.EqualFold(transport, "WSS")
}

// tlsRequired is the 488 of a room that requires TLS (RFC 7701 §4.1) to an
// INVITE that did not come over TLS, with a Warning that says why (RFC
// 3261 §20.43: 399, our host, the text).
func (f *Focus) tlsRequired(req *sip.Request) *sip.Response {
	res := sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil)
	res.AppendHeader(f.warning("this room requires TLS: join over SIP/TLS (sips:, port 5061 by default) or a secure WebSocket with an msrps MSRP path"))
	return res
}

func randUint32() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

// refuseRoomRequest answers a request that would join or watch a room
// (INVITE, SUBSCRIBE) and must not: 414 for a room name over
// rooms.max_name_bytes (RFC 3261 §21.4.12: a Request-URI longer than the
// server is willing to interpret), 403 for a reserved identity as From
// (reservedIdentity). It reports whether it answered.
func (f *Focus) refuseRoomRequest(req *sip.Request, tx sip.ServerTransaction) bool {
	switch {
	case f.cfg.Rooms.NameTooLong(req.Recipient.User):
		f.ledger.count(&f.ledger.stats.NameTooLong)
		f.respond(tx, req, 414, reasonNameTooLong)
	case f.reservedIdentity(req):
		f.ledger.count(&f.ledger.stats.ReservedIdentity)
		f.respond(tx, req, 403, reasonReserved)
	default:
		return false
	}
	return true
}

// refuseLimit answers 503 for a limit reached: Retry-After (RFC 3261
// §21.5.4; random, so that refused clients do not all come back at once)
// and the limit as the reason phrase.
func (f *Focus) refuseLimit(tx sip.ServerTransaction, req *sip.Request, hit limitHit) {
	res := sip.NewResponseFromRequest(req, 503, string(hit), nil)
	res.AppendHeader(retryAfter())
	f.send(tx, res)
	f.log.Debug("limit reached", "method", string(req.Method), "source", req.Source(), "limit", string(hit))
}
