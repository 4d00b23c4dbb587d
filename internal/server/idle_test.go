package server_test

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/servertest"
)

// A SIP TCP connection that set up no dialog and sends nothing is closed
// after sip.idle_timeout; one whose dialog is up stays open however long
// it is silent, and the dialog is still usable over it.
func TestIdleSIPConnection(t *testing.T) {
	const idle = 300 * time.Millisecond
	srv := startTimeoutServer(t, time.Minute, idle)

	lone := dial(t, srv, "TCP")
	expect(t, lone, lone.Build(servertest.Req{Method: "OPTIONS", URI: "sip:127.0.0.1"}), 200, "")
	start := time.Now()

	member := dial(t, srv, "TCP")
	roomURI := "sip:idle@127.0.0.1"
	callID := servertest.RandomToken()
	tag := join(t, member, roomURI, callID)

	took := closedWithin(t, lone.Conn(), start, wait)
	t.Logf("idle SIP connection without a dialog closed after %v (sip.idle_timeout %v)", took.Round(time.Millisecond), idle)
	if got := srv.GuardStats().Idle; got < 1 {
		t.Errorf("GuardStats().Idle = %d, want at least 1", got)
	}
	time.Sleep(2 * idle) // the member's connection is as silent, for longer
	expect(t, member, member.Build(servertest.Req{Method: "BYE", URI: roomURI, CallID: callID, FromTag: "ft", ToTag: tag, CSeq: 2}), 200, "")
}

// A TCP connection the focus opened itself — to send a NOTIFY too large
// for UDP to a subscriber's Contact (RFC 3261 §18.1.1) — is closed once it
// has been idle for sip.idle_timeout: sipgo keeps such connections open
// after their transaction, and a subscriber naming a new port each time
// would otherwise have the focus hold one per port.
func TestFocusOpenedConnectionClosedWhenIdle(t *testing.T) {
	const idle = 300 * time.Millisecond
	srv := startTimeoutServer(t, time.Minute, idle)
	roomURI := "sip:big@127.0.0.1"
	for i := range 6 { // a full document of six users is over 1,300 octets
		m := dial(t, srv, "TCP")
		join(t, m, roomURI, servertest.RandomToken()+strconv.Itoa(i))
	}
	// A UDP subscriber that listens for TCP on its port (RFC 3261 §18.2.1):
	// the TCP port first, then UDP on the same number (retried if taken).
	var w *servertest.SIP
	var tl net.Listener
	for try := 0; w == nil; try++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if w, err = servertest.DialSIPFrom("UDP", l.Addr().String(), srv.Addrs().SIPUDP); err != nil {
			l.Close()
			if try == 10 {
				t.Fatal(err)
			}
			continue
		}
		tl = l
	}
	defer w.Close()
	defer tl.Close()
	expect(t, w, w.Build(servertest.Req{Method: "SUBSCRIBE", URI: roomURI, FromTag: "ft", Extra: []string{"Event: conference", "Expires: 600"}}), 200, "")
	probe, err := w.Read(wait) // the pending NOTIFY over UDP: answered, so the document follows
	if err != nil || !strings.HasPrefix(firstLine(probe), "NOTIFY") {
		t.Fatalf("no pending NOTIFY: %q %v", firstLine(probe), err)
	}
	if err := w.Send(servertest.Reply(probe, 200, "OK")); err != nil {
		t.Fatal(err)
	}
	tl.(*net.TCPListener).SetDeadline(time.Now().Add(wait))
	c, err := tl.Accept()
	if err != nil {
		t.Fatalf("the focus opened no TCP connection for the full document: %v", err)
	}
	defer c.Close()
	in := servertest.Over(c)
	notify, err := in.Read(wait)
	if err != nil || !strings.HasPrefix(firstLine(notify), "NOTIFY") || len(notify) <= 1300 {
		t.Fatalf("over TCP: %q (%d octets) %v", firstLine(notify), len(notify), err)
	}
	if err := in.Send(servertest.Reply(notify, 200, "OK")); err != nil {
		t.Fatal(err)
	}
	took := closedWithin(t, c, time.Now(), wait)
	t.Logf("NOTIFY of %d octets over a TCP connection the focus opened; closed %v after its answer (sip.idle_timeout %v)", len(notify), took.Round(time.Millisecond), idle)
}
