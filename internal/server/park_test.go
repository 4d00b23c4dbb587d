//go:build linux

package server_test

import (
	"testing"
	"time"
)

// Issue 20, end to end: two participants who stay quiet have both their
// SIP and their MSRP connection parked, with no goroutine, within a few
// seconds (sip's one second, the relay's park tick); a message from one
// still reaches the other, and the sender gets its 200.
func TestQuietParticipantsPark(t *testing.T) {
	srv := startWith(t, nil)
	const roomURI = "sip:lobby@example.com"
	a, _ := joinKeeping(t, srv, roomURI, "sip:alice@example.com")
	b, _ := joinKeeping(t, srv, roomURI, "sip:bob@example.com")
	waitParked := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for srv.ParkedConnections() < want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := srv.ParkedConnections(); n < want {
			t.Fatalf("%d connections parked, want %d", n, want)
		}
	}
	waitParked(4)
	s := a.say(roomURI, "still here?")
	a.expectOK(t, s.TID)
	b.expectText(t, "still here?")
	waitParked(4)
	a.leave(t, roomURI)
	b.leave(t, roomURI)
}
