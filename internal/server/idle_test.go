package server_test

import (
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
