package client

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/sdp"
)

func TestJoinLeave(t *testing.T) {
	for _, tc := range []struct{ transport, localAddr string }{
		{"udp", ""}, {"tcp", ""}, {"udp", "0.0.0.0:0"}, {"tcp", ":0"},
	} {
		transport, name := tc.transport, tc.transport
		if tc.localAddr != "" {
			name += " " + tc.localAddr
		}
		t.Run(name, func(t *testing.T) {
			defer goleak.VerifyNone(t)
			srv, stop := startServer(t, nil)
			defer stop()
			ctx := testCtx(t)

			o := opts(t, "alice", transport)
			o.LocalAddr = tc.localAddr
			s, err := Join(ctx, roomURI(srv, transport, "lobby"), o)
			if err != nil {
				t.Fatal(err)
			}
			if !s.IsFocus() {
				t.Error("IsFocus = false, want true")
			}
			caps, ok := s.Chatroom()
			if !ok || !caps.Nickname || !caps.PrivateMessages {
				t.Errorf("Chatroom() = %+v, %v; want nickname and private-messages", caps, ok)
			}
			path := s.RemotePath()
			_, port, _ := net.SplitHostPort(srv.Addrs().MSRP)
			if len(path) != 1 || path[0].Host != "127.0.0.1" || strconv.Itoa(path[0].Port) != port || path[0].SessionID == "" {
				t.Errorf("RemotePath() = %v, want one URI on %s", path, srv.Addrs().MSRP)
			}
			if l := s.LocalURI(); l.Port != activePort || len(l.SessionID) != msrp.SessionIDLength || l.Host != "127.0.0.1" {
				t.Errorf("LocalURI() = %v", l)
			}
			if isDone(s) || s.Err() != nil {
				t.Fatalf("session ended early: %v", s.Err())
			}

			if err := s.Leave(ctx); err != nil {
				t.Fatalf("Leave: %v", err)
			}
			waitDone(t, s)
			if s.Err() != nil {
				t.Errorf("Err() after Leave = %v, want nil", s.Err())
			}
			if err := s.Leave(ctx); err != nil {
				t.Errorf("second Leave: %v", err)
			}
		})
	}
}

func TestTwoParticipants(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, stop := startServer(t, nil)
	defer stop()
	ctx := testCtx(t)

	alice, err := Join(ctx, roomURI(srv, "tcp", "lobby"), opts(t, "alice", "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	noCaps := sdp.Chatroom{}
	bobOpts := opts(t, "bob", "udp")
	bobOpts.Chatroom = &noCaps
	bob, err := Join(ctx, roomURI(srv, "udp", "lobby"), bobOpts)
	if err != nil {
		t.Fatal(err)
	}
	if alice.RemotePath()[0].SessionID == bob.RemotePath()[0].SessionID {
		t.Error("both participants got the same MSRP session")
	}
	if alice.LocalURI().SessionID == bob.LocalURI().SessionID {
		t.Error("both participants offered the same session-id")
	}
	if err := alice.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if isDone(bob) {
		t.Fatalf("bob's session ended when alice left: %v", bob.Err())
	}
	if err := bob.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if alice.Err() != nil || bob.Err() != nil {
		t.Errorf("Err() = %v, %v; want nil, nil", alice.Err(), bob.Err())
	}
}

func TestJoinUnknownConfiguredRoom(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, stop := startServer(t, func(c *config.Config) { c.Rooms.Mode = config.ModeConfigured })
	defer stop()

	for _, transport := range []string{"udp", "tcp"} {
		s, err := Join(testCtx(t), roomURI(srv, transport, "nowhere"), opts(t, "alice", transport))
		var se *SIPError
		if !errors.As(err, &se) || se.Code != 404 || se.Method != "INVITE" {
			t.Fatalf("%s: Join = %v, %v; want *SIPError 404", transport, s, err)
		}
	}
}

func TestEndedByFocus(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			defer goleak.VerifyNone(t)
			srv, stop := startServer(t, nil)
			defer stop()

			s, err := Join(testCtx(t), roomURI(srv, transport, "lobby"), opts(t, "alice", transport))
			if err != nil {
				t.Fatal(err)
			}
			// The focus waits for the answer to its BYE (5 s when there is
			// none): a 3 s budget passes only if the client answered.
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			waitDone(t, s)
			if !errors.Is(s.Err(), ErrEndedByFocus) {
				t.Errorf("Err() = %v, want ErrEndedByFocus", s.Err())
			}
			if err := s.Leave(context.Background()); err != nil {
				t.Errorf("Leave after the end: %v", err)
			}
		})
	}
}

// TestConnectionLost half-closes the MSRP connection on our side: the
// reader sees EOF, no BYE comes (the switch noticed nothing), so after the
// grace period the Session sends BYE and ends with ErrConnectionLost.
func TestConnectionLost(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, stop := startServer(t, nil)
	defer stop()

	o := opts(t, "alice", "tcp")
	o.lostGrace = 50 * time.Millisecond
	s, err := Join(testCtx(t), roomURI(srv, "tcp", "lobby"), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.current().conn.nc.(*net.TCPConn).CloseRead(); err != nil {
		t.Fatal(err)
	}
	waitDone(t, s)
	if !errors.Is(s.Err(), ErrConnectionLost) {
		t.Errorf("Err() = %v, want ErrConnectionLost", s.Err())
	}
}

// TestJoinContextExpires joins a "focus" that never answers: Join returns
// ctx's error once it expires, after the bounded clean-up, leaving nothing
// running.
func TestJoinContextExpires(t *testing.T) {
	defer goleak.VerifyNone(t)
	hole, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	o := opts(t, "alice", "udp")
	o.Timeout = 300 * time.Millisecond
	s, err := Join(ctx, "sip:lobby@"+hole.LocalAddr().String(), o)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Join = %v, %v; want context.DeadlineExceeded", s, err)
	}
}

// TestJoinCanceled joins a focus that answers 100 Trying and waits:
// ending ctx makes Join send CANCEL, and ACK the 487 that follows.
func TestJoinCanceled(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			defer goleak.VerifyNone(t)
			p := newRawFocus(t, transport, 487, "")
			defer p.stop()

			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			s, err := Join(ctx, "sip:lobby@"+p.addr, opts(t, "alice", transport))
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Join = %v, %v; want context.DeadlineExceeded", s, err)
			}
			p.expect(t, sip.INVITE, sip.CANCEL, sip.ACK)
		})
	}
}

// TestJoinCanceledAnswerCrosses: the focus answers 200 to the INVITE
// although it was canceled (the 2xx crossed the CANCEL): Join ACKs it and
// ends the dialog with BYE at once.
func TestJoinCanceledAnswerCrosses(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := newRawFocus(t, "udp", 200, "")
	defer p.stop()

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	s, err := Join(ctx, "sip:lobby@"+p.addr, opts(t, "alice", "udp"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Join = %v, %v; want context.DeadlineExceeded", s, err)
	}
	p.expect(t, sip.INVITE, sip.CANCEL, sip.ACK, sip.BYE)
}

// TestJoinBadAnswer: a 2xx whose SDP answer cannot be used (no
// message/cpim) makes Join ACK it, send BYE and fail with ErrBadAnswer.
func TestJoinBadAnswer(t *testing.T) {
	defer goleak.VerifyNone(t)
	const noCPIM = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=message 2855 TCP/MSRP *\r\na=accept-types:text/plain\r\na=path:msrp://127.0.0.1:2855/x;tcp\r\n"
	p := newRawFocus(t, "tcp", 487, noCPIM)
	defer p.stop()

	s, err := Join(testCtx(t), "sip:lobby@"+p.addr, opts(t, "alice", "tcp"))
	if !errors.Is(err, ErrBadAnswer) {
		t.Fatalf("Join = %v, %v; want ErrBadAnswer", s, err)
	}
	p.expect(t, sip.INVITE, sip.ACK, sip.BYE)
}
