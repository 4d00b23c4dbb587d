package focus

import (
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/clocktest"
	"github.com/parley-im/parley/msrp"
)

func withRates(clk *clocktest.Clock, edit func(*Limits)) envOpt {
	return func(c *Config) {
		edit(&c.Limits)
		c.Now = clk.Now
	}
}

// fresh makes p's next request start a new dialog (a new Call-ID and From
// tag), as another call from the same source would.
func (p *peer) fresh() *peer {
	p.callID = sip.GenerateTagN(20) + "@test"
	p.tag = sip.GenerateTagN(10)
	return p
}

// tryJoin sends a new INVITE to roomName and returns the final answer
// (a 2xx ACKed) and the MSRP session id of its offer. The peer keeps the
// dialog's Call-ID and tag until its next fresh.
func (p *peer) tryJoin(roomName string) (*sip.Response, string) {
	p.t.Helper()
	p.fresh()
	sid := msrp.NewSessionID()
	res := p.do(p.withSDP(p.request(sip.INVITE, roomName, ""), offerFor(sid)))
	if res.StatusCode == 200 {
		p.ack(res, p.cseq)
	}
	p.cseq++
	return res, sid
}

func expectRate(t *testing.T, res *sip.Response, reason string) {
	t.Helper()
	if res.StatusCode != 503 || res.Reason != reason {
		t.Fatalf("got %d %s, want 503 %s", res.StatusCode, res.Reason, reason)
	}
	if ra := res.GetHeader("Retry-After"); ra == nil || ra.Value() != "1" {
		t.Fatalf("Retry-After %v, want 1 (the next token is less than a second away)", ra)
	}
}

// joinAnswer is tryJoin's answer alone.
func joinAnswer(res *sip.Response, _ string) *sip.Response { return res }

// Issue 17: a source joins at most JoinsBurst times at once, then
// JoinsPerSecond times a second: beyond, 503 naming the rate with the
// seconds until its next token as Retry-After, counted, before the room
// is looked up, a session opened or anything held. The clock is the
// focus's, driven by the test. One source is the address, whatever the
// port or transport; a re-INVITE is no join.
func TestJoinRatePerSource(t *testing.T) {
	clk := clocktest.New(clocktest.Start)
	e := newEnv(t, nil, withRates(clk, func(l *Limits) { l.JoinsPerSecond, l.JoinsBurst = 2, 3 }))
	udp := newPeer(t, e, "UDP", "alice")
	tcp := newPeer(t, e, "TCP", "bob")
	var res *sip.Response
	var sid string
	for i, p := range []*peer{udp, tcp, udp} {
		if res, sid = p.tryJoin("lobby"); res.StatusCode != 200 {
			t.Fatalf("join %d: %d %s", i+1, res.StatusCode, res.Reason)
		}
	}
	// No token left; a re-INVITE in udp's last dialog is still answered.
	tag, _ := res.To().Params.Get("tag")
	re := udp.withSDP(udp.request(sip.INVITE, "lobby", tag), offerFor(sid))
	re.Recipient = res.Contact().Address
	if res2 := udp.do(re); res2.StatusCode != 200 {
		t.Fatalf("re-INVITE without a token: %d %s", res2.StatusCode, res2.Reason)
	} else {
		udp.ack(res2, udp.cseq)
		udp.cseq++
	}

	opened := len(e.sw.sessions())
	expectRate(t, joinAnswer(tcp.tryJoin("lobby")), "Joining Too Fast From This Source")
	expectRate(t, joinAnswer(udp.tryJoin("nowhere")), "Joining Too Fast From This Source") // not 404: before the room lookup
	clk.Advance(400 * time.Millisecond)
	expectRate(t, joinAnswer(tcp.tryJoin("lobby")), "Joining Too Fast From This Source")
	if n := len(e.sw.sessions()); n != opened {
		t.Fatalf("%d MSRP sessions opened for refused joins", n-opened)
	}
	if st := e.focus.LimitStats(); st.JoinRate != 3 || st.DialogsPerSource != 0 || st.SubscriptionRate != 0 || st.RateEvicted != 0 {
		t.Fatalf("LimitStats %+v: want JoinRate 3 and nothing else", st)
	}
	clk.Advance(100 * time.Millisecond) // 500 ms: one token
	if res, _ := tcp.tryJoin("lobby"); res.StatusCode != 200 {
		t.Fatalf("after 500 ms: %d %s", res.StatusCode, res.Reason)
	}
	expectRate(t, joinAnswer(udp.tryJoin("lobby")), "Joining Too Fast From This Source")
	if st := e.focus.LimitStats(); st.JoinRate != 4 {
		t.Fatalf("JoinRate %d, want 4", st.JoinRate)
	}
}

// Subscriptions likewise, with their own rate: a refresh inside the
// subscription's dialog takes no token.
func TestSubscriptionRatePerSource(t *testing.T) {
	clk := clocktest.New(clocktest.Start)
	e := newEnv(t, nil, withConference(10*time.Millisecond),
		withRates(clk, func(l *Limits) { l.SubscriptionsPerSecond, l.SubscriptionsBurst = 1, 2 }))
	host := newPeer(t, e, "TCP", "host")
	host.join("watched")
	w := newPeer(t, e, "TCP", "watcher")
	var res *sip.Response
	for i := range 2 {
		if res = w.fresh().subscribe("watched", ""); res.StatusCode != 200 {
			t.Fatalf("subscription %d: %d %s", i+1, res.StatusCode, res.Reason)
		}
	}
	tag, _ := res.To().Params.Get("tag")
	// A refresh that crosses the subscription's first NOTIFY is answered
	// 500 with Retry-After (a request overlapping one in progress); it
	// goes again, as a subscriber would, and takes no token either way.
	r := w.subscribe("watched", tag)
	for i := 0; r.StatusCode == 500 && i < 50; i++ {
		time.Sleep(10 * time.Millisecond)
		r = w.subscribe("watched", tag)
	}
	if r.StatusCode != 200 {
		t.Fatalf("refresh without a token: %d %s", r.StatusCode, r.Reason)
	}
	expectRate(t, w.fresh().subscribe("watched", ""), "Subscribing Too Fast From This Source")
	expectRate(t, w.fresh().subscribe("nowhere", ""), "Subscribing Too Fast From This Source")
	if st := e.focus.LimitStats(); st.SubscriptionRate != 2 || st.JoinRate != 0 || st.SubscriptionsPerSource != 0 {
		t.Fatalf("LimitStats %+v: want SubscriptionRate 2 and nothing else", st)
	}
	// The joins have a bucket of their own (and here no rate).
	host.fresh().join("other")
	clk.Advance(time.Second)
	if r := w.fresh().subscribe("watched", ""); r.StatusCode != 200 {
		t.Fatalf("after a second: %d %s", r.StatusCode, r.Reason)
	}
}

// Sources in Limits.Exempt or Limits.RateExempt skip the rates.
func TestRateExempt(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Limits)
	}{
		{"exempt", func(l *Limits) { l.Exempt = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} }},
		{"rate_exempt", func(l *Limits) { l.RateExempt = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, nil, withConference(10*time.Millisecond), withRates(clocktest.New(clocktest.Start), func(l *Limits) {
				l.JoinsPerSecond, l.JoinsBurst, l.SubscriptionsPerSecond, l.SubscriptionsBurst = 1, 1, 1, 1
				c.edit(l)
			}))
			p := newPeer(t, e, "TCP", "gateway")
			for i := range 3 {
				if res, _ := p.tryJoin("lobby"); res.StatusCode != 200 {
					t.Fatalf("join %d: %d %s", i+1, res.StatusCode, res.Reason)
				}
				if res := p.fresh().subscribe("lobby", ""); res.StatusCode != 200 {
					t.Fatalf("subscription %d: %d %s", i+1, res.StatusCode, res.Reason)
				}
			}
			if st := e.focus.LimitStats(); st.JoinRate != 0 || st.SubscriptionRate != 0 {
				t.Fatalf("LimitStats %+v", st)
			}
		})
	}
}

// The table of sources stays bounded: a new source that finds it full
// evicts one (counted); every second the sources whose bucket is full
// again are forgotten.
func TestSourceRatesTable(t *testing.T) {
	r := newSourceRates(1, 2)
	r.max = 4
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}) }
	for i := range 4 {
		if _, ok := r.take(addr(i), 0); !ok {
			t.Fatalf("source %d refused", i)
		}
	}
	r.take(addr(0), 0)
	if wait, ok := r.take(addr(0), 0); ok || wait != time.Second {
		t.Fatalf("third at once at 1/s, burst 2: ok %v, wait %v; want refused, 1s", ok, wait)
	}
	if _, ok := r.take(addr(4), 0); !ok || len(r.tat) != 4 {
		t.Fatalf("a fifth source: ok %v, %d kept; want admitted, 4 kept", ok, len(r.tat))
	}
	if refused, evicted := r.counts(); refused != 1 || evicted != 1 {
		t.Fatalf("refused %d, evicted %d; want 1, 1", refused, evicted)
	}
	// 3 s later every bucket is full: the sweep forgets them all.
	if _, ok := r.take(addr(5), int64(3*time.Second)); !ok || len(r.tat) != 1 {
		t.Fatalf("after the sweep: ok %v, %d kept; want 1", ok, len(r.tat))
	}
	if _, evicted := r.counts(); evicted != 1 {
		t.Fatalf("evicted %d after the sweep, want still 1", evicted)
	}
}
