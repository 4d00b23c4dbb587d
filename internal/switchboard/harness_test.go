package switchboard

import (
	"bytes"
	"context"
	"crypto/tls"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
	"github.com/parley-im/parley/sdp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTimeout bounds every wait in these tests.
const waitTimeout = 5 * time.Second

const testHost = "127.0.0.1"

// handle stands in for the focus's dialog: what Resolve maps a session to.
type handle struct {
	rm *room.Room
	p  *room.Participant
}

// harness is a relay and a Switch on 127.0.0.1:0 with a room registry; the
// SIP side is played by join, which does what the focus does.
type harness struct {
	t     testing.TB
	relay *relay.Server
	sw    *Switch
	reg   *room.Registry
	pol   room.Policy
	tls   *tls.Config // participants' TLS client configuration, when the relay speaks TLS (withTLS)
	ws    string      // the relay's WebSocket URL (withWS), or ""
	allWS bool        // participants join over WebSocket (withWS)

	mu    sync.Mutex
	ended []endedSession
}

type endedSession struct {
	h      *handle
	reason relay.CloseReason
}

type harnessOption func(*relay.Config, *Config)

// defaultPolicy is a room with nicknames and private messages, no notices.
func defaultPolicy() room.Policy {
	return room.Policy{
		Nicknames:       true,
		PrivateMessages: true,
		Nick:            room.NickPolicy{Allowed: true, Reserved: []string{"admin"}},
		MaxMessage:      1 << 20,
	}
}

func newHarness(t testing.TB, pol room.Policy, opts ...harnessOption) *harness {
	t.Helper()
	h := &harness{t: t, pol: pol}
	h.reg = room.NewRegistry(func(string) (room.Policy, bool, bool) { return h.pol, false, true }, 0)
	scfg := Config{
		Resolve: func(x any) (*room.Room, *room.Participant) {
			hd := x.(*handle)
			return hd.rm, hd.p
		},
		Ended: func(x any, _ string, reason relay.CloseReason) {
			hd := x.(*handle)
			h.mu.Lock()
			h.ended = append(h.ended, endedSession{hd, reason})
			h.mu.Unlock()
			// What the focus does: leave the room.
			h.reg.Leave(hd.rm, hd.p.ID)
			h.sw.Left(hd.rm, hd.p)
		},
	}
	rcfg := relay.Config{Addr: "127.0.0.1:0", Host: testHost}
	for _, o := range opts {
		o(&rcfg, &scfg)
	}
	if rcfg.TLS != nil {
		// Participants join with msrps URIs over TLS. The certificate is
		// not checked: what is measured is the record layer.
		h.tls = &tls.Config{InsecureSkipVerify: true}
	}
	h.sw = New(scfg)
	h.relay = relay.New(rcfg, h.sw)
	if rcfg.WSPort != 0 {
		h.serveWS(rcfg.WSPort)
	}
	if err := h.relay.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.relay.Serve(context.Background())
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := h.relay.Shutdown(ctx); err != nil {
			t.Errorf("relay shutdown: %v", err)
		}
		h.sw.Close()
		<-done
	})
	return h
}

// party is one participant's MSRP session, connected and bound.
type party struct {
	*msrptest.Peer
	h    *harness
	self msrp.URI // the participant's URI (its a=path)
	sw   msrp.URI // the switch's session URI
	p    *room.Participant
	hd   *handle
	sess *relay.Session
}

type partyOption func(*room.Participant)

func anonymous(p *room.Participant) {
	p.Anonymous = true
	p.URI = "sip:anonymous-x1y2z3@" + testHost
}

func noPrivate(p *room.Participant) { p.Caps.PrivateMessages = false }

func wrapped(types string) partyOption {
	return func(p *room.Participant) {
		p.Wrapped, p.HasWrapped = mustFormats(types), true
	}
}

func maxSize(n int64) partyOption { return func(p *room.Participant) { p.MaxSize = n } }

// join admits uri to roomName as the focus would and binds its MSRP session.
func (h *harness) join(roomName, uri string, opts ...partyOption) *party {
	h.t.Helper()
	pt := h.joinUnbound(roomName, uri, opts...)
	pt.bind()
	return pt
}

func (h *harness) joinUnbound(roomName, uri string, opts ...partyOption) *party {
	h.t.Helper()
	self := msrp.URI{Secure: h.tls != nil, Host: "127.0.0.1", Port: 9, SessionID: msrp.NewSessionID(), Transport: "tcp"}
	if h.allWS {
		self = h.wsSelf()
	}
	return h.joinSelf(roomName, uri, self, opts...)
}

func (h *harness) joinSelf(roomName, uri string, self msrp.URI, opts ...partyOption) *party {
	h.t.Helper()
	hd := &handle{}
	sess, err := h.relay.NewSession([]msrp.URI{self}, NewAttachment(hd))
	if err != nil {
		h.t.Fatal(err)
	}
	p := &room.Participant{
		ID: sess.ID(), URI: uri, Signalled: uri, RoomURI: roomURI(roomName),
		Caps:        room.Caps{ChatroomAware: true, Nicknames: true, PrivateMessages: true},
		AcceptTypes: mustFormats("message/cpim"),
	}
	for _, o := range opts {
		o(p)
	}
	rm, err := h.reg.Join(roomName, p)
	if err != nil {
		h.t.Fatal(err)
	}
	hd.rm, hd.p = rm, p
	h.sw.Joined(rm, p)
	return &party{h: h, self: self, sw: sess.LocalURI(), p: p, hd: hd, sess: sess}
}

func (pt *party) bind() {
	pt.h.t.Helper()
	if pt.self.Transport == "ws" {
		pt.Peer = msrptest.NewPeer(pt.h.t, pt.h.netConnWS(), pt.self)
	} else if pt.h.tls != nil {
		c, err := tls.Dial("tcp", pt.h.relay.TLSAddr().String(), pt.h.tls)
		if err != nil {
			pt.h.t.Fatalf("dial TLS: %v", err)
		}
		pt.Peer = msrptest.NewPeer(pt.h.t, c, pt.self)
	} else {
		pt.Peer = msrptest.Dial(pt.h.t, pt.h.relay.Addr().String(), pt.self)
	}
	b := msrptest.Bodiless(pt.sw, pt.self)
	pt.Send(b)
	pt.ExpectResponse(b.TID, msrp.StatusOK)
}

// leave does what the focus does on BYE.
func (pt *party) leave() {
	pt.h.reg.Leave(pt.hd.rm, pt.p.ID)
	pt.h.sw.Left(pt.hd.rm, pt.p)
	pt.sess.Close(relay.CloseNormal)
}

func roomURI(name string) string { return "sip:" + name + "@" + testHost }

// say sends a whole message with a CPIM body and returns the SEND.
func (pt *party) say(body []byte, opts ...msrptest.Option) *msrp.Message {
	m := msrptest.Send(pt.sw, pt.self, "message/cpim", body, opts...)
	pt.Send(m)
	return m
}

// expectCopy reads the next request and checks it is a copy of body: a
// SEND to pt from its switch session, message/cpim, failure reports only.
func (pt *party) expectCopy(body []byte) *msrp.Message {
	pt.h.t.Helper()
	m := pt.ExpectRequest(msrp.MethodSEND)
	checkCopy(pt.h.t, pt, m)
	if !bytes.Equal(m.Body, body) {
		pt.h.t.Fatalf("copy body = %q, want %q", m.Body, body)
	}
	return m
}

func checkCopy(t testing.TB, pt *party, m *msrp.Message) {
	t.Helper()
	if got := m.Header.Get(msrp.HeaderToPath); got != pt.self.String() {
		t.Errorf("To-Path = %q, want %q", got, pt.self.String())
	}
	if got := m.Header.Get(msrp.HeaderFromPath); got != pt.sw.String() {
		t.Errorf("From-Path = %q, want %q", got, pt.sw.String())
	}
	if got := m.ContentType(); got != "message/cpim" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := m.Header.Get(msrp.HeaderFailureReport); got != "partial" {
		t.Errorf("Failure-Report = %q, want partial", got)
	}
	if m.Header.Has(msrp.HeaderSuccessReport) {
		t.Errorf("copy carries Success-Report")
	}
	if err := m.Validate(); err != nil {
		t.Errorf("copy does not validate: %v", err)
	}
}

func (h *harness) endedWith() []endedSession {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]endedSession(nil), h.ended...)
}

// waitFor polls cond until it holds, failing after waitTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func mustFormats(s string) sdp.FormatList {
	l, err := sdp.ParseFormatList(s)
	if err != nil {
		panic(err)
	}
	return l
}

func cpimMsg(from, to, text string) []byte { return msrptest.CPIM(from, to, text) }

// unaware is a conference-unaware participant: its offer had no a=chatroom.
func unaware(p *room.Participant) { p.Caps = room.Caps{} }
