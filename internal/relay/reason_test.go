package relay

import (
	"sync"
	"testing"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

func TestCloseReasonString(t *testing.T) {
	seen := map[string]bool{}
	for r := range CloseReason(numCloseReasons) {
		s := r.String()
		if s == "unknown" || seen[s] {
			t.Errorf("reason %d: %q", r, s)
		}
		seen[s] = true
	}
	if CloseReason(numCloseReasons).String() != "unknown" {
		t.Error("out-of-range reason")
	}
}

// A nil Handler answers requests 501 and still binds and keeps alive.
func TestNilHandler(t *testing.T) {
	srv := startServer(t, Config{}, nil)
	s, p := boundSession(t, srv, "alice")
	m := msrptest.Send(s.LocalURI(), p.URI, "message/cpim", []byte("x"))
	p.Send(m)
	p.ExpectResponse(m.TID, msrp.StatusMethodNotUnderstood)
	bind(t, p, s)
}

// Session.Close racing with the peer's binding request: whichever wins, the
// session ends once, and SessionEnded is never called for it.
func TestCloseRacesBind(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{}, rec)
	const n = 20
	var wg sync.WaitGroup
	sessions := make([]*Session, n)
	for i := range n {
		u := peerURI("racer" + string(rune('a'+i)))
		s := newSession(t, srv, u)
		sessions[i] = s
		p := dial(t, srv, u)
		b := msrptest.Bodiless(s.LocalURI(), u)
		wg.Go(func() { s.Close(CloseNormal) })
		wg.Go(func() {
			p.SendRaw(b.Bytes())
			if m, err := p.Next(); err == nil && m.Code != msrp.StatusOK && m.Code != msrp.StatusSessionDoesNotExist {
				t.Errorf("response %d", m.Code)
			}
		})
	}
	wg.Wait()
	for _, s := range sessions {
		if !s.Ended() {
			t.Errorf("%s not ended", s.ID())
		}
	}
	if st := srv.Stats(); st.SessionsEnded[CloseNormal] != n || st.SessionsOpen != 0 || rec.numEnded() != 0 {
		t.Errorf("stats %+v, SessionEnded calls %d", st, rec.numEnded())
	}
}
