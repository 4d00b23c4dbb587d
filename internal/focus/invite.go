package focus

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"

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

// parseOffer checks the body of an INVITE: 415 for a body that is not SDP,
// 400 for unparseable SDP, 488 (with a Warning) when no MSRP stream can
// carry the chat. On failure it returns the error response to send.
func (f *Focus) parseOffer(req *sip.Request) (*sdp.Session, offerInfo, *sip.Response) {
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = strings.ToLower(strings.TrimSpace(strings.SplitN(h.Value(), ";", 2)[0]))
	}
	body := req.Body()
	switch {
	case len(body) == 0:
		res := sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil)
		res.AppendHeader(f.warning("an SDP offer in the INVITE is required"))
		return nil, offerInfo{}, res
	case ct != "application/sdp":
		res := sip.NewResponseFromRequest(req, 415, "Unsupported Media Type", nil)
		res.AppendHeader(sip.NewHeader("Accept", acceptTypes))
		return nil, offerInfo{}, res
	}
	offer, err := sdp.Parse(body)
	if err != nil {
		res := sip.NewResponseFromRequest(req, 400, "Bad SDP", nil)
		res.AppendHeader(f.warning(err.Error()))
		return nil, offerInfo{}, res
	}
	info, err := pickMSRP(offer)
	if err != nil {
		res := sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil)
		res.AppendHeader(f.warning(err.Error()))
		return nil, offerInfo{}, res
	}
	return offer, info, nil
}

func (f *Focus) onNewInvite(req *sip.Request, tx sip.ServerTransaction) {
	if f.shuttingDown() {
		f.respond(tx, req, 503, "Service Unavailable")
		return
	}
	roomName := req.Recipient.User
	if roomName == "" || !f.cfg.Rooms.Exists(roomName) {
		f.respond(tx, req, 404, "Not Found")
		return
	}
	var canceled atomic.Bool
	tx.OnCancel(func(*sip.Request) { canceled.Store(true) })
	f.send(tx, sip.NewResponseFromRequest(req, 100, "Trying", nil))

	offer, info, errRes := f.parseOffer(req)
	if errRes != nil {
		f.send(tx, errRes)
		return
	}
	from := req.From()
	cseq := req.CSeq()
	contact := req.Contact()
	if from == nil || cseq == nil || contact == nil {
		f.respond(tx, req, 400, "Missing From, CSeq or Contact")
		return
	}

	d := &dialog{
		roomName:   roomName,
		transport:  req.Transport(),
		source:     req.Source(),
		remote:     *from,
		identity:   from.Address.Addr(),
		state:      stateAccepted,
		remoteCSeq: cseq.SeqNo,
		localCSeq:  randUint32() & 0x7fffffff,
		unacked:    map[uint32]struct{}{cseq.SeqNo: {}},
		acked:      make(chan struct{}),
		target:     contact.Address,
		peerPath:   info.path,
	}
	for _, h := range req.GetHeaders("Record-Route") {
		d.routeSet = append(d.routeSet, h.Value())
	}

	sess, err := f.cfg.Switch.OpenSession(info.path, d)
	if err != nil {
		f.log.Error("opening an MSRP session failed", "error", err)
		f.respond(tx, req, 500, "Server Internal Error")
		return
	}
	p := &room.Participant{ID: sess.ID(), URI: d.identity, Caps: info.caps, Value: d}
	rm, err := f.cfg.Rooms.Join(roomName, p)
	if err != nil {
		sess.Close()
		code, reason := joinError(err)
		f.respond(tx, req, code, reason)
		return
	}
	sessID := uint64(randUint32())
	answer := f.buildAnswer(offer, info, sess.LocalURI(), rm.Policy, sessID, 1)
	res := sip.NewResponseFromRequest(req, 200, "OK", answer)
	res.AppendHeader(f.roomContact(roomName, d.transport))
	addFocusHeaders(res)
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	to := res.To()
	tag, _ := to.Params.Get("tag")
	remoteTag, _ := from.Params.Get("tag")

	// The switch already holds d (as the session's handle) and may report
	// the session's end from another goroutine: fill d in under its lock.
	d.mu.Lock()
	d.session, d.room, d.participant = sess, rm, p
	d.sdpSessID, d.sdpVersion, d.answer = sessID, 1, answer
	d.local = *to
	d.key = dialogKey{callID: req.CallID().Value(), localTag: tag, remoteTag: remoteTag}
	d.mu.Unlock()

	if f.cfg.beforeAnswer != nil {
		f.cfg.beforeAnswer()
	}
	f.dialogs.put(d) // before the 2xx: its ACK or BYE may come at once
	if canceled.Load() {
		f.rollback(d)
		return
	}
	if err := tx.Respond(res); err != nil {
		f.log.Info("INVITE ended before the answer", "room", roomName, "error", err)
		f.rollback(d)
		return
	}
	f.log.Info("participant joined", "room", roomName, "participant", d.identity, "session", sess.ID(), "transport", d.transport)
}

// rollback undoes an INVITE that was canceled or could not be answered.
func (f *Focus) rollback(d *dialog) {
	if !d.terminate() {
		return
	}
	f.dialogs.remove(d)
	d.mu.Lock()
	sess, rm, p := d.session, d.room, d.participant
	d.mu.Unlock()
	sess.Close()
	f.cfg.Rooms.Leave(rm, p.ID)
}

func joinError(err error) (int, string) {
	switch {
	case errors.Is(err, room.ErrRoomFull):
		return 486, "Room Full"
	case errors.Is(err, room.ErrTooManyRooms):
		return 503, "Too Many Rooms"
	default:
		return 404, "Not Found"
	}
}

// onReInvite answers an INVITE inside a dialog (RFC 3261 §14.2). The MSRP
// session is kept unless the offer changes the participant's path; then
// the participant gets a new session (and must connect to it).
func (f *Focus) onReInvite(req *sip.Request, tx sip.ServerTransaction) {
	k, ok := keyOf(req)
	var d *dialog
	if ok {
		d = f.dialogs.get(k)
	}
	if d == nil || d.terminated() {
		f.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	cseq := req.CSeq()
	if cseq == nil || !d.checkCSeq(cseq.SeqNo) {
		f.respond(tx, req, 500, "CSeq Out of Order")
		return
	}
	d.mu.Lock()
	if d.inviting {
		d.mu.Unlock()
		res := sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil)
		res.AppendHeader(sip.NewHeader("Retry-After", "1"))
		f.send(tx, res)
		return
	}
	d.inviting = true
	d.mu.Unlock()
	f.send(tx, sip.NewResponseFromRequest(req, 100, "Trying", nil))
	// The flag is cleared before the final response goes out: RFC 3261
	// §14.2 refuses only a re-INVITE that overlaps one still unanswered.
	f.send(tx, f.reInvite(req, d, cseq.SeqNo))
}

// reInvite processes a re-INVITE and returns its final response. A failed
// re-INVITE leaves the session as it was (RFC 3261 §14.2).
func (f *Focus) reInvite(req *sip.Request, d *dialog, cseq uint32) *sip.Response {
	defer func() {
		d.mu.Lock()
		d.inviting = false
		d.mu.Unlock()
	}()
	offer, info, errRes := f.parseOffer(req)
	if errRes != nil {
		return errRes
	}
	d.mu.Lock()
	if c := req.Contact(); c != nil {
		d.target = c.Address
	}
	changed := !msrp.PathEqual(info.path, d.peerPath)
	old, pol := d.session, d.room.Policy
	d.mu.Unlock()

	if changed {
		sess, err := f.cfg.Switch.OpenSession(info.path, d)
		if err != nil {
			return sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil)
		}
		d.mu.Lock()
		d.session, d.peerPath = sess, info.path
		d.sdpVersion++ // same o= session-id, next version (RFC 4566 §5.2)
		d.answer = f.buildAnswer(offer, info, sess.LocalURI(), pol, d.sdpSessID, d.sdpVersion)
		d.mu.Unlock()
		old.Close()
		f.log.Info("re-INVITE moved the MSRP session", "room", d.roomName, "participant", d.identity, "session", sess.ID())
	}
	d.mu.Lock()
	answer := d.answer
	d.unacked[cseq] = struct{}{}
	d.mu.Unlock()

	res := sip.NewResponseFromRequest(req, 200, "OK", answer)
	res.AppendHeader(f.roomContact(d.roomName, d.transport))
	addFocusHeaders(res)
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	return res
}

func (f *Focus) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	name := req.Recipient.User
	if name != "" {
		if _, ok := f.cfg.Rooms.Lookup(name); !ok && !f.cfg.Rooms.Exists(name) {
			f.respond(tx, req, 404, "Not Found")
			return
		}
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	if name != "" {
		res.AppendHeader(f.roomContact(name, req.Transport()))
	}
	addFocusHeaders(res)
	f.send(tx, res)
}

func randUint32() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}
