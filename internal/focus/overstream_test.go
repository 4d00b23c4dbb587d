package focus

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestNotifyTransport: the NOTIFYs of a subscription over UDP go over TCP
// when larger than 1,300 octets (RFC 3261 §18.1.1; issue 14), and over
// UDP when smaller and the subscriber was heard from (here it subscribed
// in its INVITE dialog). Before, every NOTIFY went over UDP, 62 KB
// datagrams included.
func TestNotifyTransport(t *testing.T) {
	e := newEnv(t, nil, withConference(20*time.Millisecond))
	var leavers []*peer
	var leaves []*sip.Response
	for i := range 20 {
		p := newPeer(t, e, "TCP", fmt.Sprintf("participant-with-a-long-name-%02d", i))
		leaves = append(leaves, p.join("big"))
		leavers = append(leavers, p)
	}
	bob := newPeer(t, e, "UDP", "bob")
	bres := bob.join("big")
	btag, _ := bres.To().Params.Get("tag")
	if res := bob.subscribe("big", btag); res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
	}
	req, _ := bob.notify()
	if got, size := req.Transport(), len(req.String()); got != "TCP" || size <= maxUDPRequest {
		t.Errorf("NOTIFY of %d octets over %s, want over 1,300 over TCP", size, got)
	}
	t.Logf("full document of a room of 21: NOTIFY of %d octets, over %s", len(req.String()), req.Transport())

	leavers[0].bye(leaves[0]) // a partial NOTIFY: one deleted user
	req, _ = bob.notify()
	if got, size := req.Transport(), len(req.String()); got != "UDP" || size > maxUDPRequest {
		t.Errorf("NOTIFY of %d octets over %s, want under 1,300 over UDP", size, got)
	}
	t.Logf("partial document (a user left): NOTIFY of %d octets, over %s", len(req.String()), req.Transport())
}

// TestOverStream: overStream's choice for a request over UDP: TCP when it
// is over 1,300 octets with its Via, or when the peer is unverified; then
// to the peer's source IP at its Contact's port (5060 without one), never
// to the Contact's host.
func TestOverStream(t *testing.T) {
	f := &Focus{}
	build := func(body int) *sip.Request {
		req := sip.NewRequest(sip.NOTIFY, sip.Uri{Scheme: "sip", User: "w", Host: "203.0.113.9", Port: 5070})
		req.SetTransport("UDP")
		req.SetDestination("192.0.2.1:40000")
		req.SetBody([]byte(strings.Repeat("x", body)))
		return req
	}
	p := hop{transport: "UDP", source: "192.0.2.1:40000"}
	target := sip.Uri{Scheme: "sip", User: "w", Host: "203.0.113.9", Port: 5070}
	for _, tc := range []struct {
		body       int
		unverified bool
		target     sip.Uri
		transport  string
		dest       string
	}{
		{100, false, target, "UDP", "192.0.2.1:40000"},
		{100, true, target, "TCP", "192.0.2.1:5070"},
		{1300, false, target, "TCP", "192.0.2.1:5070"},
		{1300, false, sip.Uri{Scheme: "sip", Host: "example.com"}, "TCP", "192.0.2.1:5060"},
	} {
		req := build(tc.body)
		f.overStream(req, p, tc.target, tc.unverified)
		if req.Transport() != tc.transport || req.Destination() != tc.dest {
			t.Errorf("body %d, unverified %v: %s to %s, want %s to %s", tc.body, tc.unverified, req.Transport(), req.Destination(), tc.transport, tc.dest)
		}
	}
	req := build(5000)
	f.overStream(req, hop{transport: "TCP", source: "192.0.2.1:40000"}, target, true)
	if req.Transport() != "UDP" {
		t.Errorf("a stream hop is left alone; got %s", req.Transport())
	}
}

// TestLedgerExact: once every dialog and subscription is over, the ledger
// holds nothing (no source, identity, room, connection or heard address
// left behind), so ConnInUse and the limits stay exact.
func TestLedgerExact(t *testing.T) {
	e := newEnv(t, nil, withConference(20*time.Millisecond))
	for _, tr := range []string{"UDP", "TCP"} {
		a := newPeer(t, e, tr, "a-"+tr)
		res := a.join("ledger")
		w := newPeer(t, e, tr, "w-"+tr)
		if r := w.subscribe("ledger", "", sip.NewHeader("Expires", "0")); r.StatusCode != 200 { // a fetch: one NOTIFY, then the end
			t.Fatalf("SUBSCRIBE: %d", r.StatusCode)
		}
		w.notify()
		a.bye(res)
	}
	eventually(t, "an empty ledger", func() bool {
		l := e.focus.ledger
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.sources)+len(l.ids)+len(l.roomSubs)+len(l.conns)+len(l.heard) == 0
	})
}
