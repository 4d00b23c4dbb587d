package server_test

import (
	"bytes"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/servertest"
	"github.com/parley-im/parley/internal/store/storetest"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// joinKeeping joins uri to roomURI over SIP TCP and binds its MSRP
// session, returning the member and the SENDs that came before its bind
// was answered (the room's history).
func joinKeeping(t *testing.T, srv *server.Server, roomURI, uri string) (*member, []*msrp.Message) {
	t.Helper()
	p := dial(t, srv, "TCP")
	sid := servertest.RandomToken()
	self := msrp.URI{Host: "127.0.0.1", Port: 9, SessionID: sid, Transport: "tcp"}
	m, _ := joinTLSAs(t, p, roomURI, uri, self, servertest.Offer(9, sid))
	c, err := net.Dial("tcp", srv.Addrs().MSRP)
	if err != nil {
		t.Fatal(err)
	}
	m.msrp = msrptest.NewPeer(t, c, m.self)
	t.Cleanup(func() { m.msrp.Close() })
	b := msrptest.Bodiless(m.sw, m.self)
	m.msrp.Send(b)
	var early []*msrp.Message
	for {
		got := m.msrp.Expect()
		if got.IsRequest() {
			early = append(early, got)
			continue
		}
		if got.TID != b.TID || got.Code != msrp.StatusOK {
			t.Fatalf("bind: %s %d", got.TID, got.Code)
		}
		return m, early
	}
}

// leave ends m's dialog with BYE.
func (m *member) leave(t *testing.T, roomURI string) {
	t.Helper()
	bye := servertest.WithFrom(m.sip.Build(servertest.Req{Method: "BYE", URI: roomURI, CallID: m.callID, FromTag: "ft", ToTag: m.tag, CSeq: 2}), "<"+m.uri+">")
	expect(t, m.sip, bye, 200, "")
}

// historyBodies are the contents of the history copies among ms (notices
// and live copies skipped), oldest first.
func historyBodies(t *testing.T, ms []*msrp.Message) []string {
	t.Helper()
	var out []string
	for _, m := range ms {
		if !bytes.Contains(m.Body, []byte("\r\nparley.History: ")) {
			continue
		}
		if i := bytes.LastIndex(m.Body, []byte("\r\n\r\n")); i >= 0 {
			out = append(out, string(m.Body[i+4:]))
		}
	}
	return out
}

// A room's history survives a restart of parleyd on the same data
// directory (the embedded NATS JetStream file store): a participant who
// joins the restarted server gets the messages answered 200 before it,
// oldest first, marked as history; one who was there and comes back gets
// only what it missed.
func TestHistorySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	start := func() *server.Server {
		cfg := loopbackConfig()
		cfg.Store.Mode, cfg.Server.DataDir = config.StoreFile, dir
		cfg.Rooms.SystemMessages = false
		srv, err := server.New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		srv.Start()
		return srv
	}
	roomURI := "sip:kept@127.0.0.1"
	srv := start()
	alice, _ := joinKeeping(t, srv, roomURI, "sip:alice@127.0.0.1")
	bob, _ := joinKeeping(t, srv, roomURI, "sip:bob@127.0.0.1")
	say := func(m *member, text string) {
		t.Helper()
		s := msrptest.Send(m.sw, m.self, "message/cpim", msrptest.CPIM(m.uri, roomURI, text))
		m.msrp.Send(s)
		m.expectOK(t, s.TID)
	}
	for i := range 3 {
		say(alice, "before restart "+strconv.Itoa(i))
	}
	bob.leave(t, roomURI)
	say(alice, "bob missed this")
	alice.leave(t, roomURI)
	stopServer(srv)

	srv = start()
	defer stopServer(srv)
	carol, early := joinKeeping(t, srv, roomURI, "sip:carol@127.0.0.1")
	defer carol.leave(t, roomURI)
	got := historyBodies(t, early)
	want := []string{"before restart 0", "before restart 1", "before restart 2", "bob missed this"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("carol's history after the restart: %q, want %q", got, want)
	}
	bob, early = joinKeeping(t, srv, roomURI, "sip:bob@127.0.0.1")
	if got := historyBodies(t, early); len(got) != 1 || got[0] != "bob missed this" {
		t.Errorf("bob's catch-up after the restart: %q, want only what he missed", got)
	}
	bob.leave(t, roomURI)
}

// An ad hoc room that empties keeps its history for its empty_grace:
// whoever comes back within it finds the conversation; past it, the
// history is deleted (its store record too), and a newcomer finds an
// empty room.
func TestEmptyRoomLingers(t *testing.T) {
	const grace = 300 * time.Millisecond
	cfg := loopbackConfig()
	cfg.Rooms.EmptyGrace = config.Duration(grace)
	cfg.Rooms.SystemMessages = false
	srv, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer stopServer(srv)
	roomURI := "sip:brief@127.0.0.1"
	alice, _ := joinKeeping(t, srv, roomURI, "sip:alice@127.0.0.1")
	s := msrptest.Send(alice.sw, alice.self, "message/cpim", msrptest.CPIM(alice.uri, roomURI, "still here?"))
	alice.msrp.Send(s)
	alice.expectOK(t, s.TID)
	alice.leave(t, roomURI) // the room is deleted; its history lingers
	emptied := time.Now()

	bob, early := joinKeeping(t, srv, roomURI, "sip:bob@127.0.0.1")
	if got := historyBodies(t, early); len(got) != 1 || got[0] != "still here?" {
		t.Fatalf("within the grace: history %q", got)
	}
	bob.leave(t, roomURI)
	if time.Since(emptied) >= grace {
		t.Fatalf("the test was too slow to join within the grace (%v)", time.Since(emptied))
	}

	deadline := time.Now().Add(wait)
	for {
		rooms, err := srv.StoredRooms()
		if err != nil {
			t.Fatal(err)
		}
		if len(rooms) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the room's record is still there long after its grace: %q", rooms)
		}
		time.Sleep(20 * time.Millisecond)
	}
	carol, early := joinKeeping(t, srv, roomURI, "sip:carol@127.0.0.1")
	if got := historyBodies(t, early); len(got) != 0 {
		for _, m := range early {
			t.Logf("before the bind's 200: %s", m.Body)
		}
		t.Errorf("past the grace: history %q, want none", got)
	}
	carol.leave(t, roomURI)
}

// A data directory the store cannot use (here a file where the directory
// should be) does not stop parleyd: it says so, chat works, and history is
// kept in memory (a joiner still gets it).
func TestStoreUnusableAtStart(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(notDir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := loopbackConfig()
	cfg.Store.Mode, cfg.Server.DataDir = config.StoreFile, notDir
	cfg.Rooms.SystemMessages = false
	var logs servertest.LogBuffer
	srv, err := server.New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("an unusable data directory stopped the start: %v", err)
	}
	srv.Start()
	defer stopServer(srv)
	if !strings.Contains(logs.String(), "store unavailable") {
		t.Errorf("nothing said about the store:\n%s", logs.String())
	}
	roomURI := "sip:nostore@127.0.0.1"
	alice, _ := joinKeeping(t, srv, roomURI, "sip:alice@127.0.0.1")
	s := msrptest.Send(alice.sw, alice.self, "message/cpim", msrptest.CPIM(alice.uri, roomURI, "in memory"))
	alice.msrp.Send(s)
	alice.expectOK(t, s.TID)
	bob, early := joinKeeping(t, srv, roomURI, "sip:bob@127.0.0.1")
	if got := historyBodies(t, early); len(got) != 1 || got[0] != "in memory" {
		t.Errorf("history without a store: %q", got)
	}
	bob.leave(t, roomURI)
	alice.leave(t, roomURI)
}

// An external NATS server (store.url) that goes away does not stop the
// room: messages are still relayed and answered 200, and the room is told
// once that history is paused; once the server is back (same port and
// data), new messages are kept again and the room is told so. A newcomer
// gets every message from the room's history in memory; after a restart
// of parleyd, only what the store kept: not what was relayed meanwhile.
func TestExternalStoreGoesAwayAndComesBack(t *testing.T) {
	ext := storetest.Start(t, t.TempDir())
	cfg := loopbackConfig()
	cfg.Store.URL = ext.URL()
	cfg.Rooms.SystemMessages = true
	srv, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer stopServer(srv)
	roomURI := "sip:away@127.0.0.1"
	alice, _ := joinKeeping(t, srv, roomURI, "sip:alice@127.0.0.1")
	bob, _ := joinKeeping(t, srv, roomURI, "sip:bob@127.0.0.1")
	// say sends text from alice, waits for its 200 and for bob's copy, and
	// reports whether a notice holding notice reached bob meanwhile.
	say := func(text, notice string) bool {
		t.Helper()
		s := msrptest.Send(alice.sw, alice.self, "message/cpim", msrptest.CPIM(alice.uri, roomURI, text))
		alice.msrp.Send(s)
		alice.expectOK(t, s.TID)
		seen := false
		for {
			got, err := bob.msrp.Next()
			if err != nil {
				t.Fatalf("bob waiting for %q: %v", text, err)
			}
			seen = seen || (notice != "" && bytes.Contains(got.Body, []byte(notice)))
			if got.IsRequest() && bytes.Contains(got.Body, []byte(text)) {
				return seen
			}
		}
	}
	say("kept before", "")
	ext.Stop()
	paused := say("relayed while the store is away", "History is paused")
	if !paused {
		bob.expectText(t, "History is paused")
	}

	ext.Restart()
	deadline := time.Now().Add(3 * wait)
	for i := 0; !say("after "+strconv.Itoa(i), "History is kept again"); i++ {
		if time.Now().After(deadline) {
			t.Fatal("history never resumed after the NATS server came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	say("kept after", "")

	// While the room lives, its history in memory has every message,
	// those the store did not keep too.
	carol, early := joinKeeping(t, srv, roomURI, "sip:carol@127.0.0.1")
	got := strings.Join(historyBodies(t, early), "|")
	if !strings.HasPrefix(got, "kept before|relayed while the store is away|") || !strings.HasSuffix(got, "|kept after") {
		t.Errorf("history in memory: %q", got)
	}
	for _, m := range []*member{carol, bob, alice} {
		m.leave(t, roomURI)
	}
	// After a restart, only what the store kept.
	stopServer(srv)
	srv, err = server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer stopServer(srv)
	dave, early := joinKeeping(t, srv, roomURI, "sip:dave@127.0.0.1")
	got = strings.Join(historyBodies(t, early), "|")
	if !strings.HasPrefix(got, "kept before|") || !strings.HasSuffix(got, "|kept after") || strings.Contains(got, "while the store is away") {
		t.Errorf("history from the store after a restart: %q", got)
	}
	dave.leave(t, roomURI)
}
