package server_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/clocktest"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/servertest"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// Tests of issue 17's abuse limits over real sockets: joins and
// subscriptions per source per second, messages per participant per
// second, MSRP connections per source. The rates run on a clock the test
// drives (server.NewWithClock); distinct sources are distinct loopback
// addresses, which the default limits.rate_exempt (the loopback interface)
// would exempt: the tests empty it, but one.

// startClocked runs a parleyd on loopback with cfg changed by edit and a
// clock of the test's.
func startClocked(t *testing.T, edit func(*config.Config)) (*server.Server, *clocktest.Clock) {
	t.Helper()
	cfg := loopbackConfig()
	cfg.MSRP.BindTimeout = config.Duration(time.Minute)
	edit(cfg)
	clk := clocktest.New(time.Now())
	srv, err := server.NewWithClock(cfg, slog.New(slog.DiscardHandler), clk.Now)
	if err != nil {
		t.Fatalf("starting parleyd: %v", err)
	}
	srv.Start()
	t.Cleanup(func() { stopServer(srv) })
	return srv, clk
}

// expectTooFast checks a 503 naming the rate, with Retry-After: 1 (at
// whole rates per second, the next token is at most a second away).
func expectTooFast(t *testing.T, p *servertest.SIP, req []byte, reason string) {
	t.Helper()
	res := expect(t, p, req, 503, reason)
	if ra := servertest.Header(res, "Retry-After"); ra != "1" {
		t.Fatalf("503 %s: Retry-After %q, want 1", reason, ra)
	}
}

// A source over limits.joins_per_second gets 503 with Retry-After,
// counted; another source does not; once its bucket refills it joins
// again. A source in limits.rate_exempt is never held.
func TestJoinRateOverTheWire(t *testing.T) {
	srv, clk := startClocked(t, func(c *config.Config) {
		c.Limits.JoinsPerSecond, c.Limits.JoinsBurst = 1, 2
		c.Limits.RateExempt = []string{"127.0.0.4"}
	})
	a := dialFrom(t, srv, "TCP", "127.0.0.2")
	for i := range 2 {
		joinAs(t, a, "sip:fast@127.0.0.1", fmt.Sprintf("<sip:a%d@example.com>", i), servertest.RandomToken())
	}
	for i := range 3 {
		expectTooFast(t, a, invite(a, "sip:fast@127.0.0.1", fmt.Sprintf("<sip:x%d@example.com>", i), servertest.RandomToken()),
			"Joining Too Fast From This Source")
	}
	b := dialFrom(t, srv, "UDP", "127.0.0.3")
	joinAs(t, b, "sip:fast@127.0.0.1", "<sip:b@example.com>", servertest.RandomToken())
	exempt := dialFrom(t, srv, "TCP", "127.0.0.4")
	for i := range 5 {
		joinAs(t, exempt, "sip:fast@127.0.0.1", fmt.Sprintf("<sip:e%d@example.com>", i), servertest.RandomToken())
	}
	if st := server.FocusLimitStats(srv); st.JoinRate != 3 || st.DialogsPerSource != 0 {
		t.Fatalf("LimitStats %+v: want JoinRate 3", st)
	}
	clk.Advance(time.Second)
	joinAs(t, a, "sip:fast@127.0.0.1", "<sip:a-again@example.com>", servertest.RandomToken())
	t.Logf("source A: 2 joins, then 3 refused (503 Joining Too Fast From This Source, Retry-After: 1), a join a second later; B and the exempt source unaffected")
}

// Subscriptions likewise, with their own bucket.
func TestSubscriptionRateOverTheWire(t *testing.T) {
	srv, clk := startClocked(t, func(c *config.Config) {
		c.Limits.SubscriptionsPerSecond, c.Limits.SubscriptionsBurst = 1, 2
		c.Limits.RateExempt = nil
	})
	host := dial(t, srv, "TCP")
	roomURI := "sip:watched@127.0.0.1"
	joinAs(t, host, roomURI, "<sip:host@example.com>", servertest.RandomToken())
	a := dialFrom(t, srv, "TCP", "127.0.0.2")
	for i := range 2 {
		expect(t, a, subscribe(a, roomURI, fmt.Sprintf("<sip:w%d@example.com>", i)), 200, "")
	}
	expectTooFast(t, a, subscribe(a, roomURI, "<sip:w2@example.com>"), "Subscribing Too Fast From This Source")
	joinAs(t, a, roomURI, "<sip:joins-still@example.com>", servertest.RandomToken()) // joins: another bucket
	b := dialFrom(t, srv, "TCP", "127.0.0.3")
	expect(t, b, subscribe(b, roomURI, "<sip:b@example.com>"), 200, "")
	if st := server.FocusLimitStats(srv); st.SubscriptionRate != 1 || st.JoinRate != 0 {
		t.Fatalf("LimitStats %+v: want SubscriptionRate 1", st)
	}
	clk.Advance(time.Second)
	expect(t, a, subscribe(a, roomURI, "<sip:w3@example.com>"), 200, "")
}

// joinBound joins uri to roomURI over SIP TCP and binds its MSRP session
// over a connection from the loopback address ip.
func joinBound(t *testing.T, srv *server.Server, roomURI, uri, ip string) *member {
	t.Helper()
	p := dialFrom(t, srv, "TCP", ip)
	sid := servertest.RandomToken()
	m, _ := joinTLSAs(t, p, roomURI, uri, msrp.URI{Host: "127.0.0.1", Port: 9, SessionID: sid, Transport: "tcp"}, servertest.Offer(9, sid))
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: wait}
	c, err := d.Dial("tcp", srv.Addrs().MSRP)
	if err != nil {
		t.Skipf("cannot connect from %s: %v", ip, err)
	}
	m.bindMSRP(t, c)
	return m
}

// say sends text from m to the room and returns the SEND.
func (m *member) say(roomURI, text string) *msrp.Message {
	s := msrptest.Send(m.sw, m.self, "message/cpim", msrptest.CPIM(m.uri, roomURI, text))
	m.msrp.Send(s)
	return s
}

// A participant over limits.messages_per_second gets 403 "Sending too
// fast" and exactly one notice, nothing of it reaches the others, and
// once its bucket refills it is relayed again. A participant whose MSRP
// connection comes from a limits.rate_exempt source is not held.
func TestMessageRateOverTheWire(t *testing.T) {
	srv, clk := startClocked(t, func(c *config.Config) {
		c.Limits.MessagesPerSecond, c.Limits.MessagesBurst = 2, 2
		c.Limits.RateExempt = []string{"127.0.0.4"}
		c.Rooms.History = 0
	})
	roomURI := "sip:chatty@127.0.0.1"
	bob := joinBound(t, srv, roomURI, "sip:bob@example.com", "127.0.0.3")
	alice := joinBound(t, srv, roomURI, "sip:alice@example.com", "127.0.0.2")
	bob.expectText(t, "alice@example.com (guest) joined")

	for i := range 2 {
		s := alice.say(roomURI, fmt.Sprintf("m%d", i))
		alice.expectOK(t, s.TID)
		bob.expectText(t, fmt.Sprintf("m%d", i))
	}
	var refused []*msrp.Message
	for i := 2; i < 6; i++ {
		refused = append(refused, alice.say(roomURI, fmt.Sprintf("m%d", i)))
	}
	var codes []int
	notices := 0
	for len(codes) < len(refused) {
		got := alice.msrp.Expect()
		if got.IsRequest() {
			if !bytes.Contains(got.Body, []byte("You are sending too fast")) {
				t.Fatalf("alice got an unexpected SEND:\n%s", got.Body)
			}
			notices++
			continue
		}
		if got.Comment != "Sending too fast" {
			t.Fatalf("answer %d %q, want 403 Sending too fast", got.Code, got.Comment)
		}
		codes = append(codes, got.Code)
	}
	if fmt.Sprint(codes) != "[403 403 403 403]" {
		t.Fatalf("answers %v, want four 403", codes)
	}
	clk.Advance(500 * time.Millisecond) // one token
	s := alice.say(roomURI, "m-after")
	for {
		got := alice.msrp.Expect()
		if got.IsRequest() {
			notices++
			continue
		}
		if got.TID != s.TID || got.Code != msrp.StatusOK {
			t.Fatalf("after 500 ms: %s %d, want 200 to %s", got.TID, got.Code, s.TID)
		}
		break
	}
	if notices != 1 {
		t.Fatalf("%d notices, want exactly 1", notices)
	}
	if got := bob.msrp.ExpectRequest(msrp.MethodSEND); !bytes.Contains(got.Body, []byte("m-after")) {
		t.Fatalf("bob's next message is not m-after (m2-m5 were refused):\n%s", got.Body)
	}
	if st := server.SwitchStats(srv); st.RefusedRate != 4 {
		t.Fatalf("RefusedRate %d, want 4", st.RefusedRate)
	}

	carol := joinBound(t, srv, roomURI, "sip:carol@example.com", "127.0.0.4")
	for i := range 10 {
		s := carol.say(roomURI, fmt.Sprintf("c%d", i))
		carol.expectOK(t, s.TID)
	}
	if st := server.SwitchStats(srv); st.RefusedRate != 4 {
		t.Fatalf("RefusedRate %d after the exempt participant, want still 4", st.RefusedRate)
	}
}

// With the default configuration, the loopback interface is exempt from
// the rates: the benchmarks' and local tools' traffic is never throttled.
func TestDefaultRatesExemptLoopback(t *testing.T) {
	srv, _ := startClocked(t, func(c *config.Config) {
		c.Limits.JoinsPerSecond, c.Limits.JoinsBurst = 1, 1
		c.Limits.MessagesPerSecond, c.Limits.MessagesBurst = 1, 1
	})
	roomURI := "sip:local@127.0.0.1"
	p := dial(t, srv, "TCP")
	for i := range 3 {
		joinAs(t, p, roomURI, fmt.Sprintf("<sip:l%d@example.com>", i), servertest.RandomToken())
	}
	m := joinBound(t, srv, roomURI, "sip:sender@example.com", "127.0.0.1")
	for i := range 5 {
		s := m.say(roomURI, fmt.Sprintf("x%d", i))
		m.expectOK(t, s.TID)
	}
	if st, sw := server.FocusLimitStats(srv), server.SwitchStats(srv); st.JoinRate != 0 || sw.RefusedRate != 0 {
		t.Fatalf("loopback throttled: JoinRate %d, RefusedRate %d", st.JoinRate, sw.RefusedRate)
	}
}

// limits.msrp_connections_per_source: one more MSRP connection from a
// source that holds that many is closed at once, counted; another source,
// and a source in limits.exempt, are not held.
func TestMSRPConnectionsPerSource(t *testing.T) {
	srv, _ := startClocked(t, func(c *config.Config) {
		c.Limits.MSRPConnectionsPerSource = 2
		c.Limits.Exempt = []string{"127.0.0.4"}
	})
	dialMSRP := func(ip string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: wait}
		c, err := d.Dial("tcp", srv.Addrs().MSRP)
		if err != nil {
			t.Skipf("cannot connect from %s: %v", ip, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	closedAtOnce := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(wait))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		return err != nil && !(errors.As(err, &ne) && ne.Timeout())
	}
	for range 2 {
		dialMSRP("127.0.0.2")
	}
	waitUntil(t, "two connections open", func() bool { return server.RelayStats(srv).ConnsOpen == 2 })
	if c := dialMSRP("127.0.0.2"); !closedAtOnce(c) {
		t.Fatal("the third connection from one source was not closed")
	}
	for range 3 {
		dialMSRP("127.0.0.3")
		dialMSRP("127.0.0.4")
	}
	waitUntil(t, "the other sources' connections open", func() bool { return server.RelayStats(srv).ConnsOpen == 2+2+3 })
	st := server.RelayStats(srv)
	if st.ConnsClosed[relay.CloseConnLimit] != 2 { // the third of 127.0.0.3 too
		t.Fatalf("ConnsClosed[conn-limit] = %d, want 2", st.ConnsClosed[relay.CloseConnLimit])
	}
}

// waitUntil polls cond until it holds, failing after wait.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
