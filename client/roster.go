package client

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/confinfo"
)

// Member is a participant of the room as the focus's conference event
// package (RFC 4575) describes it: one <user> of the conference document.
type Member struct {
	// URI is the user's entity: the participant's URI, or the anonymous
	// URI the room gave a participant that asked for privacy (RFC 7701
	// §5.2). It is the address for SendPrivate.
	URI string
	// Display is the user's <display-text>, "" when absent.
	Display string
	// Nickname is the nickname the participant holds in the room
	// (xcon:nickname, RFC 7701 §7.4), "" when it has none.
	Nickname string
	// Roles are the user's roles in the conference (RFC 4575 <roles>).
	Roles []string
	// Guest: the user did not authenticate (the role "guest", as parleyd
	// marks it): it is whoever its URI says, unproved.
	Guest bool
	// Endpoints are the user's devices in the room (its SIP sessions with
	// the focus), in document order, disconnected ones left out.
	Endpoints []Endpoint
}

// Endpoint is one <endpoint> of a Member (RFC 4575 §5.7).
type Endpoint struct {
	// URI is the endpoint's entity.
	URI string
	// Status is its <status>: "connected", "pending", "on-hold",
	// "disconnecting"… (RFC 4575 §5.7.3); "" when absent.
	Status string
}

// RosterEventKind says what a RosterEvent reports.
type RosterEventKind uint8

// The kinds of RosterEvent.
const (
	// MemberJoined: Member is new in the roster.
	MemberJoined RosterEventKind = iota + 1
	// MemberLeft: Member (as last known) is no longer in the roster: its
	// <user> was deleted, or all of its endpoints are disconnected.
	MemberLeft
	// MemberChanged: Member (its new state) changed its nickname, display
	// text or endpoints.
	MemberChanged
	// RosterReset: the roster was replaced as a whole; Members is the new
	// one. It is sent for the first conference document, and with no
	// Members when the roster ends for good (RosterErr says why).
	RosterReset
)

func (k RosterEventKind) String() string {
	switch k {
	case MemberJoined:
		return "MemberJoined"
	case MemberLeft:
		return "MemberLeft"
	case MemberChanged:
		return "MemberChanged"
	case RosterReset:
		return "RosterReset"
	}
	return "RosterEventKind(" + strconv.Itoa(int(k)) + ")"
}

// RosterEvent is a change of the roster, as Session.RosterEvents delivers
// it.
type RosterEvent struct {
	Kind    RosterEventKind
	Member  Member   // MemberJoined, MemberLeft, MemberChanged
	Members []Member // RosterReset: the whole roster, in document order
}

// Roster returns the room's participants as the focus last described them
// (RFC 4575 conference state, kept up to date by the Session's
// subscription), in document order: a copy, which the caller may keep. It
// is empty before the first conference document has arrived, when the
// Session keeps no roster (RosterErr) and once the roster has ended for
// good; after the Session has ended it stays as it was last.
func (s *Session) Roster() []Member {
	r := s.roster
	r.mu.Lock()
	defer r.mu.Unlock()
	return cloneMembers(r.members)
}

// Lookup finds the member whose nickname is nickname (RFC 7701 §7): an
// exact match, else one equal under Unicode case folding
// (strings.EqualFold; the switch enforces the uniqueness of nicknames with
// the RFC 8266 rules, which this approximates). Its URI is the address for
// SendPrivate. ok is false when no member has that nickname, or nickname
// is "".
func (s *Session) Lookup(nickname string) (m Member, ok bool) {
	if nickname == "" {
		return Member{}, false
	}
	r := s.roster
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.IndexFunc(r.members, func(m Member) bool { return m.Nickname == nickname })
	if i < 0 {
		i = slices.IndexFunc(r.members, func(m Member) bool { return strings.EqualFold(m.Nickname, nickname) })
	}
	if i < 0 {
		return Member{}, false
	}
	return cloneMember(r.members[i]), true
}

// Find is Lookup that does not trust a roster which may be a moment
// behind: when no member has the nickname, it asks the focus for the
// whole roster at once (a refresh of the subscription, answered with a
// full document, RFC 4575 §4) and looks again once that has arrived, so
// that someone who joined or took the nickname an instant ago is found.
// It waits at most until ctx is done (then it answers from the roster as
// it is), and does not wait at all when the Session keeps no roster.
func (s *Session) Find(ctx context.Context, nickname string) (Member, bool) {
	if m, ok := s.Lookup(nickname); ok || nickname == "" {
		return m, ok
	}
	r := s.roster
	r.mu.Lock()
	if r.sub == nil || r.err != nil || r.closed {
		r.mu.Unlock()
		return Member{}, false
	}
	want := r.fulls + 1 // the full document the refresh brings
	r.sub.refetch = true
	r.poke()
	r.mu.Unlock()
	for {
		r.mu.Lock()
		applied, fulls := r.applied, r.fulls
		r.mu.Unlock()
		if m, ok := s.Lookup(nickname); ok || fulls >= want {
			return m, ok
		}
		select {
		case <-applied:
		case <-ctx.Done():
			return s.Lookup(nickname)
		}
	}
}

// Subject returns the room's subject as the focus's conference document
// gives it (RFC 4575 §5.3.2 <subject>), "" when it has none or no document
// has come.
func (s *Session) Subject() string {
	r := s.roster
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.doc == nil || r.doc.Description == nil {
		return ""
	}
	return r.doc.Description.Subject
}

// RosterEvents returns the channel of the roster's changes, in order; the
// same channel on every call, across reconnections. The first event is a
// RosterReset with the whole roster (and so is the first after each
// reconnection, Options.Reconnect); then every conference document the focus sends is diffed
// (by user entity) with the roster before it: MemberJoined, MemberLeft and
// MemberChanged events, so that a view kept by applying the events stays
// equal to Roster. The channel is buffered (Options.RosterBuffer) and
// never waited on: an event that finds it full is dropped and counted by
// RosterDropped (call Roster to resynchronise). It is closed right after
// Done.
func (s *Session) RosterEvents() <-chan RosterEvent { return s.roster.events }

// RosterDropped returns how many roster events were dropped because the
// RosterEvents channel was full.
func (s *Session) RosterDropped() uint64 { return s.roster.dropped.Load() }

// RosterErr says why the Session has no roster: nil while it keeps one or
// is setting it up (see Options.NoRoster); ErrNoRoster when it does not
// subscribe; a *SIPError when the focus refused the SUBSCRIBE (405, 489…);
// an error wrapping ErrTimeout when the focus did not answer it; one
// wrapping ErrRosterEnded when the focus ended the subscription for good
// (the room is gone) or it could not be renewed. After the Session has
// ended it is ErrSessionEnded, unless one of these came first.
func (s *Session) RosterErr() error {
	r := s.roster
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// roster is a Session's conference state: the subscription the roster
// goroutine maintains (subscription.go), the document the NOTIFY handler
// applies, the members and their events.
type roster struct {
	events  chan RosterEvent // sent on under mu while !closed; closed by finish
	dropped atomic.Uint64
	wake    chan struct{} // capacity 1: the NOTIFY handler has news for the roster goroutine

	mu      sync.Mutex // guards everything below and the fields of sub
	sub     *subscription
	doc     *confinfo.ConferenceInfo // sub's local copy; nil until its first document
	members []Member
	reset   bool          // the first RosterReset has been sent
	applied chan struct{} // closed (and replaced) when a document has been applied
	fulls   uint64        // full documents applied so far
	err     error
	closed  bool // events is closed
}

func newRoster(buffer int) *roster {
	return &roster{events: make(chan RosterEvent, buffer), wake: make(chan struct{}, 1), applied: make(chan struct{})}
}

// renew starts the roster over for a new leg (a reconnection): no
// subscription, no error, and its first document is reported with a
// RosterReset. The members stay as last known until then.
func (r *roster) renew() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sub, r.doc, r.err, r.reset = nil, nil, nil, false
	select {
	case <-r.wake: // a poke for the old leg's goroutine
	default:
	}
}

// poke wakes the roster goroutine without waiting.
func (r *roster) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// emit sends ev without waiting, or counts it dropped. r.mu is held.
func (r *roster) emit(ev RosterEvent) {
	if r.closed {
		return
	}
	select {
	case r.events <- ev:
	default:
		r.dropped.Add(1)
	}
}

// setMembers replaces the roster and emits the events that say so: the
// first RosterReset, then the differences, then a MemberJoined and a
// MemberLeft for each of the visitors who came and went in between. r.mu
// is held.
func (r *roster) setMembers(next, visitors []Member) {
	prev := r.members
	r.members = next
	if !r.reset {
		r.reset = true
		r.emit(RosterEvent{Kind: RosterReset, Members: cloneMembers(next)})
		return
	}
	for _, ev := range diffMembers(prev, next) {
		r.emit(ev)
	}
	for _, m := range visitors {
		r.emit(RosterEvent{Kind: MemberJoined, Member: cloneMember(m)})
		r.emit(RosterEvent{Kind: MemberLeft, Member: m})
	}
}

// end records why the roster ended for good and empties it, telling the
// application with an empty RosterReset if it had been shown a roster.
// r.mu is held.
func (r *roster) end(err error) {
	r.err = err
	r.sub, r.doc = nil, nil
	r.members = nil
	if r.reset {
		r.emit(RosterEvent{Kind: RosterReset})
	}
}

// close closes the events channel once the Session has ended.
func (r *roster) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = ErrSessionEnded
	}
	r.closed = true
	close(r.events)
}

// onNotify answers a NOTIFY (on a sipgo handler goroutine; it never
// blocks): 481 unless it belongs to our current subscription, else 200
// after its document and Subscription-State are taken into account. A
// final NOTIFY is told to a waiting unsubscribe only once its 200 is out:
// the unsubscribe lets the Session close the user agent.
func (s *Session) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	code, reason, final := s.handleNotify(req)
	respond(s.log, tx, sip.NewResponseFromRequest(req, code, reason, nil))
	if final != nil {
		close(final)
	}
}

// handleNotify returns the response code and the final channel to close
// when the NOTIFY terminated the subscription.
func (s *Session) handleNotify(req *sip.Request) (code int, reason string, final chan struct{}) {
	r := s.roster
	r.mu.Lock()
	defer r.mu.Unlock()
	sub := r.sub
	if sub == nil || !sub.matches(req) {
		return sip.StatusCallTransactionDoesNotExists, "Subscription Does Not Exist", nil
	}
	st := parseSubState(headerValue(req, "Subscription-State", ""))
	sub.learn(req)
	sub.notified, sub.waitFirst = true, time.Time{}
	if body := req.Body(); len(body) > 0 {
		ct := headerValue(req, "Content-Type", "c")
		if t, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(t), confinfo.MIMEType) {
			s.log.Warn("NOTIFY with an unexpected body type; refetching", "content-type", ct)
			sub.askFull()
		} else {
			s.applyDocument(sub, body)
		}
	}
	switch st.state {
	case "terminated":
		if !sub.terminated {
			sub.terminated, sub.reason, sub.retryAfter = true, st.reason, st.retryAfter
			final = sub.final
		}
	default: // active, pending, or an extension state (RFC 6665 §8.2.3)
		if st.hasExpires {
			sub.shorten(st.expires)
		}
	}
	r.poke()
	return sip.StatusOK, "OK", final
}

// applyDocument runs the subscriber algorithm of RFC 4575 §4.6 on one
// conference document (confinfo.Apply does the version checks and the
// merge): a document that cannot be used, or a version gap, asks the
// roster goroutine to refresh the subscription, whose NOTIFY carries full
// state. r.mu is held.
func (s *Session) applyDocument(sub *subscription, body []byte) {
	r := s.roster
	doc, err := confinfo.Parse(body)
	if err != nil {
		s.log.Warn("bad conference document; refetching", "error", err)
		sub.askFull()
		return
	}
	if r.doc == nil {
		r.doc = new(confinfo.ConferenceInfo)
	}
	switch err := r.doc.Apply(doc); {
	case errors.Is(err, confinfo.ErrStaleVersion):
		s.log.Debug("stale conference document ignored", "version", doc.Version, "local", r.doc.Version)
		return
	case errors.Is(err, confinfo.ErrVersionGap):
		s.log.Info("conference document version gap; refetching", "version", doc.Version, "local", r.doc.Version)
		sub.askFull()
		return
	case err != nil:
		s.log.Warn("conference document not applied; refetching", "error", err)
		sub.askFull()
		return
	}
	if r.doc.State == confinfo.StateDeleted {
		sub.deleted = true // the roster goroutine unsubscribes and ends the roster
		return
	}
	sub.unusable = 0
	if doc.State != confinfo.StatePartial {
		r.fulls++
		s.learnURIs(r.doc)
	}
	r.setMembers(membersOf(r.doc), brief(doc, r.members))
	close(r.applied)
	r.applied = make(chan struct{})
}

// learnURIs keeps the room URIs a full document lists in <conf-uris>
// (RFC 4575 §5.3.1): parleyd lists the room's canonical URI and its
// aliases there, so that a message to the room under any of them is told
// from a private one.
func (s *Session) learnURIs(doc *confinfo.ConferenceInfo) {
	if doc.Description == nil || doc.Description.ConfURIs == nil {
		return
	}
	var us []string
	for _, e := range doc.Description.ConfURIs.Entries {
		if e.URI != "" && (e.Purpose == "" || e.Purpose == "participation") {
			us = append(us, e.URI)
		}
	}
	s.confURIs.Store(&us)
}

// brief returns the users a partial document deletes that the roster
// before it did not have: someone who joined and left between two
// NOTIFYs (the focus merges the changes of its rate-limit window into one
// partial document, RFC 4575 §3.9). parleyd names the user in its deleted
// <user> (display-text, xcon:nickname) so that the visit can be told.
func brief(doc *confinfo.ConferenceInfo, prev []Member) []Member {
	if doc.State != confinfo.StatePartial || doc.Users == nil {
		return nil
	}
	var out []Member
	for i := range doc.Users.Users {
		u := &doc.Users.Users[i]
		if u.State != confinfo.StateDeleted || u.Entity == "" || slices.ContainsFunc(prev, func(m Member) bool { return m.URI == u.Entity }) {
			continue
		}
		out = append(out, Member{URI: u.Entity, Display: u.DisplayText, Nickname: u.Nickname, Roles: slices.Clone(u.Roles), Guest: slices.Contains(u.Roles, GuestRole)})
	}
	return out
}

// membersOf makes the roster of a document: its users in order, each with
// its endpoints that are not disconnected; a user all of whose endpoints
// are disconnected has left. A user without entity, or repeating one, is
// skipped.
func membersOf(doc *confinfo.ConferenceInfo) []Member {
	if doc.Users == nil {
		return nil
	}
	var ms []Member
	seen := make(map[string]bool, len(doc.Users.Users))
	for i := range doc.Users.Users {
		u := &doc.Users.Users[i]
		if u.Entity == "" || seen[u.Entity] || u.State == confinfo.StateDeleted {
			continue
		}
		m := Member{URI: u.Entity, Display: u.DisplayText, Nickname: u.Nickname, Roles: slices.Clone(u.Roles), Guest: slices.Contains(u.Roles, GuestRole)}
		for _, e := range u.Endpoints {
			if e.State == confinfo.StateDeleted || e.Status == confinfo.StatusDisconnected {
				continue
			}
			m.Endpoints = append(m.Endpoints, Endpoint{URI: e.Entity, Status: string(e.Status)})
		}
		if len(u.Endpoints) > 0 && len(m.Endpoints) == 0 {
			continue
		}
		seen[u.Entity] = true
		ms = append(ms, m)
	}
	return ms
}

// GuestRole is the <roles> entry parleyd gives a participant that did not
// authenticate (issue 17).
const GuestRole = "guest"

// diffMembers returns the events that take prev to next: MemberLeft in
// prev's order, then MemberJoined and MemberChanged in next's.
func diffMembers(prev, next []Member) []RosterEvent {
	old := make(map[string]int, len(prev))
	for i, m := range prev {
		old[m.URI] = i
	}
	now := make(map[string]bool, len(next))
	for _, m := range next {
		now[m.URI] = true
	}
	var evs []RosterEvent
	for _, m := range prev {
		if !now[m.URI] {
			evs = append(evs, RosterEvent{Kind: MemberLeft, Member: cloneMember(m)})
		}
	}
	for _, m := range next {
		i, ok := old[m.URI]
		switch {
		case !ok:
			evs = append(evs, RosterEvent{Kind: MemberJoined, Member: cloneMember(m)})
		case !sameMember(prev[i], m):
			evs = append(evs, RosterEvent{Kind: MemberChanged, Member: cloneMember(m)})
		}
	}
	return evs
}

func sameMember(a, b Member) bool {
	return a.URI == b.URI && a.Display == b.Display && a.Nickname == b.Nickname && slices.Equal(a.Roles, b.Roles) && slices.Equal(a.Endpoints, b.Endpoints)
}

func cloneMember(m Member) Member {
	m.Endpoints = slices.Clone(m.Endpoints)
	return m
}

func cloneMembers(ms []Member) []Member {
	if ms == nil {
		return nil
	}
	out := make([]Member, len(ms))
	for i, m := range ms {
		out[i] = cloneMember(m)
	}
	return out
}
