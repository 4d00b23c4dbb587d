package focus

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/conference"
	"github.com/parley-im/parley/internal/room"
)

// The conference event package (RFC 4575, RFC 6665 subscriptions, RFC 4579
// §3.4): the focus answers SUBSCRIBEs to room URIs and sends the NOTIFYs
// that internal/conference decides on.

const (
	eventConference   = "conference"
	conferenceInfoXML = "application/conference-info+xml"

	// Defaults of the Config fields left zero.
	defaultSubscriptionExpires    = time.Hour
	defaultMinSubscriptionExpires = time.Minute
	defaultNotifyTimeout          = 10 * time.Second
)

// subscription is one SUBSCRIBE dialog: its own (the usual case, RFC 4579
// §3.4: outside the INVITE dialog) or the participant's INVITE dialog (inv).
type subscription struct {
	key      dialogKey
	roomName string
	hop      hop
	local    sip.ToHeader   // the room URI + our tag: From of our NOTIFYs
	remote   sip.FromHeader // the subscriber + its tag: To of our NOTIFYs
	routeSet []string
	contact  *sip.ContactHeader // ours, in every NOTIFY (RFC 6665 §4.2.2)
	inv      *dialog            // non-nil: the subscription shares this INVITE dialog's target and CSeq
	charge   *charge            // what it holds against its source, identity and room (limits.go)
	// verified: the subscriber has shown it receives what we send to the
	// address the SUBSCRIBE came from (see udpVerified); until then its
	// NOTIFYs go over TCP, and over UDP only within udpBudget.
	verified atomic.Bool
	// udpBudget is what the pending NOTIFYs may weigh together that go,
	// unverified, to the UDP address the SUBSCRIBE came from: with our
	// 200, about three times the SUBSCRIBE's own size (probe).
	udpBudget int

	mu         sync.Mutex // guards the fields below
	target     sip.Uri    // the subscriber's Contact (remote target)
	remoteCSeq uint32
	localCSeq  uint32
	sub        *conference.Subscription // set once the notifier has it
	ended      bool                     // the final NOTIFY went out, or one failed
}

// checkCSeq applies RFC 3261 §12.2.2 to a SUBSCRIBE in the dialog.
func (s *subscription) checkCSeq(n uint32) bool {
	if s.inv != nil {
		return s.inv.checkCSeq(n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < s.remoteCSeq {
		return false
	}
	s.remoteCSeq = n
	return true
}

// next returns the remote target and CSeq of our next NOTIFY.
func (s *subscription) next() (sip.Uri, uint32) {
	if s.inv != nil {
		cseq := s.inv.nextLocalCSeq()
		s.inv.mu.Lock()
		defer s.inv.mu.Unlock()
		return s.inv.targetURI(), cseq
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.localCSeq++
	return s.target, s.localCSeq
}

// onSubscribe answers a SUBSCRIBE: 489 for another event package, 406 when
// Accept excludes conference-info, 400/423 for a bad or too brief Expires,
// then a new subscription (404 for no such room) or, in an existing dialog,
// a refresh or an unsubscription (481 for no such dialog). The 200 goes
// out before the NOTIFY it triggers.
func (f *Focus) onSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	if f.cfg.Conference == nil {
		f.onNoRoute(req, tx)
		return
	}
	if !isConferenceEvent(req) {
		res := sip.NewResponseFromRequest(req, 489, "Bad Event", nil)
		res.AppendHeader(sip.NewHeader("Allow-Events", eventConference))
		f.send(tx, res)
		return
	}
	if !acceptsConferenceInfo(req) {
		res := sip.NewResponseFromRequest(req, 406, "Not Acceptable", nil)
		res.AppendHeader(sip.NewHeader("Accept", conferenceInfoXML))
		f.send(tx, res)
		return
	}
	expires, ok := f.subscriptionExpires(req)
	if !ok {
		f.respond(tx, req, 400, "Bad Expires")
		return
	}
	if expires > 0 && expires < f.cfg.MinSubscriptionExpires {
		res := sip.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
		res.AppendHeader(sip.NewHeader("Min-Expires", seconds(f.cfg.MinSubscriptionExpires)))
		f.send(tx, res)
		return
	}
	if to := req.To(); to != nil && to.Params.Has("tag") {
		f.resubscribe(req, tx, expires)
		return
	}
	if f.refuseRoomRequest(req, tx) {
		return
	}
	f.newSubscription(req, tx, expires)
}

// newSubscription creates a subscription dialog of its own.
func (f *Focus) newSubscription(req *sip.Request, tx sip.ServerTransaction, expires time.Duration) {
	if f.shuttingDown() {
		f.respond(tx, req, 503, "Service Unavailable")
		return
	}
	if !f.admitRate(f.rates.subs, hitSubsRate, req, tx) {
		return
	}
	// Who may watch (issue 17): the room's policy decides whether a guest
	// may; an account's URI must be proved.
	pol, _ := f.cfg.Rooms.Lookup(req.Recipient.User)
	id, ok := f.authenticate(req, tx, pol)
	if !ok {
		return
	}
	if pol.WatchersParticipantsOnly && !f.inRoom(req.Recipient.User, id.URI) {
		f.respond(tx, req, 403, "Only Participants May Watch This Room")
		return
	}
	rm, err := f.cfg.Rooms.Open(req.Recipient.User)
	if err != nil {
		code, reason := 404, "Not Found"
		switch {
		case errors.Is(err, room.ErrTooManyRooms):
			code, reason = 503, "Too Many Rooms"
		case errors.Is(err, room.ErrNameTooLong):
			code, reason = 414, reasonNameTooLong
		}
		f.respond(tx, req, code, reason)
		return
	}
	from, cseq, contact, cid := req.From(), req.CSeq(), req.Contact(), req.CallID()
	if from == nil || cseq == nil || contact == nil || cid == nil || req.To() == nil {
		f.respond(tx, req, 400, "Missing From, To, CSeq, Call-ID or Contact")
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	tag, _ := res.To().Params.Get("tag")
	remoteTag, _ := from.Params.Get("tag")
	s := &subscription{
		key:        dialogKey{callID: cid.Value(), localTag: tag, remoteTag: remoteTag},
		roomName:   rm.Name,
		hop:        hop{req.Transport(), req.Source()},
		local:      *res.To(),
		remote:     *from,
		contact:    f.roomContact(rm.Name, req.Transport()),
		target:     contact.Address,
		remoteCSeq: cseq.SeqNo,
		localCSeq:  randUint32() & 0x7fffffff,
		udpBudget:  udpBudget(req),
	}
	for _, h := range req.GetHeaders("Record-Route") {
		s.routeSet = append(s.routeSet, h.Value())
	}
	s.verified.Store(f.udpVerified(s.hop, nil))
	if !f.admitSubscription(s, req, tx, rm) {
		return
	}
	f.grant(tx, res, s.contact, expires)
	f.start(s, rm, req, expires)
}

// resubscribe handles a SUBSCRIBE inside a dialog: a refresh or an
// unsubscription of a subscription, or a first subscription inside a
// participant's INVITE dialog.
func (f *Focus) resubscribe(req *sip.Request, tx sip.ServerTransaction, expires time.Duration) {
	k, ok := keyOf(req)
	var s *subscription
	if ok {
		s = f.subs.get(k)
	}
	if s == nil {
		d := f.dialogOf(req)
		if d == nil || d.terminated() {
			f.respond(tx, req, 481, "Subscription Does Not Exist")
			return
		}
		f.subscribeInDialog(req, tx, d, expires)
		return
	}
	if cseq := req.CSeq(); cseq == nil || !s.checkCSeq(cseq.SeqNo) {
		f.respond(tx, req, 500, "CSeq Out of Order")
		return
	}
	s.verified.Store(true) // it knew our To tag: it got our 200 where we sent it
	s.mu.Lock()
	sub, ended := s.sub, s.ended
	if c := req.Contact(); c != nil && s.inv == nil {
		s.target = c.Address
	}
	s.mu.Unlock()
	switch {
	case ended:
		f.respond(tx, req, 481, "Subscription Does Not Exist")
		return
	case sub == nil: // its first NOTIFY is being handed over this instant
		res := sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil)
		res.AppendHeader(retryAfter())
		f.send(tx, res)
		return
	}
	f.grant(tx, sip.NewResponseFromRequest(req, 200, "OK", nil), s.contact, expires)
	if expires == 0 {
		sub.Unsubscribe()
	} else {
		sub.Refresh(expires)
	}
}

// subscribeInDialog creates a subscription sharing the participant's INVITE
// dialog d (some clients subscribe inside it; RFC 4579 §3.4 only prefers
// outside).
func (f *Focus) subscribeInDialog(req *sip.Request, tx sip.ServerTransaction, d *dialog, expires time.Duration) {
	if cseq := req.CSeq(); cseq == nil || !d.checkCSeq(cseq.SeqNo) {
		f.respond(tx, req, 500, "CSeq Out of Order")
		return
	}
	d.mu.Lock()
	rm, local, key := d.room, d.local, d.key
	d.mu.Unlock()
	if rm == nil {
		f.respond(tx, req, 481, "Subscription Does Not Exist")
		return
	}
	s := &subscription{
		key:       key,
		roomName:  rm.Name,
		hop:       hop{d.transport, d.source},
		local:     local.to(),
		remote:    d.remote.from(),
		routeSet:  d.routeSet,
		contact:   f.roomContact(rm.Name, d.transport),
		inv:       d,
		udpBudget: udpBudget(req),
	}
	s.verified.Store(f.udpVerified(s.hop, d))
	if !f.admitSubscription(s, req, tx, rm) {
		return
	}
	f.grant(tx, sip.NewResponseFromRequest(req, 200, "OK", nil), s.contact, expires)
	f.start(s, rm, req, expires)
}

// admitSubscription puts s in the table unless Shutdown has begun (503)
// or a limit is reached (503 naming it); it answers req when it does not.
// From then on s holds its charge until it leaves the table
// (forgetSubscription).
func (f *Focus) admitSubscription(s *subscription, req *sip.Request, tx sip.ServerTransaction, rm *room.Room) bool {
	c := f.ledger.chargeFor(kindSubscription, req, rm)
	if hit, ok := f.ledger.acquire(c); !ok {
		f.refuseLimit(tx, req, hit)
		return false
	}
	s.charge = c
	f.mu.Lock()
	closed := f.closed
	if !closed {
		f.subs.put(s.key, s)
	}
	f.mu.Unlock()
	if closed {
		f.ledger.release(c)
		f.respond(tx, req, 503, "Service Unavailable")
		return false
	}
	return true
}

// forgetSubscription takes s out of the table and releases its charge.
func (f *Focus) forgetSubscription(s *subscription) {
	f.subs.remove(s.key, s)
	f.ledger.release(s.charge)
}

// udpVerified reports whether a subscription over p may get NOTIFYs over
// UDP: p is a stream transport, or its UDP source has shown it receives
// what we send there: a request of the INVITE dialog d it subscribes in
// (nil: none), or of any live dialog from that address, arrived (it
// carried our To tag). Otherwise the source may be spoofed, and every
// NOTIFY, retransmitted over UDP, would be traffic aimed at a third party:
// such a subscriber gets its NOTIFYs over TCP (overStream) until one is
// answered or it refreshes the subscription.
func (f *Focus) udpVerified(p hop, d *dialog) bool {
	if sip.IsReliable(p.transport) || (d != nil && d.wasHeard()) {
		return true
	}
	ap, err := netip.ParseAddrPort(p.source)
	return err == nil && f.ledger.heardFrom(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
}

// grant sends the 200 to a SUBSCRIBE with the duration granted.
func (f *Focus) grant(tx sip.ServerTransaction, res *sip.Response, contact *sip.ContactHeader, expires time.Duration) {
	res.AppendHeader(sip.NewHeader("Expires", seconds(expires)))
	res.AppendHeader(contact)
	res.AppendHeader(sip.NewHeader("Allow-Events", eventConference))
	f.send(tx, res)
}

// start hands a new subscription to the notifier, which sends the full
// document at once. Expires 0 is a fetch (RFC 6665 §4.4.3): that document,
// then the end.
func (f *Focus) start(s *subscription, rm *room.Room, req *sip.Request, expires time.Duration) {
	// The document's entity is the room's canonical URI (issue 19; RFC
	// 4575 §5.2 makes it the conference URI), whatever alias, port or
	// transport the subscriber used.
	entity := bareURI(s.contact.Address)
	if f.cfg.RoomURI != nil {
		entity = f.cfg.RoomURI(rm)
	}
	sub := f.cfg.Conference.Subscribe(rm, entity, s, expires) // 0: one terminated NOTIFY
	s.mu.Lock()
	s.sub = sub
	s.mu.Unlock()
	f.log.Debug("subscription", "room", rm.Name, "subscriber", s.remote.Address.String(), "expires", expires)
	if !f.cfg.Rooms.Live(rm) {
		// Deleted between Open and Subscribe: its RoomDeleted may have
		// missed this subscription.
		f.cfg.Conference.RoomDeleted(rm)
	}
}

// SendNotify implements conference.Sender: the NOTIFY goes out from a
// tracked goroutine; a subscription whose NOTIFY fails, or whose final
// NOTIFY went out, leaves the table.
//
// A subscriber over UDP that has not shown it receives what we send to
// the address its SUBSCRIBE came from (verified: a source address can be
// forged) first gets a small NOTIFY with Subscription-State: pending and
// no body (RFC 6665 §4.2.1: the subscription is not yet authorized, and
// its state not yet shown): probe. Once it answers, the NOTIFY the
// notifier asked for follows. So a forged SUBSCRIBE gets the source at
// most about 3× its own size back (the 200 and the probe), never a
// conference document, and an honest UDP-only subscriber still gets every
// NOTIFY.
func (f *Focus) SendNotify(handle any, n conference.Notify, done func(ok bool)) {
	s, isSub := handle.(*subscription)
	if !isSub {
		done(false)
		return
	}
	finish := func(ok bool) {
		if ok {
			s.verified.Store(true)
		}
		if !ok || n.Terminated {
			s.mu.Lock()
			s.ended = true
			s.mu.Unlock()
			f.forgetSubscription(s)
		}
		done(ok)
	}
	started := f.goTracked(func() {
		// Once shutdown begins NOTIFY answers are not awaited (BYE's
		// are): the final NOTIFYs are written, and a subscriber that went
		// away cannot hold the shutdown for NotifyTimeout.
		ctx, cancel := context.WithTimeout(context.Background(), f.cfg.NotifyTimeout)
		defer cancel()
		if !s.verified.Load() && !sip.IsReliable(s.hop.transport) {
			if err := f.probe(ctx, s, n); err != nil {
				f.log.Info("UDP subscriber did not answer the pending NOTIFY; subscription dropped", "room", s.roomName, "subscriber", s.remote.Address.String(), "error", err)
				f.ledger.count(&f.ledger.stats.UnverifiedDropped)
				finish(false)
				return
			}
			s.verified.Store(true)
		}
		req, moved := f.buildNotify(s, n, false)
		res, err := f.transact(ctx, req, f.done)
		if err != nil && moved && refused(err) {
			// RFC 3261 §18.1.1: a request that went over TCP only for its
			// size, whose connection was refused, is retried over UDP.
			req, _ = f.buildNotify(s, n, true)
			res, err = f.transact(ctx, req, f.done)
		}
		switch {
		case err != nil:
			f.log.Info("NOTIFY failed; subscription dropped", "room", s.roomName, "subscriber", s.remote.Address.String(), "error", err)
			finish(false)
		case !res.IsSuccess():
			f.log.Info("NOTIFY refused; subscription dropped", "room", s.roomName, "subscriber", s.remote.Address.String(), "status", res.StatusCode)
			finish(false)
		default:
			finish(true)
		}
	})
	if !started {
		finish(false)
	}
}

// udpBudget is what the pending NOTIFYs to the unverified UDP source of
// the SUBSCRIBE req may weigh: three times req's size, less our 200 (about
// req's size again), so that the source never gets more than about 3×
// what it sent.
func udpBudget(req *sip.Request) int {
	if sip.IsReliable(req.Transport()) {
		return 0
	}
	return 2 * len(req.String())
}

// buildNotify builds a NOTIFY of subscription s (RFC 6665 §4.2.2) and
// reports whether it goes over TCP although the subscription came over
// UDP (overStream), unless udp asks to keep it on UDP.
func (f *Focus) buildNotify(s *subscription, n conference.Notify, udp bool) (req *sip.Request, moved bool) {
	target, cseq := s.next()
	req = f.inDialog(sip.NOTIFY, target, s.local, s.remote, s.key.callID, cseq, s.routeSet, s.hop)
	defer func() { // once its body is in
		if !udp {
			moved = f.overStream(req, s.hop, target, !s.verified.Load())
		}
	}()
	req.AppendHeader(s.contact)
	req.AppendHeader(sip.NewHeader("Event", eventConference))
	state := "active;expires=" + seconds(n.Expires)
	if n.Pending {
		state = "pending;expires=" + seconds(n.Expires)
	}
	if n.Terminated {
		state = "terminated"
		if n.Reason != "" {
			state += ";reason=" + n.Reason
		}
	}
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	if n.Body != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", conferenceInfoXML))
	}
	req.SetBody(n.Body)
	return req, false
}

// Subscriptions returns the number of live subscription dialogs.
func (f *Focus) Subscriptions() int { return f.subs.len() }

// isConferenceEvent reports whether the Event header names the conference
// package (RFC 6665 §8.2.1: the package name, then parameters such as id).
func isConferenceEvent(req *sip.Request) bool {
	h := req.GetHeader("Event")
	if h == nil {
		h = req.GetHeader("o") // compact form
	}
	if h == nil {
		return false
	}
	pkg, _, _ := strings.Cut(h.Value(), ";")
	return strings.EqualFold(strings.TrimSpace(pkg), eventConference)
}

// acceptsConferenceInfo reports whether the SUBSCRIBE's Accept headers, if
// any, admit application/conference-info+xml (RFC 6665 §4.1.2: absent
// means the package's default type).
func acceptsConferenceInfo(req *sip.Request) bool {
	hs := req.GetHeaders("Accept")
	if len(hs) == 0 {
		return true
	}
	for _, h := range hs {
		for _, r := range strings.Split(h.Value(), ",") {
			mt, _, _ := strings.Cut(r, ";")
			switch strings.ToLower(strings.TrimSpace(mt)) {
			case conferenceInfoXML, "application/*", "*/*":
				return true
			}
		}
	}
	return false
}

// subscriptionExpires returns the duration to grant: the request's Expires
// capped at SubscriptionExpires, that when absent; false for a malformed one.
func (f *Focus) subscriptionExpires(req *sip.Request) (time.Duration, bool) {
	h := req.GetHeader("Expires")
	if h == nil {
		return f.cfg.SubscriptionExpires, true
	}
	n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
	if err != nil {
		return 0, false
	}
	d := time.Duration(n) * time.Second
	if d > f.cfg.SubscriptionExpires {
		d = f.cfg.SubscriptionExpires
	}
	return d, true
}

// seconds formats d as whole seconds, rounded up.
func seconds(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}
