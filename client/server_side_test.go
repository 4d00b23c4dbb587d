package client

import (
	"errors"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// TestDroppedMSRPConnectionGetsByeFromFocus: when a participant's MSRP
// connection drops, the switch notices, and the focus ends the dialog with
// BYE (issue 3: "a dropped MSRP connection ends the dialog with BYE").
func TestDroppedMSRPConnectionGetsByeFromFocus(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, stop := startServer(t, nil)
	defer stop()
	for _, transport := range []string{"udp", "tcp"} {
		o := opts(t, "alice", transport)
		o.lostGrace = 10 * time.Second // far longer than the focus needs: its BYE must win
		s, err := Join(testCtx(t), roomURI(srv, transport, "lobby"), o)
		if err != nil {
			t.Fatal(err)
		}
		// Half-close: the switch reads EOF, as when a participant's
		// connection drops; the client reads the switch's close cleanly and
		// waits (lostGrace) for the focus's BYE.
		if err := s.current().conn.nc.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		waitDone(t, s)
		if !errors.Is(s.Err(), ErrEndedByFocus) {
			t.Errorf("%s: Err() = %v, want ErrEndedByFocus (BYE from the focus)", transport, s.Err())
		}
	}
}

// TestSessionBindingAtTheSwitch: a second connection for a bound session is
// refused with 506 (RFC 4975 §5.4) and the first keeps working; a session
// the switch never allocated gets 481.
func TestSessionBindingAtTheSwitch(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, stop := startServer(t, nil)
	defer stop()
	s, err := Join(testCtx(t), roomURI(srv, "tcp", "lobby"), opts(t, "bob", "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Leave(testCtx(t))
	remote := s.RemotePath()[len(s.RemotePath())-1]

	intruder := msrptest.Dial(t, srv.Addrs().MSRP, s.LocalURI())
	defer intruder.Close()
	b := msrptest.Bodiless(remote, s.LocalURI())
	intruder.Send(b)
	intruder.ExpectResponse(b.TID, msrp.StatusSessionAlreadyInUse)

	unknown := remote
	unknown.SessionID = msrp.NewSessionID()
	u := msrptest.Bodiless(unknown, s.LocalURI())
	intruder.Send(u)
	intruder.ExpectResponse(u.TID, msrp.StatusSessionDoesNotExist)

	select {
	case <-s.Done():
		t.Fatalf("the legitimate session ended: %v", s.Err())
	case <-time.After(100 * time.Millisecond):
	}
}
