package relay

import (
	"bytes"
	"testing"
	"time"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// Issue 14, slowloris: a bound connection that trickles a chunk one byte
// at a time is closed with CloseStalled once the chunk has taken longer
// than ProgressTimeout; a connection that waits between messages longer
// than that is not, and neither is a message that arrives in pieces within
// it. (Before the progress timeout, the trickling connection was never
// closed: this test timed out waiting for its SessionEnded.)
func TestProgressTimeoutClosesTrickle(t *testing.T) {
	// Wide margins: a loaded machine (CI with -race) may stall a goroutine
	// for tens of milliseconds between the two pieces.
	const timeout = 500 * msec
	rec := &recorder{}
	srv := startServer(t, Config{ProgressTimeout: timeout}, rec)
	s, p := boundSession(t, srv, "slow")

	// Idle between messages for longer than the timeout: no deadline.
	time.Sleep(2 * timeout)
	// A message in two pieces, well within the timeout, is read.
	m := msrptest.Send(s.LocalURI(), p.URI, "text/plain", []byte("in two pieces"))
	raw := m.Bytes()
	p.SendRaw(raw[:20])
	time.Sleep(timeout / 20)
	p.SendRaw(raw[20:])
	p.ExpectResponse(m.TID, msrp.StatusOK)
	if !s.Bound() {
		t.Fatal("connection closed while idle or on a message that progressed")
	}

	// Now one byte every 10 ms of a 2 KiB chunk: 20 s at that rate.
	m = msrptest.Send(s.LocalURI(), p.URI, "text/plain", bytes.Repeat([]byte("x"), 2048))
	raw = m.Bytes()
	start := time.Now()
	stop := make(chan struct{})
	trickled := make(chan int)
	go func() {
		n := 0
		defer func() { trickled <- n }()
		for ; n < len(raw); n++ {
			if _, err := p.Conn().Write(raw[n : n+1]); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * msec):
			}
		}
	}()
	rec.waitEnded(t, s, CloseStalled)
	took := time.Since(start)
	close(stop)
	n := <-trickled
	t.Logf("trickling connection closed after %v (progress timeout %v), %d of %d octets sent", took.Round(msec), timeout, n, len(raw))
	if st := srv.Stats(); st.ConnsClosed[CloseStalled] != 1 {
		t.Errorf("ConnsClosed[stalled] = %d, want 1", st.ConnsClosed[CloseStalled])
	}
}

// Issue 14: one connection binds at most MaxSessionsPerConn sessions; the
// request for one more is answered 403 with a reason phrase and the session
// stays unbound (it binds on another connection). Before the limit, the
// third binding was answered 200.
func TestSessionsPerConnLimit(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{MaxSessionsPerConn: 2}, rec)
	u := peerURI("multi")
	p := dial(t, srv, u)
	var sessions []*Session
	for range 3 {
		sessions = append(sessions, newSession(t, srv, u))
	}
	bind(t, p, sessions[0])
	bind(t, p, sessions[1])
	b := msrptest.Bodiless(sessions[2].LocalURI(), u)
	p.Send(b)
	r := p.ExpectResponse(b.TID, msrp.StatusForbidden)
	t.Logf("third binding answered %d %s", r.Code, r.Comment)
	if r.Comment != reasonTooManySessions {
		t.Errorf("reason phrase %q, want %q", r.Comment, reasonTooManySessions)
	}
	if sessions[2].Bound() {
		t.Fatal("the refused session is bound")
	}
	if st := srv.Stats(); st.BindsRefused != 1 || st.SessionsBound != 2 {
		t.Errorf("BindsRefused %d, SessionsBound %d; want 1, 2", st.BindsRefused, st.SessionsBound)
	}
	// It binds on a connection of its own.
	p2 := dial(t, srv, u)
	bind(t, p2, sessions[2])
	if !sessions[2].Bound() {
		t.Fatal("not bound on the second connection")
	}
}

// Issue 14: a source IP address holds at most MaxUnboundPerSource
// connections that have bound nothing; one more is closed at once and
// counted (CloseSourceLimit). A connection that binds stops counting, so
// another may come. Before the limit, every connection stayed open until
// its bind timeout.
func TestUnboundPerSourceLimit(t *testing.T) {
	const limit = 3
	rec := &recorder{}
	srv := startServer(t, Config{MaxUnboundPerSource: limit}, rec)
	u := peerURI("flood")
	var peers []*msrptest.Peer
	for range limit {
		peers = append(peers, dial(t, srv, u))
	}
	waitFor(t, "the connections to be accepted", func() bool { return srv.Stats().ConnsAccepted == limit })
	extra := dial(t, srv, u)
	expectEOF(t, extra)
	st := srv.Stats()
	t.Logf("connection %d from one address: closed at once (%s: %d)", limit+1, CloseSourceLimit, st.ConnsClosed[CloseSourceLimit])
	if st.ConnsClosed[CloseSourceLimit] != 1 {
		t.Fatalf("ConnsClosed[source-limit] = %d, want 1", st.ConnsClosed[CloseSourceLimit])
	}
	// The first ones are still open: one binds, and a new one is accepted.
	s := newSession(t, srv, u)
	bind(t, peers[0], s)
	again := dial(t, srv, u)
	s2 := newSession(t, srv, u)
	bind(t, again, s2)
	if st := srv.Stats(); st.ConnsClosed[CloseSourceLimit] != 1 {
		t.Errorf("ConnsClosed[source-limit] = %d after a bind, want 1", st.ConnsClosed[CloseSourceLimit])
	}
	// Closing unbound ones frees their places too.
	for _, p := range peers[1:] {
		p.Close()
	}
	waitFor(t, "the closed connections to be forgotten", func() bool { return srv.Stats().ConnsOpen == 2 })
	for range limit {
		dial(t, srv, u)
	}
	waitFor(t, "three more to be accepted", func() bool { return srv.Stats().ConnsOpen == 2+limit })
	if st := srv.Stats(); st.ConnsClosed[CloseSourceLimit] != 1 {
		t.Errorf("ConnsClosed[source-limit] = %d, want 1", st.ConnsClosed[CloseSourceLimit])
	}
}

// blockingEnd is a recorder whose SessionEnded signals entered and then
// waits for release: it holds Shutdown between its start and the closing
// of the connections.
type blockingEnd struct {
	*recorder
	entered chan struct{}
	release chan struct{}
}

func (b *blockingEnd) SessionEnded(s *Session, r CloseReason) {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	<-b.release
	b.recorder.SessionEnded(s, r)
}

// Issue 14 item 5: once Shutdown has begun, a request is not answered 200
// (its copies could not be delivered): the relay dispatches nothing more
// and the connection closes without an answer. Shutdown calls SessionEnded
// for unbound sessions before it closes the connections; a Handler that
// takes its time there used to leave every connection working, and a SEND
// read then was answered 200 while the server was going away.
func TestNoAnswerAfterShutdownBegins(t *testing.T) {
	h := &blockingEnd{recorder: &recorder{}, entered: make(chan struct{}, 1), release: make(chan struct{})}
	srv := New(Config{Addr: "127.0.0.1:0"}, h)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(t.Context()) }()
	s, p := boundSession(t, srv, "late")
	_ = newSession(t, srv, peerURI("never")) // unbound: Shutdown ends it first

	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(t.Context()) }()
	<-h.entered
	m := msrptest.Send(s.LocalURI(), p.URI, "text/plain", []byte("after SIGTERM"))
	p.Send(m)
	p.Timeout = 500 * time.Millisecond // an answer would come at once
	got, err := p.Next()
	close(h.release)
	if err == nil {
		t.Errorf("a SEND read after Shutdown began was answered: %s", msrptest.Describe(got))
	} else {
		t.Logf("no answer (%v)", err)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	<-served
	if st := srv.Stats(); st.ShutdownUnanswered != 1 {
		t.Errorf("ShutdownUnanswered = %d, want 1", st.ShutdownUnanswered)
	}
	for _, r := range h.reqs() {
		if string(r.Body) == "after SIGTERM" {
			t.Error("the SEND was dispatched to the Handler after Shutdown began")
		}
	}
}
