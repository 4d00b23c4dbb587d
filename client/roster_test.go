package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"github.com/parley-im/parley/confinfo"
)

// joinConf joins a fakeRoom whose focus offers the conference event
// package (isfocus, Allow-Events: conference) and hands the SUBSCRIBEs to
// the test.
func joinConf(t *testing.T, mutate func(*Options)) (*Session, *fakeRoom) {
	t.Helper()
	return joinFakeWith(t, bothCaps, mutate, func(p *rawFocus) {
		p.conference = true
		p.subscribes = make(chan subscribeReq, 32)
		p.responses = make(chan *sip.Response, 32)
	})
}

// subDialog is the fake focus's side of one subscription.
type subDialog struct {
	f         *fakeRoom
	callID    string
	client    *sip.FromHeader // the SUBSCRIBE's From, with the client's tag
	clientURI sip.Uri         // the SUBSCRIBE's Contact: the NOTIFY's Request-URI
	focusTag  string
	send      func([]byte)
	cseq      uint32
}

// nextSubscribe waits for the next SUBSCRIBE the fake focus reads.
func nextSubscribe(t *testing.T, f *fakeRoom) subscribeReq {
	t.Helper()
	select {
	case sr := <-f.focus.subscribes:
		return sr
	case <-time.After(5 * time.Second):
		t.Fatal("no SUBSCRIBE")
		return subscribeReq{}
	}
}

// noSubscribe checks that no SUBSCRIBE arrives within d.
func noSubscribe(t *testing.T, f *fakeRoom, d time.Duration) {
	t.Helper()
	select {
	case sr := <-f.focus.subscribes:
		t.Fatalf("unexpected SUBSCRIBE:\n%s", sr.req)
	case <-time.After(d):
	}
}

// dialogOf makes the focus's side of the subscription sr starts.
func dialogOf(t *testing.T, f *fakeRoom, sr subscribeReq) *subDialog {
	t.Helper()
	c := sr.req.Contact()
	if c == nil {
		t.Fatalf("SUBSCRIBE without Contact:\n%s", sr.req)
	}
	return &subDialog{f: f, callID: sr.req.CallID().Value(), client: sr.req.From(), clientURI: *c.Address.Clone(),
		focusTag: sip.GenerateTagN(10), send: sr.send, cseq: 100}
}

// answer responds to a SUBSCRIBE of sd: code, with our tag, Contact and,
// for a 2xx, Expires: expires.
func (sd *subDialog) answer(sr subscribeReq, code int, expires int) {
	res := sip.NewResponseFromRequest(sr.req, code, "Whatever", nil)
	if !sr.req.To().Params.Has("tag") {
		res.To().Params.Add("tag", sd.focusTag) // instead of sipgo's random one
	}
	if code/100 == 2 {
		res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "lobby", Host: "127.0.0.1", Port: portOf(sd.f.focus.addr)}})
		exp := sip.ExpiresHeader(expires)
		res.AppendHeader(&exp)
	}
	sr.send([]byte(res.String()))
}

// notify sends a NOTIFY in sd with the given Subscription-State and body
// (none when nil) and returns its CSeq.
func (sd *subDialog) notify(state string, body []byte) uint32 {
	sd.cseq++
	req := sip.NewRequest(sip.NOTIFY, sd.clientURI)
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "TCP", Host: "127.0.0.1", Port: portOf(sd.f.focus.addr), Params: sip.NewParams()}
	via.Params.Add("branch", sip.GenerateBranch())
	req.AppendHeader(via)
	var room sip.Uri
	_ = sip.ParseUri(sd.f.room, &room)
	from := &sip.FromHeader{Address: room, Params: sip.NewParams()}
	from.Params.Add("tag", sd.focusTag)
	req.AppendHeader(from)
	to := &sip.ToHeader{Address: sd.client.Address, Params: sd.client.Params.Clone()}
	req.AppendHeader(to)
	cid := sip.CallIDHeader(sd.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: sd.cseq, MethodName: sip.NOTIFY})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "lobby", Host: "127.0.0.1", Port: portOf(sd.f.focus.addr)}})
	req.AppendHeader(sip.NewHeader("Event", "conference"))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	if body != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", confinfo.MIMEType))
	}
	req.SetBody(body)
	sd.send([]byte(req.String()))
	return sd.cseq
}

// notified sends a NOTIFY and checks the code the client answers it with.
func (sd *subDialog) notified(t *testing.T, state string, body []byte, code int) {
	t.Helper()
	seq := sd.notify(state, body)
	for {
		select {
		case res := <-sd.f.focus.responses:
			if cs := res.CSeq(); cs == nil || cs.MethodName != sip.NOTIFY || cs.SeqNo != seq {
				continue
			}
			if res.StatusCode != code {
				t.Fatalf("NOTIFY %d answered %d %s, want %d", seq, res.StatusCode, res.Reason, code)
			}
			return
		case <-time.After(5 * time.Second):
			t.Fatalf("NOTIFY %d not answered", seq)
		}
	}
}

// subscribe waits for the initial SUBSCRIBE and answers it 200 with
// expires, then sends the first full document.
func subscribe(t *testing.T, f *fakeRoom, expires int, first *confinfo.ConferenceInfo) *subDialog {
	t.Helper()
	sr := nextSubscribe(t, f)
	sd := dialogOf(t, f, sr)
	sd.answer(sr, 200, expires)
	sd.notified(t, "active;expires="+strconv.Itoa(expires), marshal(t, first), 200)
	return sd
}

// expectRefresh waits for a SUBSCRIBE in sd's dialog with the given
// Expires.
func (sd *subDialog) expectRefresh(t *testing.T, expires int) subscribeReq {
	t.Helper()
	sr := nextSubscribe(t, sd.f)
	tag, _ := sr.req.To().Params.Get("tag")
	if sr.req.CallID().Value() != sd.callID || tag != sd.focusTag {
		t.Fatalf("SUBSCRIBE outside the subscription's dialog (Call-ID %s, To tag %q):\n%s", sr.req.CallID().Value(), tag, sr.req)
	}
	if got := headerValue(sr.req, "Expires", ""); got != strconv.Itoa(expires) {
		t.Fatalf("SUBSCRIBE Expires %q, want %d", got, expires)
	}
	return sr
}

// leaveConf leaves, playing the focus's part of the unsubscribe: the
// SUBSCRIBE with Expires: 0 is answered 200 and followed by the final
// NOTIFY.
func leaveConf(t *testing.T, s *Session, sd *subDialog) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	left := async(func() error { return s.Leave(ctx) })
	sr := sd.expectRefresh(t, 0)
	sd.answer(sr, 200, 0)
	sd.notified(t, "terminated", nil, 200)
	if err := result(t, left); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	sd.f.focus.expect(t, sip.BYE)
}

func marshal(t *testing.T, c *confinfo.ConferenceInfo) []byte {
	t.Helper()
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// user is a chat participant of the fake documents: user "bob" is
// sip:bob@example.com with one connected endpoint.
func user(name, nick string) confinfo.User {
	return confinfo.ChatUser("sip:"+name+"@example.com", nick, strings.ToUpper(name[:1])+name[1:],
		confinfo.ChatEndpoint("sip:"+name+"@pc.example.com", "1"))
}

func fullDoc(f *fakeRoom, version uint32, users ...confinfo.User) *confinfo.ConferenceInfo {
	c := confinfo.NewChatRoom(f.room, "lobby", version)
	for _, u := range users {
		c.AddUser(u)
	}
	return c
}

func partialDoc(f *fakeRoom, version uint32, users ...confinfo.User) *confinfo.ConferenceInfo {
	c := confinfo.NewPartial(f.room, version)
	for _, u := range users {
		c.AddUser(u)
	}
	return c
}

// member is what user(name, nick) looks like in the roster.
func member(name, nick string) Member {
	return Member{URI: "sip:" + name + "@example.com", Display: strings.ToUpper(name[:1]) + name[1:], Nickname: nick,
		Endpoints: []Endpoint{{URI: "sip:" + name + "@pc.example.com", Status: "connected"}}}
}

// nextEvent waits for the next roster event.
func nextEvent(t *testing.T, s *Session) RosterEvent {
	t.Helper()
	select {
	case ev, ok := <-s.RosterEvents():
		if !ok {
			t.Fatal("RosterEvents closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no roster event")
		return RosterEvent{}
	}
}

// expectEvent checks the next roster event.
func expectEvent(t *testing.T, s *Session, kind RosterEventKind, m Member) {
	t.Helper()
	ev := nextEvent(t, s)
	if ev.Kind != kind || !sameMember(ev.Member, m) {
		t.Fatalf("roster event %v %+v, want %v %+v", ev.Kind, ev.Member, kind, m)
	}
}

func expectReset(t *testing.T, s *Session, ms ...Member) {
	t.Helper()
	ev := nextEvent(t, s)
	if ev.Kind != RosterReset || !slices.EqualFunc(ev.Members, ms, sameMember) {
		t.Fatalf("roster event %v %+v, want RosterReset %+v", ev.Kind, ev.Members, ms)
	}
}

func expectRoster(t *testing.T, s *Session, ms ...Member) {
	t.Helper()
	if got := s.Roster(); !slices.EqualFunc(got, ms, sameMember) {
		t.Fatalf("Roster() = %+v\nwant %+v", got, ms)
	}
}

func noEvent(t *testing.T, s *Session, d time.Duration) {
	t.Helper()
	select {
	case ev := <-s.RosterEvents():
		t.Fatalf("unexpected roster event %v %+v %+v", ev.Kind, ev.Member, ev.Members)
	case <-time.After(d):
	}
}

// TestRosterSubscribe: the SUBSCRIBE's headers; a full document, then
// partial ones (join, nickname change, leave) give the right roster and
// events; Lookup; Leave unsubscribes.
func TestRosterSubscribe(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinConf(t, nil)
	defer f.close(t, s)

	sr := nextSubscribe(t, f)
	inv := <-f.focus.invites
	req := sr.req
	if req.Recipient.String() != f.room {
		t.Errorf("Request-URI %s, want the room %s", req.Recipient.String(), f.room)
	}
	if to := req.To(); to.Address.String() != f.room || to.Params.Has("tag") {
		t.Errorf("To %s: want the room URI without tag", to.Value())
	}
	ftag, _ := req.From().Params.Get("tag")
	itag, _ := inv.From().Params.Get("tag")
	if req.CallID().Value() == inv.CallID().Value() || ftag == "" || ftag == itag {
		t.Errorf("SUBSCRIBE inside the INVITE dialog (Call-ID %s, From tag %s)", req.CallID().Value(), ftag)
	}
	for name, want := range map[string]string{"Event": "conference", "Accept": confinfo.MIMEType, "Expires": "3600"} {
		if got := headerValue(req, name, ""); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if req.Contact() == nil {
		t.Error("SUBSCRIBE without Contact")
	}
	if s.RosterErr() != nil {
		t.Errorf("RosterErr() = %v while subscribing", s.RosterErr())
	}
	sd := dialogOf(t, f, sr)
	sd.answer(sr, 200, 3600)
	sd.notified(t, "active;expires=3600", marshal(t, fullDoc(f, 1, user("alice", ""), user("bob", "Bobby"))), 200)
	expectReset(t, s, member("alice", ""), member("bob", "Bobby"))
	expectRoster(t, s, member("alice", ""), member("bob", "Bobby"))

	sd.notified(t, "active;expires=3590", marshal(t, partialDoc(f, 2, user("carol", "Caro"))), 200)
	expectEvent(t, s, MemberJoined, member("carol", "Caro"))
	sd.notified(t, "active;expires=3580", marshal(t, partialDoc(f, 3, user("bob", "Robert"))), 200)
	expectEvent(t, s, MemberChanged, member("bob", "Robert"))
	sd.notified(t, "active;expires=3570", marshal(t, partialDoc(f, 4, confinfo.DeletedUser("sip:alice@example.com"))), 200)
	expectEvent(t, s, MemberLeft, member("alice", ""))
	// A second endpoint joins, then the first departs: bob changes.
	two := user("bob", "")
	two.State, two.Endpoints = confinfo.StatePartial, []confinfo.Endpoint{confinfo.ChatEndpoint("sip:bob@phone.example.com", "1")}
	sd.notified(t, "active", marshal(t, partialDoc(f, 5, two)), 200)
	bob := member("bob", "Robert")
	bob.Endpoints = append(bob.Endpoints, Endpoint{URI: "sip:bob@phone.example.com", Status: "connected"})
	expectEvent(t, s, MemberChanged, bob)
	one := confinfo.User{Entity: "sip:bob@example.com", State: confinfo.StatePartial,
		Endpoints: []confinfo.Endpoint{confinfo.DepartedEndpoint("sip:bob@pc.example.com")}}
	sd.notified(t, "active", marshal(t, partialDoc(f, 6, one)), 200)
	bob.Endpoints = bob.Endpoints[1:]
	expectEvent(t, s, MemberChanged, bob)
	expectRoster(t, s, bob, member("carol", "Caro"))

	if m, ok := s.Lookup("caro"); !ok || m.URI != "sip:carol@example.com" {
		t.Errorf("Lookup(caro) = %+v, %v", m, ok)
	}
	if m, ok := s.Lookup("Robert"); !ok || m.URI != "sip:bob@example.com" {
		t.Errorf("Lookup(Robert) = %+v, %v", m, ok)
	}
	if _, ok := s.Lookup("Bobby"); ok {
		t.Error("Lookup found bob's old nickname")
	}
	if _, ok := s.Lookup(""); ok {
		t.Error(`Lookup("") found someone`)
	}
	r := s.Roster()
	r[0].Endpoints[0].URI = "changed"
	expectRoster(t, s, bob, member("carol", "Caro")) // Roster returns a copy

	leaveConf(t, s, sd)
	if _, ok := <-s.RosterEvents(); ok {
		t.Error("an event after the end")
	}
	if !errors.Is(s.RosterErr(), ErrSessionEnded) {
		t.Errorf("RosterErr() after Leave = %v, want ErrSessionEnded", s.RosterErr())
	}
}

// TestRosterNotifyBeforeOK: the first NOTIFY may arrive before the
// SUBSCRIBE's 200 (RFC 6665 §4.1.2.4): it is accepted, and the dialog it
// establishes is the one the client refreshes and ends.
func TestRosterNotifyBeforeOK(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinConf(t, nil)
	defer f.close(t, s)

	sr := nextSubscribe(t, f)
	sd := dialogOf(t, f, sr)
	sd.notified(t, "active;expires=3600", marshal(t, fullDoc(f, 7, user("alice", "Al"))), 200)
	expectReset(t, s, member("alice", "Al"))
	sd.answer(sr, 200, 3600)
	sd.notified(t, "active;expires=3600", marshal(t, partialDoc(f, 8, user("bob", ""))), 200)
	expectEvent(t, s, MemberJoined, member("bob", ""))
	leaveConf(t, s, sd)
}

// TestRosterVersions: a stale document is ignored; a partial one with a
// version gap is not applied and makes the client refresh the
// subscription in its dialog, whose full NOTIFY fixes the roster; a
// document that does not parse is answered 200 and refetched the same way.
func TestRosterVersions(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinConf(t, func(o *Options) { o.refetchGap = 10 * time.Millisecond })
	defer f.close(t, s)

	sd := subscribe(t, f, 3600, fullDoc(f, 5, user("alice", "")))
	expectReset(t, s, member("alice", ""))
	sd.notified(t, "active", marshal(t, partialDoc(f, 6, user("bob", ""))), 200)
	expectEvent(t, s, MemberJoined, member("bob", ""))
	// Stale: version 6 again, and 5, full or partial.
	sd.notified(t, "active", marshal(t, partialDoc(f, 6, user("dave", ""))), 200)
	sd.notified(t, "active", marshal(t, fullDoc(f, 5)), 200)
	sd.notified(t, "active", marshal(t, partialDoc(f, 7, user("erin", ""))), 200)
	expectEvent(t, s, MemberJoined, member("erin", ""))
	expectRoster(t, s, member("alice", ""), member("bob", ""), member("erin", ""))

	// Gap: 9 after 7.
	sd.notified(t, "active", marshal(t, partialDoc(f, 9, user("carol", ""))), 200)
	sr := sd.expectRefresh(t, 3600)
	expectRoster(t, s, member("alice", ""), member("bob", ""), member("erin", ""))
	sd.answer(sr, 200, 3600)
	sd.notified(t, "active;expires=3600", marshal(t, fullDoc(f, 9, user("alice", ""), user("carol", ""), user("dave", "D"))), 200)
	expectEvent(t, s, MemberLeft, member("bob", ""))
	expectEvent(t, s, MemberLeft, member("erin", ""))
	expectEvent(t, s, MemberJoined, member("carol", ""))
	expectEvent(t, s, MemberJoined, member("dave", "D"))
	expectRoster(t, s, member("alice", ""), member("carol", ""), member("dave", "D"))

	// A partial document before any full one of a subscription is a gap
	// too; so is garbage.
	sd.notified(t, "active", []byte("<conference-info"), 200)
	sr = sd.expectRefresh(t, 3600)
	sd.answer(sr, 200, 3600)
	sd.notified(t, "active", marshal(t, fullDoc(f, 10, user("alice", ""))), 200)
	expectEvent(t, s, MemberLeft, member("carol", ""))
	expectEvent(t, s, MemberLeft, member("dave", "D"))
	noEvent(t, s, 50*time.Millisecond)
	leaveConf(t, s, sd)
}

// TestRosterRefetchBackoff: a focus whose documents stay unusable gets
// refreshes ever further apart, not a storm of them.
func TestRosterRefetchBackoff(t *testing.T) {
	defer goleak.VerifyNone(t)
	const gap = 100 * time.Millisecond
	s, f := joinConf(t, func(o *Options) { o.refetchGap = gap })
	defer f.close(t, s)

	sd := subscribe(t, f, 3600, fullDoc(f, 1, user("alice", "")))
	expectReset(t, s, member("alice", ""))
	sd.notified(t, "active", []byte("garbage"), 200)
	var last time.Time
	for i := range 3 {
		sr := sd.expectRefresh(t, 3600)
		if want := gap << i; i > 0 && time.Since(last) < want*9/10 {
			t.Errorf("refresh %d after %v, want ≥ %v", i, time.Since(last), want)
		}
		last = time.Now()
		sd.answer(sr, 200, 3600)
		sd.notified(t, "active", []byte("garbage"), 200)
	}
	sr := sd.expectRefresh(t, 3600)
	sd.answer(sr, 200, 3600)
	sd.notified(t, "active", marshal(t, fullDoc(f, 2, user("alice", ""))), 200)
	expectRoster(t, s, member("alice", ""))
	leaveConf(t, s, sd)
}

// TestRosterRefreshRetryAfter: a refresh answered 500 with Retry-After
// is sent again in the same subscription; a 481 makes a new one.
func TestRosterRefreshRetryAfter(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinConf(t, nil)
	defer f.close(t, s)

	sd := subscribe(t, f, 3600, fullDoc(f, 1, user("alice", "")))
	expectReset(t, s, member("alice", ""))
	sd.notified(t, "active", marshal(t, partialDoc(f, 3, user("bob", ""))), 200) // a gap
	sr := sd.expectRefresh(t, 3600)
	res := sip.NewResponseFromRequest(sr.req, 500, "Server Internal Error", nil)
	res.AppendHeader(sip.NewHeader("Retry-After", "0 (busy)"))
	sr.send([]byte(res.String()))
	sr = sd.expectRefresh(t, 3600)
	sd.answer(sr, 200, 3600)
	sd.notified(t, "active", marshal(t, fullDoc(f, 3, user("alice", ""), user("bob", ""))), 200)
	expectEvent(t, s, MemberJoined, member("bob", ""))

	sd.notified(t, "active", []byte("garbage"), 200)
	sr = sd.expectRefresh(t, 3600)
	sd.answer(sr, 481, 0)
	sr = nextSubscribe(t, f)
	if sr.req.CallID().Value() == sd.callID || sr.req.To().Params.Has("tag") {
		t.Fatalf("after a 481, not a new subscription:\n%s", sr.req)
	}
	sd = dialogOf(t, f, sr)
	sd.answer(sr, 200, 3600)
	sd.notified(t, "active", marshal(t, fullDoc(f, 1, user("bob", ""))), 200)
	expectEvent(t, s, MemberLeft, member("alice", ""))
	leaveConf(t, s, sd)
}

// TestRosterRefreshBeforeExpiry: granted 2 s, the client refreshes in the
// dialog before they run out, and again after the refresh.
func TestRosterRefreshBeforeExpiry(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinConf(t, func(o *Options) { o.RosterExpires = 90 * time.Second })
	defer f.close(t, s)

	sr := nextSubscribe(t, f)
	if got := headerValue(sr.req, "Expires", ""); got != "90" {
		t.Errorf("Expires %q, want 90 (Options.RosterExpires)", got)
	}
	sd := dialogOf(t, f, sr)
	granted := time.Now()
	sd.answer(sr, 200, 2)
	sd.notified(t, "active;expires=2", marshal(t, fullDoc(f, 1, user("alice", ""))), 200)
	expectReset(t, s, member("alice", ""))
	for i := range 2 {
		sr = sd.expectRefresh(t, 90)
		if d := time.Since(granted); d >= 2*time.Second || d < 500*time.Millisecond {
			t.Errorf("refresh %d after %v of a 2 s subscription", i, d)
		}
		granted = time.Now()
		sd.answer(sr, 200, 2)
		sd.notified(t, "active;expires=2", marshal(t, fullDoc(f, uint32(2+i), user("alice", ""))), 200)
	}
	noEvent(t, s, 0) // the full documents changed nothing
	leaveConf(t, s, sd)
}

// TestRosterMinExpires: a 423 makes the client ask again with the focus's
// Min-Expires.
func TestRosterMinExpires(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinConf(t, func(o *Options) { o.RosterExpires = time.Second })
	defer f.close(t, s)

	sr := nextSubscribe(t, f)
	sd := dialogOf(t, f, sr)
	res := sip.NewResponseFromRequest(sr.req, 423, "Interval Too Brief", nil)
	res.AppendHeader(sip.NewHeader("Min-Expires", "60"))
	sr.send([]byte(res.String()))
	sr = nextSubscribe(t, f)
	if got := headerValue(sr.req, "Expires", ""); got != "60" || sr.req.CallID().Value() != sd.callID {
		t.Fatalf("after 423: Expires %q, Call-ID %s", got, sr.req.CallID().Value())
	}
	sd.answer(sr, 200, 60)
	sd.notified(t, "active;expires=60", marshal(t, fullDoc(f, 1)), 200)
	expectReset(t, s)
	leaveConf(t, s, sd)
}

// TestRosterTerminatedNoResource: the room is gone: the roster ends
// (empty, RosterReset without members, RosterErr), nothing is sent again,
// not even at Leave.
func TestRosterTerminatedNoResource(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinConf(t, nil)
	defer f.close(t, s)

	sd := subscribe(t, f, 3600, fullDoc(f, 1, user("alice", "")))
	expectReset(t, s, member("alice", ""))
	sd.notified(t, "terminated;reason=noresource", nil, 200)
	expectReset(t, s)
	expectRoster(t, s)
	if !errors.Is(s.RosterErr(), ErrRosterEnded) {
		t.Errorf("RosterErr() = %v, want ErrRosterEnded", s.RosterErr())
	}
	noSubscribe(t, f, 200*time.Millisecond)
	sd.notified(t, "active", marshal(t, partialDoc(f, 2, user("bob", ""))), 481)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	f.focus.expect(t, sip.BYE)
	noSubscribe(t, f, 0)
}

// TestRosterConferenceDeleted: a document with state deleted ends the
// roster; the client unsubscribes.
func TestRosterConferenceDeleted(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinConf(t, nil)
	defer f.close(t, s)

	sd := subscribe(t, f, 3600, fullDoc(f, 1, user("alice", "")))
	expectReset(t, s, member("alice", ""))
	gone := &confinfo.ConferenceInfo{Entity: f.room, State: confinfo.StateDeleted, Version: 2, HasVersion: true}
	sd.notified(t, "active", marshal(t, gone), 200)
	sr := sd.expectRefresh(t, 0)
	sd.answer(sr, 200, 0)
	sd.notified(t, "terminated", nil, 200)
	expectReset(t, s)
	if !errors.Is(s.RosterErr(), ErrRosterEnded) {
		t.Errorf("RosterErr() = %v, want ErrRosterEnded", s.RosterErr())
	}
}

// TestRosterTerminatedTimeout: the focus ends the subscription with
// reason timeout: the client subscribes anew (new Call-ID, no To tag); the
// new subscription's documents start their own versions; the old one's
// NOTIFYs get 481. After maxRosterRetries such ends in a row it gives up.
func TestRosterTerminatedTimeout(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinConf(t, nil)
	defer f.close(t, s)

	old := subscribe(t, f, 3600, fullDoc(f, 40, user("alice", ""), user("bob", "")))
	expectReset(t, s, member("alice", ""), member("bob", ""))
	old.notified(t, "terminated;reason=timeout", nil, 200)

	sr := nextSubscribe(t, f)
	if sr.req.CallID().Value() == old.callID || sr.req.To().Params.Has("tag") {
		t.Fatalf("the new subscription reuses the old dialog:\n%s", sr.req)
	}
	sd := dialogOf(t, f, sr)
	sd.answer(sr, 200, 3600)
	sd.notified(t, "active;expires=3600", marshal(t, fullDoc(f, 1, user("alice", ""), user("carol", ""))), 200)
	expectEvent(t, s, MemberLeft, member("bob", ""))
	expectEvent(t, s, MemberJoined, member("carol", ""))
	old.notified(t, "active", marshal(t, partialDoc(f, 41, user("dave", ""))), 481)
	if s.RosterErr() != nil {
		t.Errorf("RosterErr() = %v", s.RosterErr())
	}

	// Unknown subscriptions: another Call-ID; our Call-ID with another tag.
	stranger := *sd
	stranger.callID = "nobody@127.0.0.1"
	stranger.notified(t, "active", marshal(t, partialDoc(f, 2, user("eve", ""))), 481)
	other := *sd
	other.client = &sip.FromHeader{Address: sd.client.Address, Params: sip.NewParams()}
	other.client.Params.Add("tag", "not-ours")
	other.notified(t, "active", marshal(t, partialDoc(f, 2, user("eve", ""))), 481)
	intruder := *sd
	intruder.focusTag = "not-the-focus"
	intruder.notified(t, "active", marshal(t, partialDoc(f, 2, user("eve", ""))), 481)
	noEvent(t, s, 50*time.Millisecond)

	// Bounded: the focus keeps ending the new subscriptions.
	for range maxRosterRetries - 1 {
		sd.notified(t, "terminated;reason=deactivated", nil, 200)
		sr = nextSubscribe(t, f)
		sd = dialogOf(t, f, sr)
		sd.answer(sr, 200, 3600)
	}
	sd.notified(t, "terminated", nil, 200)
	noSubscribe(t, f, 200*time.Millisecond)
	if !errors.Is(s.RosterErr(), ErrRosterEnded) {
		t.Errorf("RosterErr() = %v, want ErrRosterEnded", s.RosterErr())
	}
	expectReset(t, s)
}

// TestRosterNoNotify: a 2xx with no NOTIFY following within Timer N (RFC
// 6665 §4.1.2.4) counts as a failed subscription: the client subscribes
// anew.
func TestRosterNoNotify(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinConf(t, func(o *Options) { o.timerN = 200 * time.Millisecond })
	defer f.close(t, s)

	sr := nextSubscribe(t, f)
	first := dialogOf(t, f, sr)
	first.answer(sr, 200, 3600)
	sd := subscribe(t, f, 3600, fullDoc(f, 1, user("alice", "")))
	if sd.callID == first.callID {
		t.Fatal("subscribed anew in the same dialog")
	}
	expectReset(t, s, member("alice", ""))
	time.Sleep(300 * time.Millisecond) // Timer N no longer runs once a NOTIFY came
	leaveConf(t, s, sd)
}

// TestRosterRefused: a SUBSCRIBE answered 489 leaves the Session without
// roster (RosterErr is the *SIPError) and nothing more is sent.
func TestRosterRefused(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinConf(t, nil)
	defer f.close(t, s)

	sr := nextSubscribe(t, f)
	dialogOf(t, f, sr).answer(sr, 489, 0)
	deadline := time.Now().Add(5 * time.Second)
	for s.RosterErr() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	var se *SIPError
	if !errors.As(s.RosterErr(), &se) || se.Code != 489 || se.Method != "SUBSCRIBE" {
		t.Fatalf("RosterErr() = %v, want *SIPError 489", s.RosterErr())
	}
	noSubscribe(t, f, 100*time.Millisecond)
	noEvent(t, s, 0)
}

// TestNoRoster: no SUBSCRIBE with Options.NoRoster, nor to a focus that
// does not offer the conference package.
func TestNoRoster(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinConf(t, func(o *Options) { o.NoRoster = true })
	noSubscribe(t, f, 200*time.Millisecond)
	if !errors.Is(s.RosterErr(), ErrNoRoster) {
		t.Errorf("RosterErr() = %v, want ErrNoRoster", s.RosterErr())
	}
	f.close(t, s)
	noSubscribe(t, f, 0)

	s, f = joinFake(t, bothCaps, nil) // no isfocus, no Allow-Events
	defer f.close(t, s)
	if !errors.Is(s.RosterErr(), ErrNoRoster) || s.Roster() != nil {
		t.Errorf("RosterErr() = %v, Roster() = %v; want ErrNoRoster, nil", s.RosterErr(), s.Roster())
	}
}

// TestRosterDropped: events that find the channel full are dropped and
// counted; the roster stays right.
func TestRosterDropped(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinConf(t, func(o *Options) { o.RosterBuffer = 1 })
	defer f.close(t, s)

	sd := subscribe(t, f, 3600, fullDoc(f, 1, user("alice", "")))
	sd.notified(t, "active", marshal(t, partialDoc(f, 2, user("bob", ""))), 200)
	sd.notified(t, "active", marshal(t, partialDoc(f, 3, user("carol", ""))), 200)
	if n := s.RosterDropped(); n != 2 {
		t.Errorf("RosterDropped() = %d, want 2", n)
	}
	expectReset(t, s, member("alice", ""))
	expectRoster(t, s, member("alice", ""), member("bob", ""), member("carol", ""))
	leaveConf(t, s, sd)
}

// TestRosterLeaveUnreachable: when the unsubscribe gets no answer, Leave
// still ends within its context.
func TestRosterLeaveUnreachable(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinConf(t, nil)
	defer f.close(t, s)

	subscribe(t, f, 3600, fullDoc(f, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Leave(ctx) // the fake answers the BYE, never the SUBSCRIBE
	if err != nil {
		t.Errorf("Leave: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Leave took %v", d)
	}
	waitDone(t, s)
	sr := nextSubscribe(t, f)
	if got := headerValue(sr.req, "Expires", ""); got != "0" {
		t.Errorf("Expires %q, want 0", got)
	}
}

func TestRefreshIn(t *testing.T) {
	for secs, want := range map[uint32]time.Duration{
		3600: 2700 * time.Second, 100: 68 * time.Second, 60: 30 * time.Second, 2: time.Second, 1: 500 * time.Millisecond,
	} {
		if got := refreshIn(secs); got != want {
			t.Errorf("refreshIn(%d) = %v, want %v", secs, got, want)
		}
	}
}

func TestParseSubState(t *testing.T) {
	for in, want := range map[string]subState{
		"active;expires=3600":                        {state: "active", expires: 3600, hasExpires: true},
		" Terminated ; reason=NoResource":            {state: "terminated", reason: "noresource"},
		"terminated;reason=probation;retry-after=30": {state: "terminated", reason: "probation", retryAfter: 30 * time.Second},
		"pending;expires=x":                          {state: "pending"},
		"":                                           {},
	} {
		if got := parseSubState(in); got != want {
			t.Errorf("parseSubState(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func TestDiffMembers(t *testing.T) {
	a, b, c := member("alice", ""), member("bob", ""), member("carol", "")
	b2 := member("bob", "B")
	got := diffMembers([]Member{a, b, c}, []Member{b2, member("dave", "")})
	want := []string{"MemberLeft sip:alice@example.com", "MemberLeft sip:carol@example.com",
		"MemberChanged sip:bob@example.com", "MemberJoined sip:dave@example.com"}
	var names []string
	for _, ev := range got {
		names = append(names, fmt.Sprint(ev.Kind, " ", ev.Member.URI))
	}
	if !slices.Equal(names, want) {
		t.Errorf("diff = %v, want %v", names, want)
	}
}

// TestMembersOfRoles: a user's <roles> come into Member.Roles, and the
// role "guest" (issue 17) makes it a Guest; a change of roles is a change.
func TestMembersOfRoles(t *testing.T) {
	g := user("carol", "")
	g.Roles = []string{"participant", GuestRole}
	doc := confinfo.NewChatRoom("sip:lobby@example.com", "lobby", 1)
	doc.AddUser(user("alice", "alice"))
	doc.AddUser(g)
	ms := membersOf(doc)
	if len(ms) != 2 || ms[0].Guest || len(ms[0].Roles) != 0 || !ms[1].Guest || len(ms[1].Roles) != 2 {
		t.Fatalf("members %+v: want alice, then carol as a guest", ms)
	}
	prev := slices.Clone(ms)
	ms[1].Roles = []string{"participant"}
	if evs := diffMembers(prev, ms); len(evs) != 1 || evs[0].Kind != MemberChanged {
		t.Fatalf("events %+v: want carol changed", evs)
	}
}

// TestRosterShortVisit (issue 19): a partial document that deletes a user
// the roster never had (it came and went within the focus's rate-limit
// window) is reported as that user joining, then leaving, named as the
// deleted <user> names it.
func TestRosterShortVisit(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinConf(t, nil)
	defer f.close(t, s)

	sd := subscribe(t, f, 3600, fullDoc(f, 1, user("alice", "")))
	expectReset(t, s, member("alice", ""))
	visitor := user("flash", "Flash")
	visitor.State, visitor.Endpoints = confinfo.StateDeleted, nil
	sd.notified(t, "active", marshal(t, partialDoc(f, 2, visitor, confinfo.DeletedUser("sip:ghost@example.com"))), 200)
	seen := Member{URI: "sip:flash@example.com", Display: "Flash", Nickname: "Flash"}
	expectEvent(t, s, MemberJoined, seen)
	expectEvent(t, s, MemberLeft, seen)
	ghost := Member{URI: "sip:ghost@example.com"}
	expectEvent(t, s, MemberJoined, ghost)
	expectEvent(t, s, MemberLeft, ghost)
	expectRoster(t, s, member("alice", ""))
	// A deleted user the roster had is a plain MemberLeft.
	sd.notified(t, "active", marshal(t, partialDoc(f, 3, confinfo.DeletedUser("sip:alice@example.com"))), 200)
	expectEvent(t, s, MemberLeft, member("alice", ""))
	noEvent(t, s, 50*time.Millisecond)
	leaveConf(t, s, sd)
}

// TestFindRefreshes (issue 19): Find, when the roster has nobody of that
// nickname, refreshes the subscription and answers from the full document
// the refresh brings; Lookup alone answers from the roster as it is.
func TestFindRefreshes(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinConf(t, func(o *Options) { o.refetchGap = 10 * time.Millisecond })
	defer f.close(t, s)

	sd := subscribe(t, f, 3600, fullDoc(f, 1, user("alice", "")))
	expectReset(t, s, member("alice", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type found struct {
		m  Member
		ok bool
	}
	got := make(chan found, 1)
	go func() { m, ok := s.Find(ctx, "bobby"); got <- found{m, ok} }()
	sr := sd.expectRefresh(t, 3600)
	if _, ok := s.Lookup("bobby"); ok {
		t.Fatal("Lookup found bobby before the document that has him")
	}
	sd.answer(sr, 200, 3600)
	sd.notified(t, "active;expires=3600", marshal(t, fullDoc(f, 2, user("alice", ""), user("bob", "bobby"))), 200)
	if r := <-got; !r.ok || r.m.URI != "sip:bob@example.com" {
		t.Fatalf("Find(bobby) = %+v, %v; want bob", r.m, r.ok)
	}
	// Nobody of that name even in the full document: not found, at once.
	go func() { m, ok := s.Find(ctx, "nobody"); got <- found{m, ok} }()
	sr = sd.expectRefresh(t, 3600)
	sd.answer(sr, 200, 3600)
	sd.notified(t, "active;expires=3600", marshal(t, fullDoc(f, 3, user("alice", ""), user("bob", "bobby"))), 200)
	select {
	case r := <-got:
		if r.ok {
			t.Fatalf("Find(nobody) = %+v", r.m)
		}
	case <-ctx.Done():
		t.Fatal("Find(nobody) still waiting after the full document")
	}
	leaveConf(t, s, sd)
}
