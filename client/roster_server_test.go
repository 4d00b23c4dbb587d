package client

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-im/parley/internal/config"
)

// rosterWait bounds each wait for the real focus's NOTIFYs, which it
// sends at most once per 5 s per subscriber by default (RFC 4575 §3.3,
// coalesced).
const rosterWait = 15 * time.Second

// fastNotify lets parleyd notify each subscriber every 100 ms.
func fastNotify(c *config.Config) { c.SIP.NotifyInterval = config.Duration(100 * time.Millisecond) }

// waitRoster reads s's roster events until cond holds for s.Roster(),
// failing at once when the roster has failed (RosterErr).
func waitRoster(t *testing.T, s *Session, what string, cond func([]Member) bool) {
	t.Helper()
	deadline := time.NewTimer(rosterWait)
	defer deadline.Stop()
	for !cond(s.Roster()) {
		if err := s.RosterErr(); err != nil {
			t.Fatalf("%s: no roster: %v", what, err)
		}
		select {
		case _, ok := <-s.RosterEvents():
			if !ok {
				t.Fatalf("%s: the session ended: %v", what, s.Err())
			}
		case <-time.After(50 * time.Millisecond): // to look at RosterErr again
		case <-deadline.C:
			t.Fatalf("%s: roster %+v (RosterErr %v)", what, s.Roster(), s.RosterErr())
		}
	}
}

// waitEvent reads s's roster events until one of kind about uri arrives.
func waitEvent(t *testing.T, s *Session, kind RosterEventKind, uri string) RosterEvent {
	t.Helper()
	deadline := time.NewTimer(rosterWait)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-s.RosterEvents():
			if !ok {
				t.Fatalf("no %v %s: the session ended: %v", kind, uri, s.Err())
			}
			if ev.Kind == kind && ev.Member.URI == uri {
				return ev
			}
		case <-deadline.C:
			t.Fatalf("no %v %s: roster %+v (RosterErr %v)", kind, uri, s.Roster(), s.RosterErr())
		}
	}
}

func findMember(ms []Member, uri string) (Member, bool) {
	for _, m := range ms {
		if m.URI == uri {
			return m, true
		}
	}
	return Member{}, false
}

func hasMember(uri string) func([]Member) bool {
	return func(ms []Member) bool { _, ok := findMember(ms, uri); return ok }
}

// TestRosterThroughServer: participants of a real parleyd room see each other in their rosters, with nicknames and
// anonymous URIs; Lookup gives the address of a private message; a
// participant leaving is reported.
func TestRosterThroughServer(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, stop := startServer(t, fastNotify)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	alice, err := Join(ctx, roomURI(srv, "tcp", "lobby"), opts(t, "alice", "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Leave(ctx)
	waitRoster(t, alice, "alice sees herself", hasMember("sip:alice@example.com"))
	if err := alice.SetNickname(ctx, "Alice"); err != nil {
		t.Fatal(err)
	}

	bob, err := Join(ctx, roomURI(srv, "tcp", "lobby"), opts(t, "bob", "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Leave(ctx)
	waitRoster(t, alice, "alice sees bob", hasMember("sip:bob@example.com"))
	waitRoster(t, bob, "bob sees alice's nickname", func(ms []Member) bool {
		m, ok := findMember(ms, "sip:alice@example.com")
		return ok && m.Nickname == "Alice" && len(m.Endpoints) > 0 && m.Endpoints[0].Status == "connected"
	})
	m, ok := bob.Lookup("alice")
	if !ok || m.URI != "sip:alice@example.com" {
		t.Fatalf("bob.Lookup(alice) = %+v, %v", m, ok)
	}
	if err := bob.SendPrivate(ctx, m.URI, "found you"); err != nil {
		t.Fatal(err)
	}
	if got := recvChat(t, alice); !got.Private || string(got.Body) != "found you" {
		t.Errorf("alice got %+v", got)
	}

	// An anonymous participant: in the roster under a URI that does not
	// reveal it.
	o := opts(t, "carol", "tcp")
	o.Privacy = true
	carol, err := Join(ctx, roomURI(srv, "tcp", "lobby"), o)
	if err != nil {
		t.Fatal(err)
	}
	defer carol.Leave(ctx)
	waitRoster(t, alice, "alice sees an anonymous participant", func(ms []Member) bool { return len(ms) == 3 })
	for _, m := range alice.Roster() {
		if m.URI != "sip:alice@example.com" && m.URI != "sip:bob@example.com" &&
			(strings.Contains(m.URI, "carol") || strings.Contains(m.Display, "carol") || !strings.Contains(m.URI, "anonymous")) {
			t.Errorf("the anonymous participant shows as %+v", m)
		}
	}

	if err := bob.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, alice, MemberLeft, "sip:bob@example.com")
	if _, ok := findMember(alice.Roster(), "sip:bob@example.com"); ok {
		t.Error("bob still in alice's roster")
	}
	if err := alice.RosterErr(); err != nil {
		t.Errorf("alice.RosterErr() = %v", err)
	}
}

// TestRosterServerRefreshAndLeave: against parleyd, a short subscription
// is refreshed in time (the same subscription still works past its first
// expiry), and Leave unsubscribes and returns.
func TestRosterServerRefreshAndLeave(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, stop := startServer(t, func(c *config.Config) { c.SIP.MinSubscriptionExpires = config.Duration(time.Second) })
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	o := opts(t, "alice", "tcp")
	o.RosterExpires = 8 * time.Second // refreshed at 6 s: 2 s of margin on a loaded machine
	alice, err := Join(ctx, roomURI(srv, "tcp", "lobby"), o)
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Leave(ctx)
	waitRoster(t, alice, "alice sees herself", hasMember("sip:alice@example.com"))
	callID := currentSubscription(alice)
	time.Sleep(9 * time.Second) // past the 8 s subscription's first expiry
	bob, err := Join(ctx, roomURI(srv, "tcp", "lobby"), opts(t, "bob", "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Leave(ctx)
	waitRoster(t, alice, "alice sees bob", hasMember("sip:bob@example.com"))
	if err := alice.RosterErr(); err != nil {
		t.Fatalf("RosterErr() = %v", err)
	}
	if got := currentSubscription(alice); got != callID {
		t.Errorf("the subscription was replaced (Call-ID %s, then %s): not refreshed in time", callID, got)
	}

	if err := alice.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	for range alice.RosterEvents() { // closed after Done: this ends
	}
}

// TestRosterServerUDP: the roster over UDP. A full conference document
// soon exceeds 1300 octets, over which RFC 3261 §18.1.1 wants TCP (the
// Session listens for TCP on its UDP port, §18.2.1); parleyd sends large
// datagrams instead (internal/focus/ua.go), which the Session reads up to
// sipgo's read buffer (sip.TransportBufferReadSize, 32 KiB).
func TestRosterServerUDP(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, stop := startServer(t, fastNotify)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var ss []*Session
	for _, name := range []string{"alice", "bob", "carol"} {
		s, err := Join(ctx, roomURI(srv, "udp", "lobby"), opts(t, name, "udp"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Leave(ctx)
		ss = append(ss, s)
	}
	for _, s := range ss {
		waitRoster(t, s, "over UDP", func(ms []Member) bool { return len(ms) == 3 })
	}
}

// currentSubscription is the Call-ID of s's roster subscription.
func currentSubscription(s *Session) string {
	s.roster.mu.Lock()
	defer s.roster.mu.Unlock()
	if s.roster.sub == nil {
		return ""
	}
	return s.roster.sub.d.callID
}

// TestFindThroughServer (issue 19): with a focus whose rate limit would
// hold a change back for an hour, Find still finds a nickname taken a
// moment ago, through a refresh of the subscription.
func TestFindThroughServer(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, stop := startServer(t, func(c *config.Config) { c.SIP.NotifyInterval = config.Duration(time.Hour) })
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	alice, err := Join(ctx, roomURI(srv, "tcp", "lobby"), opts(t, "alice", "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Leave(ctx)
	waitRoster(t, alice, "alice sees herself", hasMember("sip:alice@example.com"))
	bob, err := Join(ctx, roomURI(srv, "tcp", "lobby"), opts(t, "bob", "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Leave(ctx)
	if err := bob.SetNickname(ctx, "Bobby"); err != nil {
		t.Fatal(err)
	}
	if _, ok := alice.Lookup("bobby"); ok {
		t.Fatal("alice's roster has bobby within the hour-long window: the test does not test Find")
	}
	fctx, fcancel := context.WithTimeout(ctx, 10*time.Second)
	defer fcancel()
	m, ok := alice.Find(fctx, "bobby")
	if !ok || m.URI != "sip:bob@example.com" {
		t.Fatalf("alice.Find(bobby) = %+v, %v", m, ok)
	}
}

// TestOneRoomOneURI (issue 19): two participants address one room as
// sip:lobby@localhost and sip:LOBBY@127.0.0.1; it is one room, the focus
// answers both with its canonical URI (its own spelling at server.host),
// each sends to that URI, and each sees the other's messages as regular,
// also one sent to the alias the other used; private stays private.
func TestOneRoomOneURI(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, stop := startServer(t, fastNotify)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tcp := srv.Addrs().SIPTCP
	_, port, _ := strings.Cut(tcp, ":")

	ao := opts(t, "alice", "tcp")
	ao.Server = tcp // localhost may resolve to ::1, where nothing listens
	alice, err := Join(ctx, "sip:lobby@localhost:"+port, ao)
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Leave(ctx)
	bob, err := Join(ctx, "sip:LOBBY@127.0.0.1:"+port, opts(t, "bob", "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Leave(ctx)
	want := "sip:lobby@127.0.0.1:" + port
	if alice.RoomURI() != want || bob.RoomURI() != want {
		t.Fatalf("canonical room URIs %q and %q, want %q", alice.RoomURI(), bob.RoomURI(), want)
	}
	waitRoster(t, alice, "one room: alice sees bob", hasMember("sip:bob@example.com"))
	waitRoster(t, bob, "one room: bob sees alice", hasMember("sip:alice@example.com"))

	if err := alice.Send(ctx, "hello from localhost"); err != nil {
		t.Fatal(err)
	}
	if m := recvChat(t, bob); m.Private || string(m.Body) != "hello from localhost" || len(m.To) != 1 || m.To[0] != want {
		t.Errorf("bob got %+v, want a regular message to %s", m, want)
	}
	// To the alias alice joined by, as a client that ignores the Contact
	// would write it: regular for bob too (the switch routes it to the
	// room; bob knows the alias from the document's <conf-uris>).
	if err := alice.SendMessage(ctx, Outgoing{To: []string{alice.Room()}, Body: []byte("to the alias")}); err != nil {
		t.Fatal(err)
	}
	if m := recvChat(t, bob); m.Private || string(m.Body) != "to the alias" {
		t.Errorf("bob got %+v, want a regular message", m)
	}
	if err := bob.Send(ctx, "hello from 127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if m := recvChat(t, alice); m.Private || string(m.Body) != "hello from 127.0.0.1" {
		t.Errorf("alice got %+v, want a regular message", m)
	}
	if err := bob.SendPrivate(ctx, "sip:alice@example.com", "psst"); err != nil {
		t.Fatal(err)
	}
	if m := recvChat(t, alice); !m.Private || string(m.Body) != "psst" {
		t.Errorf("alice got %+v, want a private message", m)
	}
}
