package client

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/msrp"
)

// recv waits for the next message on s.
func recv(t *testing.T, s *Session) Message {
	t.Helper()
	select {
	case m, ok := <-s.Messages():
		if !ok {
			t.Fatalf("messages closed: %v", s.Err())
		}
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
	return Message{}
}

// recvChat skips system notices.
func recvChat(t *testing.T, s *Session) Message {
	t.Helper()
	for {
		if m := recv(t, s); !m.System && m.History.IsZero() {
			return m
		}
	}
}

func statusCode(err error) int {
	var se *msrp.StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// Three clients chat through the real parleyd, over both SIP transports
// (whose ports differ: the room URI differs by port): regular, private,
// large (chunked) messages, nicknames, system notices, refusals.
func TestChatThroughServer(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, stop := startServer(t, func(c *config.Config) { c.Rooms.SystemMessages = true })
	defer stop()
	ctx := testCtx(t)
	alice, err := Join(ctx, roomURI(srv, "tcp", "lobby"), opts(t, "alice", "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Leave(ctx)
	bob, err := Join(ctx, roomURI(srv, "udp", "lobby"), opts(t, "bob", "udp"))
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Leave(ctx)
	if n := recv(t, alice); !n.System || !strings.Contains(string(n.Body), "sip:bob@example.com (guest) joined") {
		t.Fatalf("alice's first message: %+v", n)
	}

	if err := alice.Send(ctx, "hello bob"); err != nil {
		t.Fatal(err)
	}
	m := recvChat(t, bob)
	if m.From != "sip:alice@example.com" || m.Private || string(m.Body) != "hello bob" {
		t.Errorf("bob got %+v", m)
	}

	if err := bob.SendPrivate(ctx, "sip:alice@example.com", "psst"); err != nil {
		t.Fatal(err)
	}
	m = recvChat(t, alice)
	if !m.Private || m.From != "sip:bob@example.com" || string(m.Body) != "psst" {
		t.Errorf("alice got %+v", m)
	}

	big := strings.Repeat("0123456789abcdef", 1000) // 16 KB: 8+ chunks each way
	if err := bob.Send(ctx, big); err != nil {
		t.Fatal(err)
	}
	if m = recvChat(t, alice); string(m.Body) != big {
		t.Errorf("big message: %d octets arrived, want %d", len(m.Body), len(big))
	}

	if err := alice.SetNickname(ctx, "Alice"); err != nil {
		t.Fatal(err)
	}
	if code := statusCode(bob.SetNickname(ctx, "ALICE")); code != 425 {
		t.Errorf("bob taking alice's nickname: %d, want 425", code)
	}
	if code := statusCode(bob.SendPrivate(ctx, "sip:nobody@example.com", "?")); code != 404 {
		t.Errorf("private to a stranger: %d, want 404", code)
	}

	// A third participant, anonymous: its AOR never reaches the others.
	o := opts(t, "carol", "tcp")
	o.Privacy = true
	carol, err := Join(ctx, roomURI(srv, "tcp", "lobby"), o)
	if err != nil {
		t.Fatal(err)
	}
	defer carol.Leave(ctx)
	if err := carol.Send(ctx, "guess who"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Session{alice, bob} {
		m := recvChat(t, s)
		if string(m.Body) != "guess who" || strings.Contains(m.From, "carol") || strings.Contains(string(m.Raw), "carol") {
			t.Errorf("anonymous message as received: From %q\n%s", m.From, m.Raw)
		}
		if err := s.SendPrivate(ctx, m.From, "hi stranger"); err != nil {
			t.Errorf("private reply to the anonymous URI: %v", err)
		}
	}
	for range 2 {
		if m := recvChat(t, carol); !m.Private || string(m.Body) != "hi stranger" {
			t.Errorf("carol got %+v", m)
		}
	}
}

// A participant who joins gets the room's last messages as history
// (Message.History set, oldest first, the sender's own CPIM otherwise),
// then live ones (History zero); private messages are not in history.
func TestHistoryThroughServer(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, stop := startServer(t, func(c *config.Config) { c.Rooms.History = 2 })
	defer stop()
	ctx := testCtx(t)
	alice, err := Join(ctx, roomURI(srv, "tcp", "kept"), opts(t, "alice", "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Leave(ctx)
	before := time.Now().Add(-time.Second)
	for _, text := range []string{"one", "two", "three"} {
		if err := alice.Send(ctx, text); err != nil {
			t.Fatal(err)
		}
	}
	if err := alice.SendPrivate(ctx, "sip:nobody@example.com", "x"); statusCode(err) != 404 {
		t.Fatalf("private to nobody: %v", err)
	}
	bob, err := Join(ctx, roomURI(srv, "tcp", "kept"), opts(t, "bob", "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Leave(ctx)
	for _, want := range []string{"two", "three"} {
		m := recv(t, bob)
		if string(m.Body) != want || m.From != "sip:alice@example.com" || m.History.Before(before) || m.History.After(time.Now()) {
			t.Errorf("history: %q from %s at %v, want %q from alice", m.Body, m.From, m.History, want)
		}
	}
	if err := alice.Send(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	if m := recvChat(t, bob); string(m.Body) != "live" || !m.History.IsZero() {
		t.Errorf("live message: %q, History %v", m.Body, m.History)
	}
}
