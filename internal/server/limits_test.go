package server_test

import (
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/servertest"
)

// Tests of issue 14, SIP side: what one source or identity can do to
// parleyd and to others, measured over real sockets. Distinct sources are
// distinct loopback addresses (127.0.0.2, 127.0.0.3, …: Linux routes all
// of 127.0.0.0/8 to lo).

// startWith runs a parleyd on loopback with cfg changed by edit.
func startWith(t *testing.T, edit func(*config.Config)) *server.Server {
	t.Helper()
	cfg := loopbackConfig()
	cfg.MSRP.BindTimeout = config.Duration(time.Minute) // participants that never bind stay for the test
	if edit != nil {
		edit(cfg)
	}
	srv, err := server.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("starting parleyd: %v", err)
	}
	srv.Start()
	t.Cleanup(func() { stopServer(srv) })
	return srv
}

// dialFrom opens a raw SIP peer from the loopback address ip.
func dialFrom(t *testing.T, srv *server.Server, transport, ip string) *servertest.SIP {
	t.Helper()
	p, err := servertest.DialSIPFrom(transport, ip+":0", sipAddr(srv, transport))
	if err != nil {
		t.Skipf("cannot bind %s on loopback: %v", ip, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// invite builds an INVITE to roomURI from the identity from.
func invite(p *servertest.SIP, roomURI, from, callID string, extra ...string) []byte {
	return servertest.WithFrom(p.Build(servertest.Req{Method: "INVITE", URI: roomURI, CallID: callID, FromTag: "ft", CSeq: 1,
		Extra: extra, Body: servertest.Offer(9, servertest.RandomToken())}), from)
}

// joinAs admits from to roomURI (INVITE, 200, ACK) and returns the To tag.
func joinAs(t *testing.T, p *servertest.SIP, roomURI, from, callID string, extra ...string) string {
	t.Helper()
	res := expect(t, p, invite(p, roomURI, from, callID, extra...), 200, "")
	_, tag, _ := strings.Cut(servertest.Header(res, "To"), ";tag=")
	tag, _, _ = strings.Cut(tag, ";")
	ack := servertest.WithFrom(p.Build(servertest.Req{Method: "ACK", URI: roomURI, CallID: callID, FromTag: "ft", ToTag: tag, CSeq: 1}), from)
	if err := p.Send(ack); err != nil {
		t.Fatal(err)
	}
	return tag
}

// subscribe builds a SUBSCRIBE to roomURI's conference events from from.
func subscribe(p *servertest.SIP, roomURI, from string) []byte {
	return servertest.WithFrom(p.Build(servertest.Req{Method: "SUBSCRIBE", URI: roomURI, Extra: []string{"Event: conference", "Expires: 600"}}), from)
}

// expectRefused checks a 503 naming the limit, with Retry-After.
func expectRefused(t *testing.T, p *servertest.SIP, req []byte, reason string) {
	t.Helper()
	res := expect(t, p, req, 503, reason)
	if servertest.Header(res, "Retry-After") == "" {
		t.Fatalf("503 %s without Retry-After", reason)
	}
}

// TestAmplificationUDP sends, each from its own loopback source that
// never answers (a spoofed victim), a SUBSCRIBE to a room of 140, an
// INVITE never ACKed, an OPTIONS and a malformed request, and measures
// what parleyd sends back over UDP for 64·T1 + 2 s (T1 shortened to 50 ms:
// the 2xx retransmissions, the BYE that used to follow, its
// retransmissions, and the NOTIFY transaction's all fall inside).
// Amplification is bytes to the source / bytes from it; beyond the
// retransmitted 2xx to INVITE (which RFC 3261 §13.3.1.4 requires) it must
// stay within 3×. Before issue 14 the SUBSCRIBE got the 62 KB document
// over UDP, retransmitted (over 1,000×), and the INVITE a BYE,
// retransmitted, after its 2xx (17×).
func TestAmplificationUDP(t *testing.T) {
	t1, t2, t4 := sip.T1, sip.T2, sip.T4
	sip.SetTimers(50*time.Millisecond, t2, t4)
	t.Cleanup(func() { sip.SetTimers(t1, t2, t4) }) // after the server's shutdown (cleanups run last first)
	srv := startWith(t, func(c *config.Config) { c.Limits.DialogsPerSource = 1000 })

	// A room of 140, joined over TCP by 140 identities with display names.
	const members = 140
	m := dial(t, srv, "TCP")
	roomURI := "sip:big@127.0.0.1"
	for i := range members {
		joinAs(t, m, roomURI, fmt.Sprintf(`"Participant number %03d of the big room" <sip:participant-%03d@example.com>`, i, i), servertest.RandomToken())
	}

	type attack struct {
		name string
		ip   string
		req  func(p *servertest.SIP) []byte
	}
	attacks := []attack{
		{"SUBSCRIBE to a room of 140", "127.0.0.2", func(p *servertest.SIP) []byte { return subscribe(p, roomURI, "<sip:victim@example.com>") }},
		{"INVITE never ACKed", "127.0.0.3", func(p *servertest.SIP) []byte {
			return invite(p, "sip:lure@127.0.0.1", "<sip:victim@example.com>", servertest.RandomToken())
		}},
		{"OPTIONS", "127.0.0.4", func(p *servertest.SIP) []byte { return p.Build(servertest.Req{Method: "OPTIONS", URI: roomURI}) }},
		{"malformed (no Call-ID)", "127.0.0.5", func(p *servertest.SIP) []byte {
			return p.Build(servertest.Req{Method: "OPTIONS", URI: roomURI, Drop: []string{"Call-ID"}})
		}},
	}
	window := 64*sip.T1 + 2*time.Second
	results := make([]servertest.Received, len(attacks))
	sent := make([]int, len(attacks))
	done := make(chan int)
	for i, a := range attacks {
		p := dialFrom(t, srv, "UDP", a.ip)
		req := a.req(p)
		sent[i] = len(req)
		if err := p.Send(req); err != nil {
			t.Fatal(err)
		}
		go func() { results[i] = p.Listen(window); done <- i }()
	}
	for range attacks {
		<-done
	}
	for i, a := range attacks {
		got := results[i]
		retrans := 0 // retransmitted 2xx to INVITE: required, not counted
		if n := got.Count("SIP/2.0 200"); strings.HasPrefix(a.name, "INVITE") && n > 1 {
			retrans = got.BytesOf("SIP/2.0 200") * (n - 1) / n
		}
		factor := float64(got.Bytes) / float64(sent[i])
		beyond := float64(got.Bytes-retrans) / float64(sent[i])
		t.Logf("%-27s received %5d B, sent back %7d B in %2d UDP messages %v: %7.1f× (%5.1f× beyond 2xx retransmissions)",
			a.name, sent[i], got.Bytes, len(got.Lines), summarize(got.Lines), factor, beyond)
		if beyond > 3 {
			t.Errorf("%s: %.1f× beyond the 2xx retransmissions, want ≤ 3×", a.name, beyond)
		}
		if got.Count("BYE ") > 0 {
			t.Errorf("%s: %d BYEs to a source never heard from", a.name, got.Count("BYE "))
		}
	}
}

// summarize counts start lines by their first two words.
func summarize(lines []string) map[string]int {
	out := map[string]int{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) > 1 {
			out[f[0]+" "+f[1]]++
		}
	}
	return out
}

// TestGreedySourceRooms: a source creates ad hoc rooms (each as another
// identity) until rooms_per_source, then gets 503 naming the limit, while
// another source still creates rooms; an identity is held to
// rooms_per_identity from any source; a deleted room no longer counts.
// Before issue 14 one source could create rooms until rooms.max_rooms,
// and then nobody could.
func TestGreedySourceRooms(t *testing.T) {
	const perSource, perIdentity = 5, 3
	srv := startWith(t, func(c *config.Config) {
		c.Limits.RoomsPerSource, c.Limits.RoomsPerIdentity = perSource, perIdentity
	})
	a := dialFrom(t, srv, "TCP", "127.0.0.2")
	var firstCall, firstTag string
	for i := range perSource {
		callID := servertest.RandomToken()
		tag := joinAs(t, a, fmt.Sprintf("sip:greedy-%d@127.0.0.1", i), fmt.Sprintf("<sip:g%d@example.com>", i), callID)
		if i == 0 {
			firstCall, firstTag = callID, tag
		}
	}
	refused := 0
	for i := perSource; i < perSource+20; i++ {
		expectRefused(t, a, invite(a, fmt.Sprintf("sip:greedy-%d@127.0.0.1", i), fmt.Sprintf("<sip:g%d@example.com>", i), servertest.RandomToken()),
			"Too Many Rooms From This Source")
		refused++
	}
	// Joining a room that exists creates nothing: still fine.
	joinAs(t, a, "sip:greedy-1@127.0.0.1", "<sip:late@example.com>", servertest.RandomToken())

	b := dialFrom(t, srv, "TCP", "127.0.0.3")
	created := 0
	for i := range perIdentity {
		joinAs(t, b, fmt.Sprintf("sip:modest-%d@127.0.0.1", i), "<sip:modest@example.com>", servertest.RandomToken())
		created++
	}
	expectRefused(t, b, invite(b, "sip:modest-x@127.0.0.1", "<sip:modest@example.com>", servertest.RandomToken()), "Too Many Rooms For This Identity")
	t.Logf("source A: %d rooms created, %d refused (503 Too Many Rooms From This Source); source B: %d rooms created after that, its identity's next refused",
		perSource, refused, created)

	// A's first room goes when its only participant leaves: A may create one more.
	expect(t, a, servertest.WithFrom(a.Build(servertest.Req{Method: "BYE", URI: "sip:greedy-0@127.0.0.1", CallID: firstCall, FromTag: "ft", ToTag: firstTag, CSeq: 2}),
		"<sip:g0@example.com>"), 200, "")
	joinAs(t, a, "sip:greedy-new@127.0.0.1", "<sip:g-new@example.com>", servertest.RandomToken())

	st := server.FocusLimitStats(srv)
	if st.RoomsPerSource != uint64(refused) || st.RoomsPerIdentity != 1 {
		t.Fatalf("LimitStats %+v; want %d refusals per source, 1 per identity", st, refused)
	}
}

// TestExemptSource: a source in limits.exempt is not held to the
// per-source limits.
func TestExemptSource(t *testing.T) {
	srv := startWith(t, func(c *config.Config) {
		c.Limits.RoomsPerSource = 1
		c.Limits.Exempt = []string{"127.0.0.6/31"}
	})
	a := dialFrom(t, srv, "TCP", "127.0.0.7")
	for i := range 3 {
		joinAs(t, a, fmt.Sprintf("sip:gw-%d@127.0.0.1", i), fmt.Sprintf("<sip:gw%d@example.com>", i), servertest.RandomToken())
	}
}

// TestGreedySourceSubscriptions: a source subscribes until
// subscriptions_per_source and gets 503; another source still subscribes;
// a room takes at most subscriptions_per_room from everyone. Before issue
// 14 one connection could hold any number (each roster change then cost
// as many NOTIFYs).
func TestGreedySourceSubscriptions(t *testing.T) {
	const perSource, perRoom = 5, 8
	srv := startWith(t, func(c *config.Config) {
		c.Limits.SubscriptionsPerSource, c.Limits.SubscriptionsPerRoom = perSource, perRoom
	})
	host := dial(t, srv, "TCP")
	roomURI := "sip:watched@127.0.0.1"
	joinAs(t, host, roomURI, "<sip:host@example.com>", servertest.RandomToken())

	a := dialFrom(t, srv, "TCP", "127.0.0.2")
	for i := range perSource {
		expect(t, a, subscribe(a, roomURI, fmt.Sprintf("<sip:w%d@example.com>", i)), 200, "")
	}
	for i := range 10 {
		expectRefused(t, a, subscribe(a, roomURI, fmt.Sprintf("<sip:x%d@example.com>", i)), "Too Many Subscriptions From This Source")
	}
	b := dialFrom(t, srv, "TCP", "127.0.0.3")
	for i := range perRoom - perSource {
		expect(t, b, subscribe(b, roomURI, fmt.Sprintf("<sip:b%d@example.com>", i)), 200, "")
	}
	c := dialFrom(t, srv, "TCP", "127.0.0.4")
	expectRefused(t, c, subscribe(c, roomURI, "<sip:c@example.com>"), "Too Many Subscriptions To This Room")
	t.Logf("source A: %d subscriptions, 10 refused; source B: %d more; then the room's limit (%d) refused source C", perSource, perRoom-perSource, perRoom)
	if st := server.FocusLimitStats(srv); st.SubscriptionsPerSource != 10 || st.SubscriptionsPerRoom != 1 {
		t.Fatalf("LimitStats %+v", st)
	}
}

// TestRoomNameTooLong: a room name over rooms.max_name_bytes is 414
// Request-URI Too Long (RFC 3261 §21.4.12), whatever the method; at the
// limit it is a room.
func TestRoomNameTooLong(t *testing.T) {
	srv := startWith(t, nil)
	p := dial(t, srv, "TCP")
	long := "sip:" + strings.Repeat("n", 65) + "@127.0.0.1"
	expect(t, p, invite(p, long, "<sip:ann@example.com>", servertest.RandomToken()), 414, "")
	expect(t, p, subscribe(p, long, "<sip:ann@example.com>"), 414, "")
	expect(t, p, p.Build(servertest.Req{Method: "OPTIONS", URI: long}), 414, "")
	joinAs(t, p, "sip:"+strings.Repeat("n", 64)+"@127.0.0.1", "<sip:ann@example.com>", servertest.RandomToken())
	if st := server.FocusLimitStats(srv); st.NameTooLong != 3 {
		t.Fatalf("LimitStats %+v", st)
	}
}

// TestReservedIdentities: nobody joins or subscribes as the room, the
// focus, or an anonymous participant's allocated URI (403). Before issue
// 14 all were admitted: a participant From the room's URI could send
// notices that look like the room's, and one From an anonymous URI got
// its holder's private messages.
func TestReservedIdentities(t *testing.T) {
	srv := startWith(t, nil)
	p := dial(t, srv, "TCP")
	roomURI := "sip:lobby@127.0.0.1"
	joinAs(t, p, roomURI, "<sip:anon-to-be@example.com>", servertest.RandomToken(), "Privacy: id")
	anon := anonymousURI(t, p, roomURI)
	t.Logf("the anonymous participant is %s", anon)
	cases := map[string]string{
		"the room":                       "<" + roomURI + ">",
		"the room, another spelling":     "<sip:lobby@127.0.0.1:5060;transport=tcp>",
		"the focus":                      "<sip:127.0.0.1>",
		"another room":                   "<sip:lobby@127.0.0.1>",
		"the allocated anonymous URI":    "<" + anon + ">",
		"the anonymous URI, in capitals": "<" + strings.Replace(anon, "anonymous-", "ANONYMOUS-", 1) + ">",
	}
	for name, from := range cases {
		expect(t, p, invite(p, roomURI, from, servertest.RandomToken()), 403, "Reserved Identity")
		expect(t, p, subscribe(p, roomURI, from), 403, "Reserved Identity")
		t.Logf("%-31s %s: INVITE and SUBSCRIBE refused 403", name, from)
	}
	expect(t, p, invite(p, "sip:other@127.0.0.1", "<sip:lobby@127.0.0.1>", servertest.RandomToken()), 403, "Reserved Identity")
	joinAs(t, p, roomURI, "<sip:tester@127.0.0.1>", servertest.RandomToken()) // a user at our host is fine
}

var anonRE = regexp.MustCompile(`sip:anonymous-[0-9A-Za-z]+@127\.0\.0\.1`)

// anonymousURI subscribes to roomURI over p and returns the anonymous URI
// in the roster.
func anonymousURI(t *testing.T, p *servertest.SIP, roomURI string) string {
	t.Helper()
	expect(t, p, subscribe(p, roomURI, "<sip:watcher@example.com>"), 200, "")
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		msg, err := p.Read(time.Until(deadline))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(string(msg), "NOTIFY ") {
			if err := p.Send(servertest.Reply(msg, 200, "OK")); err != nil {
				t.Fatal(err)
			}
			if u := anonRE.Find(msg); u != nil {
				return string(u)
			}
		}
	}
	t.Fatal("no anonymous URI in the roster")
	return ""
}

// TestConnInUse: the SIP guard's question about an idle TCP connection is
// answered true exactly while a dialog or subscription set up over it
// lives. Before issue 14 it was always true.
func TestConnInUse(t *testing.T) {
	srv := startWith(t, nil)
	p := dial(t, srv, "TCP")
	peer, _ := net.ResolveTCPAddr("tcp", p.LocalAddr())
	if server.FocusConnInUse(srv, peer) {
		t.Fatal("in use before anything was set up")
	}
	expect(t, p, p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:room@127.0.0.1"}), 200, "")
	if server.FocusConnInUse(srv, peer) {
		t.Fatal("in use after an OPTIONS")
	}
	roomURI := "sip:conn@127.0.0.1"
	callID := servertest.RandomToken()
	tag := joinAs(t, p, roomURI, "<sip:c@example.com>", callID)
	if !server.FocusConnInUse(srv, peer) {
		t.Fatal("not in use with a dialog")
	}
	other := dial(t, srv, "TCP")
	otherAddr, _ := net.ResolveTCPAddr("tcp", other.LocalAddr())
	if server.FocusConnInUse(srv, otherAddr) {
		t.Fatal("another connection in use")
	}
	expect(t, p, servertest.WithFrom(p.Build(servertest.Req{Method: "BYE", URI: roomURI, CallID: callID, FromTag: "ft", ToTag: tag, CSeq: 2}), "<sip:c@example.com>"), 200, "")
	if server.FocusConnInUse(srv, peer) {
		t.Fatal("in use after the BYE")
	}
}
