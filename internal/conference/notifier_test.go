package conference

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-im/parley/confinfo"
)

const roomURI = "sip:room1@chat.example.com"

// expected builds, with confinfo's builders, the full document a room
// should have, normalized like a merged view.
func expected(display string, users ...confinfo.User) string {
	c := confinfo.NewChatRoom(roomURI, display, 1)
	for _, u := range users {
		c.AddUser(u)
	}
	c.SetUserCount(uint32(len(users)))
	return normalize(c)
}

func pending(entity string) confinfo.Endpoint {
	e := confinfo.ChatEndpoint(entity, "1")
	e.Status = confinfo.StatusPending
	return e
}

var (
	alicePC    = participant("a1", "sip:alice@example.com", "sip:alice@pc.example.com", "Alice")
	alicePhone = participant("a2", "sip:alice@example.com", "sip:alice@phone.example.com", "Alice M.")
	bob        = participant("b1", "sip:bob@example.com", "sip:bob@bobpc.example.com", "Bob")
)

func TestFullThenPartials(t *testing.T) {
	n, f := newTest(t, 20*time.Millisecond)
	rm := newRoom("room1", "")
	n.Joined(rm, alicePC)
	n.Subscribe(rm, roomURI, "h", time.Hour)

	if got, want := normalize(f.doc("h", 0)), expected("room1",
		confinfo.ChatUser("sip:alice@example.com", "", "Alice", pending("sip:alice@pc.example.com"))); got != want {
		t.Fatalf("first NOTIFY:\n%s\nwant:\n%s", got, want)
	}
	first := f.notifies("h")[0]
	if first.Terminated || first.Expires != time.Hour {
		t.Errorf("first NOTIFY: terminated %v, expires %v", first.Terminated, first.Expires)
	}

	n.Bound(rm, alicePC)
	waitFor(t, "NOTIFY 2", func() bool { return f.count("h") == 2 })
	users := partialUsers(t, f.doc("h", 1))
	if len(users) != 1 || users[0].Entity != "sip:alice@example.com" || users[0].Endpoints[0].Status != confinfo.StatusConnected {
		t.Fatalf("partial after Bound: %+v", users)
	}
	if cs := f.doc("h", 1).ConferenceState; cs == nil || *cs.UserCount != 1 || !*cs.Active || *cs.Locked {
		t.Fatalf("partial conference-state: %+v", cs)
	}

	n.NicknameChanged(rm, alicePC, "Al")
	waitFor(t, "NOTIFY 3", func() bool { return f.count("h") == 3 })
	if u := partialUsers(t, f.doc("h", 2)); len(u) != 1 || u[0].Nickname != "Al" {
		t.Fatalf("partial after NicknameChanged: %+v", u)
	}
	if !bytes.Contains(f.notifies("h")[2].Body, []byte(`xcon:nickname="Al"`)) {
		t.Errorf("no xcon:nickname in\n%s", f.notifies("h")[2].Body)
	}

	n.Joined(rm, bob)
	n.Bound(rm, bob)
	waitConverged(t, n, f, rm, roomURI, "h")
	if got, want := f.viewOf("h"), expected("room1",
		confinfo.ChatUser("sip:alice@example.com", "Al", "Alice", confinfo.ChatEndpoint("sip:alice@pc.example.com", "1")),
		confinfo.ChatUser("sip:bob@example.com", "", "Bob", confinfo.ChatEndpoint("sip:bob@bobpc.example.com", "1"))); got != want {
		t.Fatalf("view:\n%s\nwant:\n%s", got, want)
	}

	n.Left(rm, bob)
	waitConverged(t, n, f, rm, roomURI, "h")
	ns := f.notifies("h")
	last := f.doc("h", len(ns)-1)
	if u := partialUsers(t, last); len(u) != 1 || u[0].Entity != "sip:bob@example.com" || u[0].State != confinfo.StateDeleted {
		t.Fatalf("partial after Left: %+v", u)
	}
	if !bytes.Contains(ns[len(ns)-1].Body, []byte(`<user entity="sip:bob@example.com" state="deleted">`)) {
		t.Errorf("no deleted user in\n%s", ns[len(ns)-1].Body)
	}
}

func TestRateLimit(t *testing.T) {
	const interval = 100 * time.Millisecond
	n, f := newTest(t, interval)
	rm := newRoom("room1", "")
	start := time.Now()
	n.Subscribe(rm, roomURI, "h", time.Hour)
	n.Joined(rm, alicePC) // within Interval of the first NOTIFY: later
	if f.count("h") != 1 {
		t.Fatalf("a change right after the first NOTIFY went out at once")
	}
	waitFor(t, "NOTIFY 2", func() bool { return f.count("h") == 2 })
	if d := time.Since(start); d < interval {
		t.Errorf("NOTIFY 2 after %v, want ≥ %v", d, interval)
	}
	time.Sleep(interval + 10*time.Millisecond) // quiet
	n.Joined(rm, bob)
	if f.count("h") != 3 { // the sender calls done at once
		t.Fatalf("the first change after a quiet interval did not go out at once")
	}
}

func TestBurstCoalesced(t *testing.T) {
	// The full document opens a window of interval; the 100 joins (a few
	// milliseconds of work) all fall inside it and go out as one partial
	// when it closes.
	const interval = 2 * time.Second
	n, f := newTest(t, interval)
	rm := newRoom("room1", "Burst")
	n.Subscribe(rm, roomURI, "h", time.Hour)
	start := time.Now()
	for i := range 100 {
		p := participant(fmt.Sprint("p", i), fmt.Sprintf("sip:u%d@example.com", i), fmt.Sprintf("sip:u%d@dev.example.com", i), "")
		n.Joined(rm, p)
		if i%2 == 0 {
			n.Bound(rm, p)
		}
	}
	if d := time.Since(start); d > interval/2 {
		t.Fatalf("100 joins took %v, half the window: the test cannot tell coalescing from pacing", d)
	}
	waitConverged(t, n, f, rm, roomURI, "h")
	if c := f.count("h"); c != 2 {
		t.Errorf("100 joins in one interval: %d NOTIFYs, want 2 (the full document, one partial)", c)
	}
	view := f.viewOf("h")
	if !strings.Contains(view, "<user-count>100</user-count>") {
		t.Errorf("merged view:\n%s", view)
	}
}

func TestOneInFlight(t *testing.T) {
	const interval = 20 * time.Millisecond
	n, f := newTest(t, interval)
	rm := newRoom("room1", "")
	f.setHold(true)
	n.Subscribe(rm, roomURI, "h", time.Hour)
	n.Joined(rm, alicePC)
	n.Joined(rm, bob)
	time.Sleep(3 * interval) // due, but the first NOTIFY is in flight
	if c := f.count("h"); c != 1 {
		t.Fatalf("%d NOTIFYs while the first is in flight", c)
	}
	f.release(true) // done: the coalesced partial goes at once, and is held
	if c := f.count("h"); c != 2 {
		t.Fatalf("after done: %d NOTIFYs, want 2", c)
	}
	if u := partialUsers(t, f.doc("h", 1)); len(u) != 2 {
		t.Fatalf("coalesced partial: %+v", u)
	}
	n.Left(rm, bob)
	time.Sleep(3 * interval)
	if c := f.count("h"); c != 2 {
		t.Fatalf("%d NOTIFYs while the second is in flight", c)
	}
	f.setHold(false)
	f.release(true)
	waitConverged(t, n, f, rm, roomURI, "h")
}

func TestFailedNotifyDrops(t *testing.T) {
	n, f := newTest(t, 10*time.Millisecond)
	rm := newRoom("room1", "")
	s1 := n.Subscribe(rm, roomURI, "h1", time.Hour)
	n.Subscribe(rm, roomURI, "h2", time.Hour)
	f.setFail("h1")
	n.Joined(rm, alicePC)
	waitFor(t, "the drop", func() bool { return n.Stats().Dropped == 1 })
	if st := n.Stats(); st.Subscriptions != 1 {
		t.Errorf("stats %+v, want 1 subscription", st)
	}
	c := f.count("h1")
	n.Joined(rm, bob)
	waitConverged(t, n, f, rm, roomURI, "h2")
	if f.count("h1") != c {
		t.Errorf("NOTIFY to a dropped subscription")
	}
	if s1.Refresh(time.Hour) || s1.Unsubscribe() {
		t.Errorf("Refresh or Unsubscribe of a dropped subscription reported true")
	}
}

func TestRefresh(t *testing.T) {
	const interval = 200 * time.Millisecond
	n, f := newTest(t, interval)
	rm := newRoom("room1", "")
	n.Joined(rm, alicePC)
	s := n.Subscribe(rm, roomURI, "h", time.Hour)
	n.Joined(rm, bob) // a partial is scheduled…
	if !s.Refresh(2 * time.Hour) {
		t.Fatal("Refresh reported false")
	}
	// … and the refresh's full document makes it moot.
	if c := f.count("h"); c != 2 {
		t.Fatalf("%d NOTIFYs after Refresh, want 2", c)
	}
	ns := f.notifies("h")
	if ns[1].Expires != 2*time.Hour || ns[1].Terminated {
		t.Errorf("refresh NOTIFY: %+v", ns[1])
	}
	if d := f.doc("h", 1); d.State != confinfo.StateFull || d.Version != 2 || len(d.Users.Users) != 2 {
		t.Errorf("refresh document: state %s version %d users %d", d.State, d.Version, len(d.Users.Users))
	}
	time.Sleep(2 * interval)
	if c := f.count("h"); c != 2 {
		t.Errorf("%d NOTIFYs: a partial followed the full document", c)
	}
	n.Left(rm, alicePC)
	waitConverged(t, n, f, rm, roomURI, "h")
}

func TestUnsubscribe(t *testing.T) {
	n, f := newTest(t, 10*time.Millisecond)
	rm := newRoom("room1", "")
	n.Joined(rm, alicePC)
	s := n.Subscribe(rm, roomURI, "h", time.Hour)
	if s.Room() != rm {
		t.Error("Room")
	}
	if !s.Unsubscribe() {
		t.Fatal("Unsubscribe reported false")
	}
	ns := f.notifies("h")
	if len(ns) != 2 || !ns[1].Terminated || ns[1].Reason != "timeout" {
		t.Fatalf("NOTIFYs %+v", ns)
	}
	if d := f.doc("h", 1); d.State != confinfo.StateFull || len(d.Users.Users) != 1 {
		t.Errorf("final document: %+v", d)
	}
	if s.Unsubscribe() || s.Refresh(time.Hour) {
		t.Error("Unsubscribe or Refresh of an ended subscription reported true")
	}
	n.Joined(rm, bob)
	time.Sleep(30 * time.Millisecond)
	if f.count("h") != 2 {
		t.Error("NOTIFY after the final one")
	}
	if st := n.Stats(); st.Subscriptions != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestExpiry(t *testing.T) {
	n, f := newTest(t, 10*time.Millisecond)
	rm := newRoom("room1", "")
	n.Subscribe(rm, roomURI, "h", 80*time.Millisecond)
	if ns := f.notifies("h"); ns[0].Expires != time.Second {
		t.Errorf("expires %v, want 1s (rounded up)", ns[0].Expires)
	}
	n.Subscribe(rm, roomURI, "h2", 1500*time.Millisecond)
	if ns := f.notifies("h2"); ns[0].Expires != 2*time.Second {
		t.Errorf("expires %v, want 2s (rounded up)", ns[0].Expires)
	}
	waitFor(t, "expiry", func() bool { return f.count("h") == 2 })
	ns := f.notifies("h")
	if !ns[1].Terminated || ns[1].Reason != "timeout" {
		t.Fatalf("final NOTIFY %+v", ns[1])
	}
	if d := f.doc("h", 1); d.State != confinfo.StateFull {
		t.Errorf("final document is %s", d.State)
	}
}

func TestFetch(t *testing.T) {
	n, f := newTest(t, 10*time.Millisecond)
	rm := newRoom("room1", "")
	n.Joined(rm, alicePC)
	s := n.Subscribe(rm, roomURI, "h", 0)
	ns := f.notifies("h")
	if len(ns) != 1 || !ns[0].Terminated || ns[0].Reason != "timeout" || f.doc("h", 0).State != confinfo.StateFull {
		t.Fatalf("fetch: %+v", ns)
	}
	if s.Refresh(time.Hour) {
		t.Error("Refresh after a fetch reported true")
	}
}

func TestRoomDeleted(t *testing.T) {
	n, f := newTest(t, 10*time.Millisecond)
	rm := newRoom("room1", "")
	n.Joined(rm, alicePC)
	n.Subscribe(rm, roomURI, "h1", time.Hour)
	f.setHold(true)
	n.Subscribe(rm, roomURI, "h2", time.Hour) // its first NOTIFY stays in flight
	f.setHold(false)
	n.RoomDeleted(rm)
	n.RoomDeleted(rm) // idempotent
	ns := f.notifies("h1")
	if len(ns) != 2 || !ns[1].Terminated || ns[1].Reason != "noresource" {
		t.Fatalf("h1: %+v", ns)
	}
	d := f.doc("h1", 1)
	if d.State != confinfo.StateFull || len(d.Users.Users) != 0 || *d.ConferenceState.Active || *d.ConferenceState.UserCount != 0 {
		t.Errorf("deleted room's document: %+v", d)
	}
	if f.count("h2") != 1 {
		t.Fatal("final NOTIFY while one is in flight")
	}
	f.release(true)
	if ns := f.notifies("h2"); len(ns) != 2 || ns[1].Reason != "noresource" {
		t.Fatalf("h2: %+v", ns)
	}
	n.Left(rm, alicePC) // the focus lets the participants go
	if st := n.Stats(); st.Subscriptions != 0 {
		t.Errorf("stats %+v", st)
	}
	n.mu.Lock()
	left := len(n.rooms)
	n.mu.Unlock()
	if left != 0 {
		t.Errorf("%d rosters kept after RoomDeleted", left)
	}
}

func TestShutdown(t *testing.T) {
	f := newFake()
	n := New(Config{Sender: f, Interval: 10 * time.Millisecond})
	rm1, rm2 := newRoom("room1", ""), newRoom("room2", "")
	n.Joined(rm1, alicePC)
	n.Subscribe(rm1, roomURI, "h1", time.Hour)
	f.setHold(true)
	n.Subscribe(rm2, "sip:room2@chat.example.com", "h2", time.Hour)
	f.setHold(false)

	returned := make(chan struct{})
	go func() {
		n.Shutdown(context.Background())
		close(returned)
	}()
	waitFor(t, "h1's final NOTIFY", func() bool { return f.count("h1") == 2 })
	select {
	case <-returned:
		t.Fatal("Shutdown returned before h2's final NOTIFY went out")
	case <-time.After(30 * time.Millisecond):
	}
	f.release(true)
	<-returned
	for _, h := range []string{"h1", "h2"} {
		ns := f.notifies(h)
		if len(ns) != 2 || !ns[1].Terminated || ns[1].Reason != "noresource" {
			t.Errorf("%s: %+v", h, ns)
		}
	}

	n.Shutdown(context.Background()) // idempotent
	sent := f.sent
	s := n.Subscribe(rm1, roomURI, "h3", time.Hour)
	n.Joined(rm1, bob)
	n.Bound(rm1, alicePC)
	n.NicknameChanged(rm1, alicePC, "x")
	n.Left(rm1, alicePC)
	n.RoomDeleted(rm1)
	if s.Refresh(time.Hour) || s.Unsubscribe() || s.Room() != rm1 {
		t.Error("a Subscription made after Shutdown is live")
	}
	if f.sent != sent {
		t.Error("NOTIFY after Shutdown")
	}
	if st := n.Stats(); st.Subscriptions != 0 || st.Notifies != 4 || st.Full != 4 {
		t.Errorf("stats %+v", st)
	}
	f.verify(t)
}

func TestShutdownBounded(t *testing.T) {
	f := newFake()
	n := New(Config{Sender: f})
	f.setHold(true)
	n.Subscribe(newRoom("room1", ""), roomURI, "h", time.Hour) // never done
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	n.Shutdown(ctx)
	if ctx.Err() == nil {
		t.Error("Shutdown returned before its context ended")
	}
	f.setHold(false)
	f.release(true) // the final NOTIFY goes now
	if ns := f.notifies("h"); len(ns) != 2 || ns[1].Reason != "noresource" {
		t.Errorf("%+v", ns)
	}
	f.verify(t)
}

func TestTwoDevices(t *testing.T) {
	n, f := newTest(t, 5*time.Millisecond)
	rm := newRoom("room1", "")
	n.Subscribe(rm, roomURI, "h", time.Hour)
	n.Joined(rm, alicePC)
	n.Joined(rm, alicePhone)
	n.Bound(rm, alicePhone)
	waitConverged(t, n, f, rm, roomURI, "h")
	want := expected("room1", confinfo.ChatUser("sip:alice@example.com", "", "Alice M.",
		pending("sip:alice@pc.example.com"), confinfo.ChatEndpoint("sip:alice@phone.example.com", "1")))
	if got := f.viewOf("h"); got != want {
		t.Fatalf("two devices:\n%s\nwant:\n%s", got, want)
	}
	n.Left(rm, alicePhone)
	waitConverged(t, n, f, rm, roomURI, "h")
	want = expected("room1", confinfo.ChatUser("sip:alice@example.com", "", "Alice", pending("sip:alice@pc.example.com")))
	if got := f.viewOf("h"); got != want {
		t.Fatalf("one device left:\n%s\nwant:\n%s", got, want)
	}
	n.Left(rm, alicePC)
	waitConverged(t, n, f, rm, roomURI, "h")
	if got := f.viewOf("h"); got != expected("room1") {
		t.Fatalf("both left:\n%s", got)
	}
}

func TestSameEndpointURI(t *testing.T) {
	n, f := newTest(t, 5*time.Millisecond)
	rm := newRoom("room1", "")
	n.Joined(rm, participant("x1", "sip:carol@example.com", "sip:carol@host.example.com?x=1", ""))
	n.Joined(rm, participant("x2", "sip:carol@example.com", "sip:carol@host.example.com?x=1", ""))
	n.Joined(rm, participant("x3", "sip:dave@example.com", "", ""))
	n.Subscribe(rm, roomURI, "h", time.Hour)
	want := expected("room1",
		confinfo.ChatUser("sip:carol@example.com", "", "", pending("sip:carol@host.example.com?x=1"), pending("sip:carol@host.example.com;ep=2?x=1")),
		confinfo.ChatUser("sip:dave@example.com", "", "", pending("sip:dave@example.com")))
	if got := normalize(f.doc("h", 0)); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestNicknames(t *testing.T) {
	n, f := newTest(t, 5*time.Millisecond)
	rm := newRoom("room1", "")
	n.Joined(rm, alicePC)
	n.Joined(rm, alicePhone)
	n.Subscribe(rm, roomURI, "h", time.Hour)
	nick := func(want string) {
		t.Helper()
		waitConverged(t, n, f, rm, roomURI, "h")
		f.mu.Lock()
		got := f.subs["h"].view.User("sip:alice@example.com").Nickname
		f.mu.Unlock()
		if got != want {
			t.Fatalf("nickname %q, want %q", got, want)
		}
	}
	n.NicknameChanged(rm, alicePC, "Al")
	nick("Al")
	n.NicknameChanged(rm, alicePhone, "Ali")
	nick("Ali") // the most recently set
	n.NicknameChanged(rm, alicePC, "Alpha")
	nick("Alpha")
	n.NicknameChanged(rm, alicePC, "")
	nick("Ali") // the phone's still holds
	n.Left(rm, alicePhone)
	nick("")
	n.NicknameChanged(rm, alicePC, "Al")
	nick("Al")
	n.NicknameChanged(rm, alicePC, "")
	nick("")
	if ns := f.notifies("h"); bytes.Contains(ns[len(ns)-1].Body, []byte("xcon:nickname=")) {
		t.Errorf("nickname still shown:\n%s", ns[len(ns)-1].Body)
	}
}

func TestAnonymous(t *testing.T) {
	n, f := newTest(t, 5*time.Millisecond)
	rm := newRoom("room1", "")
	anon := participant("z1", "sip:anonymous-0123456789abcdef@chat.example.com", "sip:alice@pc.example.com", "Alice")
	anon.Anonymous, anon.Signalled = true, "sip:alice@example.com"
	n.Subscribe(rm, roomURI, "h", time.Hour)
	n.Joined(rm, anon)
	n.Bound(rm, anon)
	n.NicknameChanged(rm, anon, "Masked")
	waitConverged(t, n, f, rm, roomURI, "h")
	want := expected("room1", confinfo.ChatUser(anon.URI, "Masked", "",
		confinfo.ChatEndpoint(anon.URI, "1")))
	if got := f.viewOf("h"); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if bodyHas(f.notifies("h"), "alice") || bodyHas(f.notifies("h"), "Alice") {
		t.Error("a NOTIFY reveals the anonymous participant")
	}
}

func TestDisplayText(t *testing.T) {
	n, f := newTest(t, 5*time.Millisecond)
	n.Subscribe(newRoom("room1", "Weekly sync"), roomURI, "h1", time.Hour)
	n.Subscribe(newRoom("room2", ""), "sip:room2@chat.example.com", "h2", time.Hour)
	if d := f.doc("h1", 0).Description; d.DisplayText != "Weekly sync" {
		t.Errorf("with a subject: %q", d.DisplayText)
	}
	if d := f.doc("h2", 0).Description; d.DisplayText != "room2" {
		t.Errorf("without a subject: %q", d.DisplayText)
	}
	if d := f.doc("h2", 0); d.Entity != "sip:room2@chat.example.com" {
		t.Errorf("entity %q", d.Entity)
	}
	m := f.doc("h1", 0).Description.AvailableMedia
	if m == nil || len(m.Entries) != 1 || m.Entries[0].Type != "message" {
		t.Errorf("available-media %+v", m)
	}
}

func TestUnwritableStrings(t *testing.T) {
	n, f := newTest(t, 5*time.Millisecond)
	rm := newRoom("room\x01", "")
	p := participant("q1", "sip:q@example.com", "sip:q@\x02host", "Q\x00\xffx")
	n.Joined(rm, p)
	n.NicknameChanged(rm, p, "n\x1b")
	n.Subscribe(rm, "sip:room\x01@chat.example.com", "h", time.Hour)
	d := f.doc("h", 0)
	u := d.User("sip:q@example.com")
	if u == nil || u.DisplayText != "Q\uFFFD\uFFFDx" || u.Nickname != "n\uFFFD" || u.Endpoints[0].Entity != "sip:q@\uFFFDhost" {
		t.Errorf("user %+v", u)
	}
	if d.Entity != "sip:room\uFFFD@chat.example.com" || d.Description.DisplayText != "room\uFFFD" {
		t.Errorf("entity %q, display-text %q", d.Entity, d.Description.DisplayText)
	}
}

func TestIgnoredCalls(t *testing.T) {
	n, f := newTest(t, time.Millisecond)
	rm := newRoom("room1", "")
	n.Joined(rm, alicePC)
	n.Bound(rm, alicePC)
	n.NicknameChanged(rm, alicePC, "Al")
	n.Subscribe(rm, roomURI, "h", time.Hour)
	n.Bound(rm, alicePC)                 // a re-INVITE
	n.NicknameChanged(rm, alicePC, "Al") // the same
	n.Joined(rm, alicePC)                // twice
	n.Bound(rm, bob)                     // not in the roster
	n.NicknameChanged(rm, bob, "B")
	n.Left(rm, bob)
	n.Left(newRoom("other", ""), bob)
	n.Bound(newRoom("other", ""), bob)
	time.Sleep(20 * time.Millisecond)
	if c := f.count("h"); c != 1 {
		t.Errorf("%d NOTIFYs for no change", c)
	}
	n.mu.Lock()
	rooms := len(n.rooms)
	n.mu.Unlock()
	if rooms != 1 {
		t.Errorf("%d rosters", rooms)
	}
}

// TestRetire: the notifier keeps nothing of a room nobody is in or watches.
func TestRetire(t *testing.T) {
	n, f := newTest(t, time.Millisecond)
	rm := newRoom("room1", "")
	n.Joined(rm, alicePC)
	n.Joined(rm, bob)
	n.Left(rm, alicePC)
	n.Left(rm, bob)
	s := n.Subscribe(rm, roomURI, "h", time.Hour)
	s.Unsubscribe()
	n.mu.Lock()
	rooms := len(n.rooms)
	n.mu.Unlock()
	if rooms != 0 {
		t.Errorf("%d rosters kept", rooms)
	}
	n.Joined(rm, alicePC) // a new roster
	n.Subscribe(rm, roomURI, "h2", time.Hour)
	if d := f.doc("h2", 0); len(d.Users.Users) != 1 {
		t.Errorf("users %+v", d.Users.Users)
	}
}

func TestPartialIsSmall(t *testing.T) {
	n, f := newTest(t, time.Nanosecond)
	rm := newRoom("room1", "")
	for i := range 200 {
		n.Joined(rm, participant(fmt.Sprint("p", i), fmt.Sprintf("sip:user%d@example.com", i), fmt.Sprintf("sip:user%d@dev.example.com", i), fmt.Sprint("User ", i)))
	}
	n.Subscribe(rm, roomURI, "h", time.Hour)
	time.Sleep(time.Millisecond)
	n.Joined(rm, bob)
	waitFor(t, "the partial", func() bool { return f.count("h") == 2 })
	ns := f.notifies("h")
	if u := partialUsers(t, f.doc("h", 1)); len(u) != 1 {
		t.Errorf("partial users: %d", len(u))
	}
	if len(ns[1].Body) > 1024 || len(ns[0].Body) < 40*1024 {
		t.Errorf("partial %d octets, full %d", len(ns[1].Body), len(ns[0].Body))
	}
	t.Logf("full document %d octets; partial for a join %d octets", len(ns[0].Body), len(ns[1].Body))
	st := n.Stats()
	if st.Notifies != uint64(f.sent) || st.Full != uint64(f.sent-1) {
		t.Errorf("stats %+v, %d sent", st, f.sent)
	}
	var b uint64
	for _, h := range []any{"h"} {
		for _, x := range f.notifies(h) {
			b += uint64(len(x.Body))
		}
	}
	if st.Bytes < b {
		t.Errorf("stats bytes %d < %d", st.Bytes, b)
	}
}

// TestSharedEncoding: subscribers at the same cursor share one encoding
// of the changes, each with its own entity and version.
func TestSharedEncoding(t *testing.T) {
	n, f := newTest(t, time.Nanosecond)
	rm := newRoom("room1", "")
	s1 := n.Subscribe(rm, roomURI, "h1", time.Hour)
	n.Subscribe(rm, "sip:room1@10.0.0.1:5070", "h2", time.Hour)
	time.Sleep(time.Millisecond)
	n.Joined(rm, alicePC) // one encoding, version 2 for both
	n.mu.Lock()
	r := n.rooms[rm]
	n.mu.Unlock()
	r.mu.Lock()
	encoded := len(r.partials)
	r.mu.Unlock()
	if encoded != 1 {
		t.Errorf("%d encodings of one change for two subscribers", encoded)
	}
	b1, b2 := f.notifies("h1")[1].Body, f.notifies("h2")[1].Body
	_, t1, _ := bytes.Cut(b1, []byte(`version="2"`))
	_, t2, _ := bytes.Cut(b2, []byte(`version="2"`))
	if len(t1) == 0 || !bytes.Equal(t1, t2) {
		t.Errorf("bodies differ past the version:\n%s\n%s", b1, b2)
	}
	s1.Refresh(time.Hour)
	n.Joined(rm, bob)
	waitFor(t, "NOTIFYs", func() bool { return f.count("h1") == 4 && f.count("h2") == 3 })
	if d := f.doc("h2", 2); d.Entity != "sip:room1@10.0.0.1:5070" || d.Version != 3 {
		t.Errorf("h2: entity %q version %d", d.Entity, d.Version)
	}
	if d := f.doc("h1", 3); d.Entity != roomURI || d.Version != 4 {
		t.Errorf("h1: entity %q version %d", d.Entity, d.Version)
	}
}

func TestRefreshZeroEnds(t *testing.T) {
	n, f := newTest(t, 5*time.Millisecond)
	s := n.Subscribe(newRoom("room1", ""), roomURI, "h", time.Hour)
	if !s.Refresh(0) {
		t.Fatal("Refresh(0) reported false")
	}
	if ns := f.notifies("h"); len(ns) != 2 || !ns[1].Terminated || ns[1].Reason != "timeout" {
		t.Fatalf("%+v", ns)
	}
	if s.Refresh(time.Hour) {
		t.Error("Refresh after the end reported true")
	}
}

// TestSubscribeRacingDelete: a Subscribe that finds a roster RoomDeleted
// is ending gets the deleted room's document as its only NOTIFY.
func TestSubscribeRacingDelete(t *testing.T) {
	n, f := newTest(t, 5*time.Millisecond)
	rm := newRoom("room1", "")
	r := (&Notifier{}).newRoster(rm)
	r.state = rosterDeleted // as if RoomDeleted ran between lookup and lock
	n.mu.Lock()
	n.rooms[rm] = r
	n.mu.Unlock()
	s := n.Subscribe(rm, roomURI, "h", time.Hour)
	ns := f.notifies("h")
	if len(ns) != 1 || !ns[0].Terminated || ns[0].Reason != "noresource" || f.doc("h", 0).Version != 1 {
		t.Fatalf("%+v", ns)
	}
	if s.Unsubscribe() {
		t.Error("Unsubscribe reported true")
	}
	if st := n.Stats(); st.Subscriptions != 0 {
		t.Errorf("stats %+v", st)
	}
	n.mu.Lock()
	delete(n.rooms, rm)
	n.mu.Unlock()
}

// twiceSender calls done twice, breaking the Sender contract.
type twiceSender struct{ sent atomic.Int32 }

func (s *twiceSender) SendNotify(_ any, _ Notify, done func(bool)) {
	s.sent.Add(1)
	done(true)
	done(false)
}

func TestDoneTwiceIgnored(t *testing.T) {
	ts := &twiceSender{}
	n := New(Config{Sender: ts, Interval: time.Nanosecond})
	rm := newRoom("room1", "")
	n.Subscribe(rm, roomURI, "h", time.Hour)
	time.Sleep(time.Millisecond)
	n.Joined(rm, alicePC)
	if st := n.Stats(); st.Dropped != 0 || st.Subscriptions != 1 || ts.sent.Load() != 2 {
		t.Errorf("stats %+v, %d sent", st, ts.sent.Load())
	}
	n.Shutdown(context.Background())
}

func TestFullDocument(t *testing.T) {
	n, f := newTest(t, 5*time.Millisecond)
	rm := newRoom("room1", "")
	if c, err := confinfo.Parse(n.FullDocument(rm, roomURI)); err != nil || c.Validate() != nil || len(c.Users.Users) != 0 {
		t.Fatalf("empty room: %v %+v", err, c)
	}
	n.Joined(rm, alicePC)
	n.Subscribe(rm, roomURI, "h", time.Hour)
	if got := n.FullDocument(rm, roomURI); !bytes.Equal(got, f.notifies("h")[0].Body) {
		t.Errorf("FullDocument:\n%s\nfirst NOTIFY:\n%s", got, f.notifies("h")[0].Body)
	}
}

// Issue 19: a visit shorter than the rate-limit window is merged into one
// partial document; its deleted <user> still says who it was, so that a
// subscriber that never saw the user can tell the visit.
func TestShortVisitNamed(t *testing.T) {
	const interval = 200 * time.Millisecond
	n, f := newTest(t, interval)
	rm := newRoom("room1", "")
	n.Joined(rm, bob)
	n.Subscribe(rm, roomURI, "h", time.Hour) // the full document: the window starts
	guest := participant("g1", "sip:guest@example.net", "sip:guest@pc.example.net", "Visitor")
	guest.Guest = true
	n.Joined(rm, guest)
	n.Bound(rm, guest)
	n.NicknameChanged(rm, guest, "flash")
	n.Left(rm, guest)
	if c := f.count("h"); c != 1 {
		t.Fatalf("%d NOTIFYs within the window, want the full one only", c)
	}
	waitFor(t, "the partial", func() bool { return f.count("h") == 2 && f.idle("h") })
	users := partialUsers(t, f.doc("h", 1))
	if len(users) != 1 {
		t.Fatalf("partial users %+v, want the visitor alone", users)
	}
	u := users[0]
	if u.Entity != "sip:guest@example.net" || u.State != confinfo.StateDeleted || u.DisplayText != "Visitor" || u.Nickname != "flash" || !slices.Equal(u.Roles, []string{GuestRole}) {
		t.Errorf("deleted visitor %+v, want its entity, display-text, nickname and guest role", u)
	}
	// Once every subscriber has been told, the roster forgets the visitor
	// (at the next change, which trims the log).
	n.Joined(rm, alicePC)
	waitConverged(t, n, f, rm, roomURI, "h")
	r := n.lockRoster(rm, false)
	gone := len(r.gone)
	r.mu.Unlock()
	if gone != 0 {
		t.Errorf("%d departed users kept after every subscriber was told", gone)
	}
}

// RFC 4575 §5.3.2: the room's subject is the document's <subject>.
func TestSubjectElement(t *testing.T) {
	n, f := newTest(t, time.Millisecond)
	rm := newRoom("room1", "Plans for Friday")
	n.Subscribe(rm, roomURI, "h", time.Hour)
	waitConverged(t, n, f, rm, roomURI, "h")
	if d := f.doc("h", 0); d.Description == nil || d.Description.Subject != "Plans for Friday" {
		t.Errorf("description %+v, want the subject", d.Description)
	}
}
