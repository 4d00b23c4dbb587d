package client

import (
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-im/parley/iscomposing"
)

// Typing indications through the real parleyd (issue 6, RFC 3994 in CPIM):
// to the room they reach everyone whose accept-wrapped-types admits them;
// to one participant only that participant; a participant who accepts only
// text/plain gets none, and still gets the messages.
func TestComposingThroughServer(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, stop := startServer(t, nil)
	defer stop()
	ctx := testCtx(t)
	room := roomURI(srv, "tcp", "typing")
	join := func(user string, wrapped []string) *Session {
		return joinTCP(t, ctx, room, user, func(o *Options) { o.AcceptWrappedTypes = wrapped })
	}
	alice := join("alice", nil)
	bob := join("bob", []string{"text/plain", iscomposing.ContentType})
	carol := join("carol", nil)
	plain := join("plain", []string{"text/plain"})

	if err := alice.SendComposing(ctx, "", true); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Session{bob, carol} {
		m := recvChat(t, s)
		st, ok := m.Composing()
		if !ok || !st.IsActive() || m.From != "sip:alice@example.com" || m.Private {
			t.Fatalf("%s got %+v (composing %+v %v)", s.cfg.fromURI, m, st, ok)
		}
		if st.Refresh != iscomposing.RefreshInterval {
			t.Errorf("refresh %v", st.Refresh)
		}
	}

	// Private: only bob hears that alice stopped typing to him.
	if err := alice.SendComposing(ctx, "sip:bob@example.com", false); err != nil {
		t.Fatal(err)
	}
	m := recvChat(t, bob)
	if st, ok := m.Composing(); !ok || st.IsActive() || !m.Private || st.LastActive.IsZero() {
		t.Fatalf("bob got %+v (composing %+v %v)", m, st, ok)
	}

	// A message follows; plain gets it and nothing before it, carol gets it
	// right after the room-wide indication (system notices of joins aside).
	if err := alice.Send(ctx, "done typing"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Session{bob, carol, plain} {
		m := recvChat(t, s)
		if _, ok := m.Composing(); ok || string(m.Body) != "done typing" {
			t.Fatalf("%s got %+v, want the text", s.cfg.fromURI, m)
		}
	}
	deadline := time.After(100 * time.Millisecond)
	for quiet := false; !quiet; {
		select {
		case m := <-plain.Messages():
			if !m.System {
				t.Fatalf("plain got %+v", m)
			}
		case <-deadline:
			quiet = true
		}
	}

	if err := alice.SendComposing(ctx, room, true); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("composing to the room URI as a participant: %v", err)
	}
	if err := alice.SendComposing(ctx, "sip:nobody@example.com", true); statusCode(err) != 404 {
		t.Errorf("composing to nobody: %v, want 404", err)
	}
}
