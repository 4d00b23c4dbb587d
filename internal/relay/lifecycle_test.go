package relay

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"testing"

	"go.uber.org/goleak"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

func TestPeerDropEndsEverySession(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{}, rec)
	alice := peerURI("alice")
	s1, s2 := newSession(t, srv, alice), newSession(t, srv, alice)
	p := dial(t, srv, alice)
	bind(t, p, s1)
	bind(t, p, s2)
	other, _ := boundSession(t, srv, "bob")
	p.Close()
	rec.waitEnded(t, s1, ClosePeer)
	rec.waitEnded(t, s2, ClosePeer)
	if rec.numEnded() != 2 || other.Ended() {
		t.Error("another connection's session ended")
	}
	if st := srv.Stats(); st.ConnsClosed[ClosePeer] != 1 || st.SessionsEnded[ClosePeer] != 2 || st.ConnsOpen != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestSessionCloseClosesLastConnection(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{}, rec)
	alice := peerURI("alice")
	s1, s2 := newSession(t, srv, alice), newSession(t, srv, alice)
	p := dial(t, srv, alice)
	bind(t, p, s1)
	bind(t, p, s2)

	s1.Close(CloseNormal)
	s1.Close(CloseNormal) // idempotent
	b := msrptest.Bodiless(s1.LocalURI(), alice)
	p.Send(b)
	p.ExpectResponse(b.TID, msrp.StatusSessionDoesNotExist)
	bind(t, p, s2) // the connection stays for s2

	// Output queued before the last Close is still written.
	if err := s2.Send(msrptest.Send(alice, s2.LocalURI(), "text/plain", []byte("bye"))); err != nil {
		t.Fatal(err)
	}
	s2.Close(CloseNormal)
	if in := p.Expect(); string(in.Body) != "bye" {
		t.Errorf("got %s", msrptest.Describe(in))
	}
	p.ExpectClosed()
	waitFor(t, "connection gone", func() bool { return srv.Stats().ConnsOpen == 0 })
	if n := rec.numEnded(); n != 0 {
		t.Errorf("SessionEnded called %d times for sessions the focus closed", n)
	}
	if st := srv.Stats(); st.ConnsClosed[CloseNormal] != 1 || st.SessionsEnded[CloseNormal] != 2 || st.SessionsOpen != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestCloseUnboundSession(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{BindTimeout: 50 * msec}, rec)
	s := newSession(t, srv, peerURI("alice"))
	s.Close(CloseNormal)
	// The stopped bind timer must not report an end either; a later
	// session's timeout proves timers run.
	s2 := newSession(t, srv, peerURI("bob"))
	rec.waitEnded(t, s2, CloseBindTimeout)
	if len(rec.endings(s)) != 0 {
		t.Error("SessionEnded for a session the focus closed")
	}
}

func TestShutdown(t *testing.T) {
	rec := &recorder{}
	srv := New(Config{Addr: "127.0.0.1:0"}, rec)
	if _, err := srv.NewSession([]msrp.URI{peerURI("x")}, nil); !errors.Is(err, ErrNotListening) {
		t.Errorf("NewSession before Listen: %v", err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background()) }()

	a, pa := boundSession(t, srv, "alice")
	b, pb := boundSession(t, srv, "bob")
	c := newSession(t, srv, peerURI("carol")) // never bound
	idle := dial(t, srv, peerURI("idle"))     // connected, nothing bound
	waitFor(t, "three connections", func() bool { return srv.Stats().ConnsOpen == 3 })

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Session{a, b, c} {
		if got := rec.endings(s); len(got) != 1 || got[0] != CloseShutdown {
			t.Errorf("%s: SessionEnded %v, want [shutdown]", s.ID(), got)
		}
	}
	for _, p := range []*msrptest.Peer{pa, pb, idle} {
		p.ExpectClosed()
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	if err := srv.Shutdown(ctx); err != nil { // idempotent
		t.Errorf("second Shutdown: %v", err)
	}
	if _, err := srv.NewSession([]msrp.URI{peerURI("x")}, nil); !errors.Is(err, ErrServerClosed) {
		t.Errorf("NewSession after Shutdown: %v", err)
	}
	if err := srv.Serve(context.Background()); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown: %v", err)
	}
	if st := srv.Stats(); st.ConnsClosed[CloseShutdown] != 3 || st.SessionsEnded[CloseShutdown] != 3 || st.ConnsOpen != 0 || st.SessionsOpen != 0 {
		t.Errorf("stats %+v", st)
	}
	for _, p := range []*msrptest.Peer{pa, pb, idle} {
		p.Close()
	}
	goleak.VerifyNone(t)
}

// Shutdown is bounded by its context even when a Handler blocks.
func TestShutdownBoundedByContext(t *testing.T) {
	rec := &recorder{blockEnded: make(chan struct{})}
	srv := New(Config{Addr: "127.0.0.1:0"}, rec)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background()) }()
	s, p := boundSession(t, srv, "alice")

	ctx, cancel := context.WithTimeout(context.Background(), 50*msec)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a blocked handler: %v", err)
	}
	close(rec.blockEnded)
	ctx2, cancel2 := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel2()
	if err := srv.Shutdown(ctx2); err != nil {
		t.Fatal(err)
	}
	rec.waitEnded(t, s, CloseShutdown)
	<-served
	p.Close()
	goleak.VerifyNone(t)
}

func TestServeReturnsWhenContextEnds(t *testing.T) {
	srv := New(Config{Addr: "127.0.0.1:0"}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }() // Serve listens itself
	waitFor(t, "listening", func() bool { return srv.Addr() != nil })
	cancel()
	if err := <-served; !errors.Is(err, context.Canceled) {
		t.Errorf("Serve returned %v", err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestListenErrors(t *testing.T) {
	srv := New(Config{Addr: "0.0.0.0:0"}, nil)
	if err := srv.Listen(); err == nil {
		t.Error("listening on 0.0.0.0 without Host should fail")
		srv.Shutdown(context.Background())
	}
	srv = New(Config{Addr: "0.0.0.0:0", Host: "chat.example.com"}, nil)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	if err := srv.Listen(); err == nil {
		t.Error("second Listen succeeded")
	}
	s, err := srv.NewSession([]msrp.URI{peerURI("a")}, "dialog-1")
	if err != nil {
		t.Fatal(err)
	}
	if s.LocalURI().Host != "chat.example.com" || s.Data() != "dialog-1" || len(s.PeerPath()) != 1 {
		t.Errorf("session %s %v %v", s.LocalURI(), s.Data(), s.PeerPath())
	}
	if _, err := srv.NewSession(nil, nil); err == nil {
		t.Error("NewSession with an empty path succeeded")
	}
}

// flakyListener fails its first Accept calls with a temporary error.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

func TestAcceptBacksOffOnTemporaryErrors(t *testing.T) {
	srv := New(Config{Addr: "127.0.0.1:0"}, &recorder{})
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: srv.ln}
	fl.fails.Store(3)
	srv.ln = fl
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background()) }()
	boundSession(t, srv, "alice") // accepted after three failures
	if fl.fails.Load() >= 0 {
		t.Error("the temporary errors were not hit")
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
}
