package relay

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTimeout bounds every wait in these tests.
const waitTimeout = 5 * time.Second

// waitFor polls cond until it holds, failing the test after waitTimeout
// (nats's checkFor): no test asserts on elapsed time.
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

type ended struct {
	sess   *Session
	reason CloseReason
}

// recorder is a Handler that records every call. code decides the status
// code HandleRequest returns (default 200); blockEnded, when set, makes
// SessionEnded wait for it to be closed.
type recorder struct {
	mu        sync.Mutex
	bound     []*Session
	ended     []ended
	requests  []*msrp.Message
	reqSess   []*Session
	responses []*msrp.Message

	code       func(*Session, *msrp.Message) int
	blockEnded chan struct{}
}

func (r *recorder) SessionBound(s *Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bound = append(r.bound, s)
}

func (r *recorder) SessionEnded(s *Session, reason CloseReason) {
	if r.blockEnded != nil {
		<-r.blockEnded
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = append(r.ended, ended{s, reason})
}

func (r *recorder) HandleRequest(s *Session, m *msrp.Message) int {
	r.mu.Lock()
	r.requests = append(r.requests, m.Clone())
	r.reqSess = append(r.reqSess, s)
	code := r.code
	r.mu.Unlock()
	if code != nil {
		return code(s, m)
	}
	return msrp.StatusOK
}

func (r *recorder) HandleResponse(s *Session, m *msrp.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.responses = append(r.responses, m.Clone())
}

func (r *recorder) isBound(s *Session) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.bound, s)
}

func (r *recorder) numBound() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bound)
}

// endings returns the recorded ends of s.
func (r *recorder) endings(s *Session) []CloseReason {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []CloseReason
	for _, e := range r.ended {
		if e.sess == s {
			out = append(out, e.reason)
		}
	}
	return out
}

func (r *recorder) numEnded() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ended)
}

// waitEnded waits for s's SessionEnded and checks it came once, with want.
func (r *recorder) waitEnded(t testing.TB, s *Session, want CloseReason) {
	t.Helper()
	waitFor(t, "SessionEnded("+want.String()+")", func() bool { return len(r.endings(s)) > 0 })
	if got := r.endings(s); len(got) != 1 || got[0] != want {
		t.Fatalf("SessionEnded calls for %s: %v, want exactly [%v]", s.ID(), got, want)
	}
}

func (r *recorder) reqs() []*msrp.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests)
}

func (r *recorder) resps() []*msrp.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.responses)
}

// startServer runs a Server on 127.0.0.1:0 and shuts it down at cleanup.
func startServer(t testing.TB, cfg Config, h Handler) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	srv := New(cfg, h)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		select {
		case err := <-served:
			if !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		case <-time.After(waitTimeout):
			t.Error("Serve did not return after Shutdown")
		}
	})
	return srv
}

// peerURI returns a participant's MSRP URI; its host and port are not
// checked against the TCP connection, only against the session's PeerPath.
func peerURI(name string) msrp.URI {
	return msrp.MustParseURI("msrp://client.example.com:7777/" + name + "0000;tcp")
}

func newSession(t testing.TB, srv *Server, peer msrp.URI) *Session {
	t.Helper()
	s, err := srv.NewSession([]msrp.URI{peer}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dial connects a participant playing peer and closes it at cleanup.
func dial(t testing.TB, srv *Server, self msrp.URI) *msrptest.Peer {
	t.Helper()
	p := msrptest.Dial(t, srv.Addr().String(), self)
	t.Cleanup(func() { p.Close() })
	return p
}

// bind sends the bodiless SEND that binds s on p and expects its 200.
func bind(t testing.TB, p *msrptest.Peer, s *Session) {
	t.Helper()
	b := msrptest.Bodiless(s.LocalURI(), p.URI)
	p.Send(b)
	p.ExpectResponse(b.TID, msrp.StatusOK)
}

// boundSession creates a session for a new participant and binds it.
func boundSession(t testing.TB, srv *Server, name string) (*Session, *msrptest.Peer) {
	t.Helper()
	u := peerURI(name)
	s := newSession(t, srv, u)
	p := dial(t, srv, u)
	bind(t, p, s)
	return s, p
}

const msec = time.Millisecond

func itoa(a interface{ String() string }) string {
	s := a.String()
	return s[strings.LastIndexByte(s, ':')+1:]
}
