package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/confinfo"
)

// conferenceEvent is the event package of the roster (RFC 4575 §3.1).
const conferenceEvent = "conference"

// errNoNotify: no NOTIFY came within Timer N of the 2xx to SUBSCRIBE.
var errNoNotify = errors.New("no NOTIFY after the 2xx to SUBSCRIBE (RFC 6665 Timer N)")

// maxRosterRetries bounds the new subscriptions the roster goroutine makes
// in a row after one ended (terminated with a reason that allows it, 481 to
// a refresh, no answer); a refresh answered 2xx resets the count.
const maxRosterRetries = 3

// subscription is one subscription to the room's conference event package
// (RFC 4575, RFC 6665): a dialog of its own with the focus, outside the
// INVITE dialog (RFC 4579 §3.4), with a fresh Call-ID and From tag. d holds
// the dialog identifiers and the remote target, learnt from the first of
// the 2xx and the NOTIFY to arrive (RFC 6665 §4.1.2.4); the other fields
// are guarded by roster.mu, except expires.
type subscription struct {
	d       *dialog
	expires uint32 // the Expires we ask for; the roster goroutine's alone

	refreshAt  time.Time // when to refresh: before the granted duration runs out
	waitFirst  time.Time // when the first NOTIFY is overdue (Timer N after the 2xx); zero once one came
	notified   bool      // a NOTIFY has come
	refetch    bool      // a version gap or an unusable document: refresh for full state
	unusable   int       // documents in a row that asked for a refetch
	deleted    bool      // a document said the conference is deleted
	terminated bool      // a NOTIFY said Subscription-State: terminated
	reason     string    // its reason parameter
	retryAfter time.Duration
	final      chan struct{} // closed once terminated is set and the NOTIFY answered
}

// subscribe builds a SUBSCRIBE for the conference package with the next
// CSeq: to the room, without To tag, until the dialog is known; to the
// remote target, in the dialog, afterwards.
func (d *dialog) subscribe(expires uint32) *sip.Request {
	d.mu.Lock()
	d.cseq++
	target, tag, dest, seq := d.target, d.remoteTag, d.dest, d.cseq
	d.mu.Unlock()
	if tag == "" || target.Host == "" {
		target, dest = *d.room.Clone(), d.roomDest
	}
	req := d.base(sip.SUBSCRIBE, target, tag, seq, dest)
	req.AppendHeader(d.contact.Clone())
	req.AppendHeader(sip.NewHeader("Event", conferenceEvent))
	req.AppendHeader(sip.NewHeader("Accept", confinfo.MIMEType))
	exp := sip.ExpiresHeader(expires)
	req.AppendHeader(&exp)
	req.AppendHeader(sip.NewHeader("Allow", allowMethods))
	req.SetBody(nil)
	return req
}

// establish records the focus's tag, unless one is known already, and its
// Contact as the remote target (a NOTIFY is a target refresh request, RFC
// 6665 §4.1.2.4).
func (d *dialog) establish(tag string, contact *sip.ContactHeader) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.remoteTag == "" {
		d.remoteTag = tag
	}
	if contact != nil && contact.Address.Host != "" {
		d.target = *contact.Address.Clone()
		d.dest = d.targetDest(contact.Address)
	}
}

// established reports whether the focus's tag is known.
func (d *dialog) established() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.remoteTag != ""
}

// matches reports whether a NOTIFY belongs to the subscription: its
// Call-ID, our From tag as its To tag, the focus's tag as its From tag
// when known (else the NOTIFY teaches it), Event conference.
func (sub *subscription) matches(req *sip.Request) bool {
	cid, from, to := req.CallID(), req.From(), req.To()
	if cid == nil || from == nil || to == nil || cid.Value() != sub.d.callID {
		return false
	}
	if tt, _ := to.Params.Get("tag"); tt != sub.d.localTag {
		return false
	}
	if ev, _, _ := strings.Cut(headerValue(req, "Event", "o"), ";"); !strings.EqualFold(strings.TrimSpace(ev), conferenceEvent) {
		return false
	}
	ft, _ := from.Params.Get("tag")
	sub.d.mu.Lock()
	defer sub.d.mu.Unlock()
	return sub.d.remoteTag == "" || sub.d.remoteTag == ft
}

// learn takes the dialog from a matching NOTIFY.
func (sub *subscription) learn(req *sip.Request) {
	ft, _ := req.From().Params.Get("tag")
	sub.d.establish(ft, req.Contact())
}

// askFull asks the roster goroutine to refresh the subscription, for full
// state. roster.mu is held.
func (sub *subscription) askFull() {
	sub.refetch = true
	sub.unusable++
}

// shorten brings the refresh forward when the focus says the subscription
// expires sooner than we thought (Subscription-State's expires). roster.mu
// is held.
func (sub *subscription) shorten(secs uint32) {
	at := time.Now().Add(refreshIn(secs))
	if sub.refreshAt.IsZero() || at.Before(sub.refreshAt) {
		sub.refreshAt = at
	}
}

// refreshIn is when to refresh a subscription granted for secs seconds:
// at 3/4 of it, or 32 s before it expires if that is sooner, but not
// before half of it has passed.
func refreshIn(secs uint32) time.Duration {
	d := time.Duration(secs) * time.Second
	return max(min(d*3/4, d-32*time.Second), d/2)
}

// startRoster starts the leg's roster goroutine when the focus offers the
// conference package and Options.NoRoster is not set; otherwise RosterErr
// becomes ErrNoRoster. Called once the leg is live (by Join, or the
// reconnection); nothing starts once stopRoster has run for the leg.
func (s *Session) startRoster(l *leg) {
	r := s.roster
	r.mu.Lock()
	defer r.mu.Unlock()
	if l.rosterStopped || l.rosterStarted {
		return
	}
	if !s.cfg.roster || !l.isFocus || !l.conferenceEvents {
		if r.err == nil {
			r.err = ErrNoRoster
		}
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.rosterStarted, l.rosterCancel, l.rosterDone = true, cancel, make(chan struct{})
	go s.runRoster(ctx, l)
}

// stopRoster ends the leg's roster goroutine and waits for it: every wait
// of it is bounded by its context, so this is quick. Idempotent; never
// called on the roster goroutine.
func (s *Session) stopRoster(l *leg) {
	r := s.roster
	r.mu.Lock()
	l.rosterStopped = true
	started, cancel, done := l.rosterStarted, l.rosterCancel, l.rosterDone
	r.mu.Unlock()
	if started {
		cancel()
		<-done
	}
}

// leaveRoster stops the leg's roster goroutine, then unsubscribes on a
// goroutine of its own (so that it overlaps the BYE), bounded by ctx and
// the Timeout; the channel returned is closed when that is over. The
// caller waits for it before releasing the leg.
func (s *Session) leaveRoster(ctx context.Context, l *leg) <-chan struct{} {
	s.stopRoster(l)
	r := s.roster
	r.mu.Lock()
	sub := r.sub
	r.mu.Unlock()
	done := make(chan struct{})
	if sub == nil {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		s.unsubscribe(ctx, l, sub)
	}()
	return done
}

// unsubscribe sends SUBSCRIBE with Expires: 0 in an established, live
// subscription and, once it is answered 2xx, waits a little for the final
// NOTIFY (Options.unsubscribeGrace). Best effort, bounded by ctx and the
// Timeout; over as soon as the final NOTIFY comes, answered or not. Not
// done when the focus's BYE said the server is shutting down: it ends
// the subscriptions itself, and may no longer answer.
func (s *Session) unsubscribe(ctx context.Context, l *leg, sub *subscription) {
	r := s.roster
	r.mu.Lock()
	gone := sub.terminated
	r.mu.Unlock()
	s.mu.Lock()
	shutdown := l.reason.shutdown()
	s.mu.Unlock()
	if gone || shutdown || !sub.d.established() {
		return
	}
	uctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	go func() {
		select {
		case <-sub.final:
			cancel()
		case <-uctx.Done():
		}
	}()
	res, err := l.doAuth(uctx, func() *sip.Request { return sub.d.subscribe(0) })
	switch {
	case err != nil:
		s.log.Debug("unsubscribe failed", "error", err)
		return
	case !res.IsSuccess():
		s.log.Debug("unsubscribe refused", "status", res.StatusCode)
		return
	}
	t := time.NewTimer(s.cfg.unsubscribeGrace)
	defer t.Stop()
	select {
	case <-sub.final:
	case <-t.C:
		s.log.Debug("no final NOTIFY after unsubscribing")
	case <-uctx.Done():
	}
}

// runRoster is the roster goroutine: it subscribes, refreshes the
// subscription before it expires and to recover full state, and
// subscribes anew (a bounded number of times) when the focus ends the
// subscription with a reason that allows it. It returns when ctx ends
// (stopRoster) or the roster has ended for good (RosterErr).
func (s *Session) runRoster(ctx context.Context, l *leg) {
	r := s.roster
	defer close(l.rosterDone)
	retries := 0
	var delay time.Duration
	for {
		if !sleep(ctx, delay) {
			return
		}
		sub, err := s.subscribeNew(ctx, l)
		if ctx.Err() != nil {
			return
		}
		again := retryable(err)
		delay = backoff(retries + 1)
		if err == nil {
			again, delay, err = s.maintain(ctx, l, sub, &retries)
			if ctx.Err() != nil {
				return
			}
		}
		if again && retries < maxRosterRetries {
			retries++
			s.log.Info("roster subscription lost; subscribing anew", "error", err, "in", delay)
			continue
		}
		if again {
			err = fmt.Errorf("%w: %d new subscriptions in a row failed: %w", ErrRosterEnded, retries, err)
		}
		r.mu.Lock()
		r.end(err)
		r.mu.Unlock()
		s.log.Warn("no roster", "error", err)
		return
	}
}

// subscribeNew makes a new subscription the current one and sends its
// initial SUBSCRIBE (again with the focus's Min-Expires after a 423).
func (s *Session) subscribeNew(ctx context.Context, l *leg) (*subscription, error) {
	r := s.roster
	sub := &subscription{d: newDialog(&s.cfg, l.dlg.room, l.dlg.roomDest, l.sip), expires: s.cfg.rosterExpires, final: make(chan struct{})}
	r.mu.Lock()
	r.sub, r.doc = sub, nil // versions are scoped to a subscription
	r.mu.Unlock()
	for {
		res, err := s.sendSubscribe(ctx, l, sub)
		switch {
		case err != nil:
			return nil, err
		case res.IsSuccess():
			s.granted(sub, res)
			r.mu.Lock()
			if !sub.notified {
				sub.waitFirst = time.Now().Add(s.cfg.timerN)
			}
			r.mu.Unlock()
			return sub, nil
		case res.StatusCode == sip.StatusIntervalToBrief && s.raiseExpires(sub, res):
			continue
		}
		return nil, sipError(sip.SUBSCRIBE.String(), res)
	}
}

// maintain keeps sub alive until it ends or ctx does. again says whether
// to subscribe anew, after delay; err says why it ended.
func (s *Session) maintain(ctx context.Context, l *leg, sub *subscription, retries *int) (again bool, delay time.Duration, err error) {
	r := s.roster
	var last time.Time // when the last refresh went out
	busy := 0          // refreshes in a row answered "retry after" (5xx with Retry-After)
	for {
		r.mu.Lock()
		deleted, terminated, reason, retryAfter := sub.deleted, sub.terminated, sub.reason, sub.retryAfter
		at, refetch, waitFirst := sub.refreshAt, sub.refetch, sub.waitFirst
		gap := s.cfg.refetchGap << min(max(sub.unusable-1, 0), 8) // backs off while documents stay unusable
		r.mu.Unlock()
		switch {
		case deleted:
			s.unsubscribe(ctx, l, sub)
			return false, 0, fmt.Errorf("%w: the conference is deleted", ErrRosterEnded)
		case terminated:
			return afterTermination(reason, retryAfter)
		case !waitFirst.IsZero() && !time.Now().Before(waitFirst):
			return true, 0, errNoNotify // RFC 6665 §4.1.2.4: consider it failed
		}
		if !waitFirst.IsZero() && waitFirst.Before(at) {
			at = waitFirst
		}
		if next := last.Add(gap); refetch && next.Before(at) {
			at = next
		}
		if wait := time.Until(at); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return false, 0, ctx.Err()
			case <-r.wake:
				t.Stop()
			case <-t.C:
			}
			continue
		}

		r.mu.Lock()
		sub.refetch = false
		r.mu.Unlock()
		last = time.Now()
		res, err := s.sendSubscribe(ctx, l, sub)
		switch {
		case ctx.Err() != nil:
			return false, 0, ctx.Err()
		case err != nil: // the focus may have lost it: start anew
			return true, backoff(*retries + 1), err
		case res.IsSuccess():
			s.granted(sub, res)
			*retries, busy = 0, 0
		case res.StatusCode >= 500 && busy < maxRosterRetries && hasUintHeader(res, "Retry-After"):
			// Busy for now, e.g. parleyd while it hands over the first
			// NOTIFY: refresh the same subscription again later.
			busy++
			after, _ := uintHeader(res, "Retry-After")
			r.mu.Lock()
			sub.refreshAt = time.Now().Add(min(time.Duration(after)*time.Second, time.Minute))
			r.mu.Unlock()
		case res.StatusCode == sip.StatusIntervalToBrief && s.raiseExpires(sub, res):
			r.mu.Lock()
			sub.refreshAt = time.Time{} // again, at once
			r.mu.Unlock()
		case res.StatusCode == sip.StatusCallTransactionDoesNotExists: // RFC 6665 §4.1.2.2: it is gone
			return true, 0, sipError(sip.SUBSCRIBE.String(), res)
		default:
			err := sipError(sip.SUBSCRIBE.String(), res)
			return retryable(err), backoff(*retries + 1), err
		}
	}
}

// afterTermination applies RFC 6665 §4.1.3 to a terminated subscription:
// noresource, rejected and invariant end the roster; probation and giveup
// allow a new subscription after retry-after; timeout, deactivated, no
// reason or an unknown one allow one at once (or after retry-after).
func afterTermination(reason string, retryAfter time.Duration) (again bool, delay time.Duration, err error) {
	switch reason {
	case "noresource", "rejected", "invariant":
		return false, 0, fmt.Errorf("%w: Subscription-State: terminated;reason=%s", ErrRosterEnded, reason)
	case "probation", "giveup":
		if retryAfter == 0 {
			retryAfter = 5 * time.Second
		}
	}
	return true, retryAfter, fmt.Errorf("subscription terminated (reason %q)", reason)
}

// sendSubscribe sends a SUBSCRIBE with sub.expires and waits for its final
// response, bounded by ctx and the Timeout.
func (s *Session) sendSubscribe(ctx context.Context, l *leg, sub *subscription) (*sip.Response, error) {
	sctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	res, err := l.doAuth(sctx, func() *sip.Request { return sub.d.subscribe(sub.expires) })
	switch {
	case err != nil && sctx.Err() != nil:
		return nil, fmt.Errorf("client: SUBSCRIBE: %w", waitError(ctx, "no final response to SUBSCRIBE"))
	case err != nil:
		return nil, fmt.Errorf("client: SUBSCRIBE: %w", err)
	}
	return res, nil
}

// granted records a 2xx to a SUBSCRIBE: the dialog, and when to refresh
// given its Expires (the duration asked for when it has none).
func (s *Session) granted(sub *subscription, res *sip.Response) {
	secs := sub.expires
	if e, ok := uintHeader(res, "Expires"); ok {
		secs = max(e, 1)
	}
	tag := ""
	if to := res.To(); to != nil {
		tag, _ = to.Params.Get("tag")
	}
	s.roster.mu.Lock()
	defer s.roster.mu.Unlock()
	sub.d.establish(tag, res.Contact())
	sub.refreshAt = time.Now().Add(refreshIn(secs))
}

// raiseExpires takes the Min-Expires of a 423 (RFC 3261 §20.23) when it
// is above what was asked for.
func (s *Session) raiseExpires(sub *subscription, res *sip.Response) bool {
	m, ok := uintHeader(res, "Min-Expires")
	if !ok || m <= sub.expires {
		return false
	}
	sub.expires = m
	return true
}

// retryable reports whether a failed SUBSCRIBE may work when tried anew:
// no answer, or 408, 480, 481 or a 5xx.
func retryable(err error) bool {
	if err == nil {
		return false
	}
	if se, ok := err.(*SIPError); ok {
		c := se.Code
		return c == sip.StatusRequestTimeout || c == sip.StatusTemporarilyUnavailable || c == sip.StatusCallTransactionDoesNotExists || (c >= 500 && c < 600)
	}
	return true
}

// backoff is the wait before the n-th new subscription after failures.
func backoff(n int) time.Duration {
	return min(time.Second<<max(n-1, 0), 30*time.Second)
}

// sleep waits d, or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// subState is a parsed Subscription-State (RFC 6665 §8.2.3).
type subState struct {
	state      string // lower case: active, pending, terminated…
	reason     string
	expires    uint32
	hasExpires bool
	retryAfter time.Duration
}

func parseSubState(v string) subState {
	parts := strings.Split(v, ";")
	st := subState{state: strings.ToLower(strings.TrimSpace(parts[0]))}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(p, "=")
		k, val = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(val)
		n, err := strconv.ParseUint(val, 10, 32)
		switch {
		case k == "reason":
			st.reason = strings.ToLower(val)
		case k == "expires" && err == nil:
			st.expires, st.hasExpires = uint32(n), true
		case k == "retry-after" && err == nil:
			st.retryAfter = time.Duration(n) * time.Second
		}
	}
	return st
}

// headerGetter is what sip.Request and sip.Response have in common.
type headerGetter interface {
	GetHeader(name string) sip.Header
	GetHeaders(name string) []sip.Header
}

// headerValue is the value of the first header called name, or of its
// compact form ("" for none).
func headerValue(m headerGetter, name, compact string) string {
	h := m.GetHeader(name)
	if h == nil && compact != "" {
		h = m.GetHeader(compact)
	}
	if h == nil {
		return ""
	}
	return h.Value()
}

// uintHeader parses a header of delta-seconds (Expires, Min-Expires,
// Retry-After, whose comment and parameters are ignored).
func uintHeader(m headerGetter, name string) (uint32, bool) {
	v := strings.TrimSpace(headerValue(m, name, ""))
	if i := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		v = v[:i]
	}
	n, err := strconv.ParseUint(v, 10, 32)
	return uint32(n), err == nil
}

func hasUintHeader(m headerGetter, name string) bool {
	_, ok := uintHeader(m, name)
	return ok
}

// allowsEvent reports whether the Allow-Events headers (compact form u)
// of m list the event package pkg.
func allowsEvent(m headerGetter, pkg string) bool {
	for _, name := range []string{"Allow-Events", "u"} {
		for _, h := range m.GetHeaders(name) {
			for _, e := range strings.Split(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(e), pkg) {
					return true
				}
			}
		}
	}
	return false
}
