package client

import (
	"testing"

	"go.uber.org/goleak"
)

// The CPIM From carries a display name (so that a receiver can name the
// sender before the roster tells it): Options.DisplayName, then the
// nickname in effect; none for an anonymous participant.
func TestCPIMDisplayName(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, stop := startServer(t, nil)
	defer stop()
	ctx := testCtx(t)
	room := roomURI(srv, "tcp", "names")
	join := func(user string, privacy bool) *Session {
		return joinTCP(t, ctx, room, user, func(o *Options) { o.Privacy, o.DisplayName = privacy, user+" Example" })
	}
	alice := join("alice", false)
	bob := join("bob", false)
	carol := join("carol", true)

	say := func(s *Session, text, wantDisplay string) {
		t.Helper()
		if err := s.Send(ctx, text); err != nil {
			t.Fatal(err)
		}
		to := bob
		if s == bob {
			to = alice
		}
		m := recvChat(t, to)
		if string(m.Body) != text || m.FromDisplay != wantDisplay {
			t.Fatalf("got %q from %q (display %q), want %q with display %q", m.Body, m.From, m.FromDisplay, text, wantDisplay)
		}
	}
	say(alice, "one", "alice Example")
	if err := alice.SetNickname(ctx, "al"); err != nil {
		t.Fatal(err)
	}
	say(alice, "two", "al")
	if err := bob.SetNickname(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := alice.SetNickname(ctx, "bob"); statusCode(err) != 425 {
		t.Fatalf("alice took bob's nickname: %v", err)
	}
	say(alice, "three", "al") // a refused nickname changes nothing
	say(carol, "four", "")
}
