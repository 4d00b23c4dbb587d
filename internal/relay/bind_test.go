package relay

import (
	"errors"
	"testing"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

func TestBindWithBodilessSend(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{}, rec)
	alice := peerURI("alice")
	s := newSession(t, srv, alice)
	if s.Bound() {
		t.Fatal("bound before any request")
	}
	if want := "msrp://127.0.0.1:" + itoa(srv.Addr()) + "/" + s.ID() + ";tcp"; s.LocalURI().String() != want {
		t.Errorf("LocalURI %s, want %s", s.LocalURI(), want)
	}
	if len(s.ID()) < 14 { // ≥ 80 bits in base 62
		t.Errorf("session-id %q too short", s.ID())
	}

	p := dial(t, srv, alice)
	b := msrptest.Bodiless(s.LocalURI(), alice)
	p.Send(b)
	resp := p.ExpectResponse(b.TID, msrp.StatusOK)
	if got := resp.Header.Get(msrp.HeaderFromPath); got != s.LocalURI().String() {
		t.Errorf("response From-Path %q", got)
	}
	if !rec.isBound(s) || !s.Bound() {
		t.Fatal("SessionBound not called before the 200")
	}

	// A second bodiless SEND is a keepalive: 200, not passed on.
	k := msrptest.Bodiless(s.LocalURI(), alice, msrptest.WithHeader("Keep-Alive", "yes"))
	p.Send(k)
	p.ExpectResponse(k.TID, msrp.StatusOK)
	if n := len(rec.reqs()); n != 0 {
		t.Errorf("HandleRequest called %d times for bodiless SENDs", n)
	}
	if rec.numBound() != 1 {
		t.Errorf("SessionBound called %d times", rec.numBound())
	}
	if st := srv.Stats(); st.SessionsBound != 1 || st.SessionsCreated != 1 || st.ConnsAccepted != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestRoutingErrors(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{}, rec)
	alice := peerURI("alice")
	s := newSession(t, srv, alice)
	local := s.LocalURI()

	unknown := local
	unknown.SessionID = "nosuchsession0000000"
	wrongHost := local
	wrongHost.Host = "192.0.2.1"
	wrongPort := local
	wrongPort.Port = local.Port%65535 + 1
	wrongTransport := local
	wrongTransport.Transport = "ws"

	p := dial(t, srv, alice)
	for _, tc := range []struct {
		name string
		msg  *msrp.Message
		code int
	}{
		{"unknown session-id", msrptest.Bodiless(unknown, alice), 481},
		{"wrong host", msrptest.Bodiless(wrongHost, alice), 481},
		{"wrong port", msrptest.Bodiless(wrongPort, alice), 481},
		{"wrong transport", msrptest.Bodiless(wrongTransport, alice), 481},
		{"wrong From-Path", msrptest.Bodiless(local, peerURI("mallory")), 481},
		{"unknown session, SEND with body", msrptest.Send(unknown, alice, "message/cpim", []byte("x")), 481},
		{"unknown session, NICKNAME", msrptest.Nickname(unknown, alice, "al"), 481},
	} {
		p.Send(tc.msg)
		resp := p.ExpectResponse(tc.msg.TID, tc.code)
		if tc.msg.Method != msrp.MethodSEND {
			continue
		}
		// A SEND's response goes to the previous hop only, from the URI asked for.
		if got, want := resp.Header.Get(msrp.HeaderToPath), tc.msg.Header.Get(msrp.HeaderFromPath); got != want {
			t.Errorf("%s: response To-Path %q, want %q", tc.name, got, want)
		}
	}

	// Missing To-Path: 400, from this server's base URI.
	raw := "MSRP notopath1 SEND\r\nFrom-Path: " + alice.String() + "\r\nMessage-ID: m1234\r\nByte-Range: 1-0/0\r\n-------notopath1$\r\n"
	p.SendRaw([]byte(raw))
	resp := p.ExpectResponse("notopath1", msrp.StatusBadRequest)
	if got := resp.Header.Get(msrp.HeaderFromPath); got != srv.baseURI() {
		t.Errorf("400 From-Path %q, want %q", got, srv.baseURI())
	}
	// Unparseable To-Path: 400.
	raw = "MSRP badtopath SEND\r\nTo-Path: http://x/y\r\nFrom-Path: " + alice.String() + "\r\n-------badtopath$\r\n"
	p.SendRaw([]byte(raw))
	p.ExpectResponse("badtopath", msrp.StatusBadRequest)

	// Failure-Report: no → no response at all: the next message read is
	// the answer to the request that follows.
	quiet := msrptest.Bodiless(unknown, alice, msrptest.WithHeader(msrp.HeaderFailureReport, "no"))
	p.Send(quiet)
	next := msrptest.Bodiless(unknown, alice)
	p.Send(next)
	p.ExpectResponse(next.TID, msrp.StatusSessionDoesNotExist)

	if s.Bound() || rec.numBound() != 0 {
		t.Error("a rejected request bound the session")
	}
	if len(rec.reqs()) != 0 {
		t.Error("a rejected request reached the handler")
	}
	// The connection is still usable for the right session.
	bind(t, p, s)
}

func TestSecondConnectionGets506(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{}, rec)
	s, p1 := boundSession(t, srv, "alice")

	p2 := dial(t, srv, p1.URI)
	b := msrptest.Bodiless(s.LocalURI(), p1.URI)
	p2.Send(b)
	p2.ExpectResponse(b.TID, msrp.StatusSessionAlreadyInUse)
	m := msrptest.Send(s.LocalURI(), p1.URI, "message/cpim", []byte("hijack"))
	p2.Send(m)
	p2.ExpectResponse(m.TID, msrp.StatusSessionAlreadyInUse)

	// The first connection keeps working.
	bind(t, p1, s)
	m = msrptest.Send(s.LocalURI(), p1.URI, "message/cpim", []byte("hello"))
	p1.Send(m)
	p1.ExpectResponse(m.TID, msrp.StatusOK)
	if reqs := rec.reqs(); len(reqs) != 1 || string(reqs[0].Body) != "hello" {
		t.Errorf("handler got %d requests", len(reqs))
	}
	if err := s.Send(msrptest.Send(p1.URI, s.LocalURI(), "message/cpim", []byte("to alice"))); err != nil {
		t.Fatal(err)
	}
	if in := p1.ExpectRequest(msrp.MethodSEND); string(in.Body) != "to alice" {
		t.Errorf("got %s", msrptest.Describe(in))
	}
}

func TestMultiplexedSessions(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{}, rec)
	alice := peerURI("alice")
	s1 := newSession(t, srv, alice)
	s2 := newSession(t, srv, alice) // e.g. two rooms, one connection
	p := dial(t, srv, alice)
	bind(t, p, s1)
	bind(t, p, s2)
	if !s1.Bound() || !s2.Bound() || rec.numBound() != 2 {
		t.Fatal("both sessions should be bound")
	}
	for _, s := range []*Session{s2, s1} {
		m := msrptest.Send(s.LocalURI(), alice, "message/cpim", []byte("for "+s.ID()))
		p.Send(m)
		p.ExpectResponse(m.TID, msrp.StatusOK)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqSess) != 2 || rec.reqSess[0] != s2 || rec.reqSess[1] != s1 {
		t.Errorf("requests dispatched to the wrong sessions")
	}
}

func TestBindTimeout(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{BindTimeout: 100 * msec}, rec)
	alice := peerURI("alice")
	s := newSession(t, srv, alice)
	rec.waitEnded(t, s, CloseBindTimeout)
	if !s.Ended() {
		t.Error("session not marked ended")
	}
	if err := s.Send(msrptest.Bodiless(alice, s.LocalURI())); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("Send after the end: %v", err)
	}
	p := dial(t, srv, alice)
	b := msrptest.Bodiless(s.LocalURI(), alice)
	p.Send(b)
	p.ExpectResponse(b.TID, msrp.StatusSessionDoesNotExist)
	if st := srv.Stats(); st.SessionsEnded[CloseBindTimeout] != 1 || st.SessionsOpen != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A connection that binds nothing within BindTimeout is closed.
func TestConnectionBindDeadline(t *testing.T) {
	srv := startServer(t, Config{BindTimeout: 100 * msec}, &recorder{})
	p := dial(t, srv, peerURI("idle"))
	p.ExpectClosed()
	waitFor(t, "close counted", func() bool { return srv.Stats().ConnsClosed[CloseBindTimeout] == 1 })
}
