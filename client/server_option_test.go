package client

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-im/parley/internal/config"
)

// Options.Server sends the INVITE (and the roster's SUBSCRIBE) to the
// server's address when the room URI names a domain that does not lead to
// it (here the room URI has no port, so it would go to 5060).
func TestOptionsServer(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, stop := startServer(t, func(c *config.Config) { c.Server.Host = "localhost" })
	defer stop()
	ctx := testCtx(t)
	o := opts(t, "alice", "tcp")
	o.Server = srv.Addrs().SIPTCP
	s, err := Join(ctx, "sip:lobby@localhost", o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Leave(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for len(s.Roster()) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no roster through Server: %v", s.RosterErr())
		}
		time.Sleep(10 * time.Millisecond)
	}
	o.Server = "nohost"
	if _, err := Join(ctx, "sip:lobby@localhost", o); err == nil {
		t.Fatal("Join with Server \"nohost\" succeeded")
	}
}
