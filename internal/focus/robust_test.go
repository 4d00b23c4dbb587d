package focus

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/servertest"
	"github.com/parley-im/parley/msrp"
)

// TestByeWaitsForAck: a dialog the focus ends before the participant's ACK
// arrives gets its BYE only when the 2xx's server transaction times out,
// 64·T1 after the 2xx (RFC 3261 §15), not after ByeTimeout.
func TestByeWaitsForAck(t *testing.T) {
	const t1 = 10 * time.Millisecond
	e := newEnv(t, nil, func(c *Config) { c.T1 = t1; c.ByeTimeout = 50 * time.Millisecond })
	p := newPeer(t, e, "TCP", "noack")
	sent := time.Now() // before the focus's 2xx, so the bound below holds whatever the scheduling
	res := p.do(p.withSDP(p.request(sip.INVITE, "r", ""), offerFor(msrp.NewSessionID())))
	if res.StatusCode != 200 {
		t.Fatalf("INVITE: %d", res.StatusCode)
	}
	// The MSRP side ends at once (never bound): the focus ends the dialog.
	s := e.sw.sessions()[0]
	e.focus.SessionEnded(s.handle, s.id, "test")
	select {
	case <-p.byes:
		if waited := time.Since(sent); waited < 64*t1 {
			t.Fatalf("BYE %v after the unacknowledged 2xx, before 64·T1 (%v)", waited, 64*t1)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no BYE")
	}
}

// TestByeAfterAckIsPrompt: once the ACK is in, the BYE goes at once.
func TestByeAfterAckIsPrompt(t *testing.T) {
	const t1 = 50 * time.Millisecond
	e := newEnv(t, nil, func(c *Config) { c.T1 = t1 })
	p := newPeer(t, e, "TCP", "acked")
	p.join("r")
	s := e.sw.sessions()[0]
	eventually(t, "ACK", func() bool {
		// A confirmed dialog keeps no channel of its own (ackedDone).
		d := s.handle.(*dialog)
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.acked == ackedDone
	})
	start := time.Now()
	e.focus.SessionEnded(s.handle, s.id, "test")
	select {
	case <-p.byes:
		if waited := time.Since(start); waited >= 64*t1 {
			t.Fatalf("BYE after %v, though the dialog was confirmed", waited)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no BYE")
	}
}

// TestRetryAfterIsRandom: the 500 refusing an overlapping re-INVITE
// carries a Retry-After chosen at random between 0 and 10 s (RFC 3261
// §14.2).
func TestRetryAfterIsRandom(t *testing.T) {
	seen := map[int]bool{}
	for range 300 {
		v, err := strconv.Atoi(retryAfter().Value())
		if err != nil || v < 0 || v > 10 {
			t.Fatalf("Retry-After %q", retryAfter().Value())
		}
		seen[v] = true
	}
	if len(seen) < 8 {
		t.Fatalf("Retry-After took %d values in 300 draws: %v", len(seen), seen)
	}
}

// TestHandlerPanicIsContained: a panic while handling one request is
// answered 500 and counted; the focus goes on serving.
func TestHandlerPanicIsContained(t *testing.T) {
	var armed atomic.Bool
	armed.Store(true)
	e := newEnv(t, nil, func(c *Config) {
		c.beforeAnswer = func() {
			if armed.CompareAndSwap(true, false) {
				panic("injected")
			}
		}
	})
	p := newPeer(t, e, "UDP", "victim")
	res := p.do(p.withSDP(p.request(sip.INVITE, "r", ""), offerFor(msrp.NewSessionID())))
	if res.StatusCode != 500 {
		t.Fatalf("INVITE whose handler panicked: %d", res.StatusCode)
	}
	if n := e.focus.Panics(); n != 1 {
		t.Fatalf("Panics() = %d", n)
	}
	q := newPeer(t, e, "UDP", "next")
	if r := q.do(q.request(sip.OPTIONS, "", "")); r.StatusCode != 200 {
		t.Fatalf("OPTIONS after the panic: %d", r.StatusCode)
	}
	q.join("r2")
}

// TestHandlersRefuseMissingFields: a request reaching the focus without
// the SIP guard in front (as on a connection the focus opened itself)
// still never reaches a handler without its mandatory fields.
func TestHandlersRefuseMissingFields(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range []struct{ drop, reason string }{
		{"Call-ID", "Missing Call-ID"}, {"To", "Missing To"}, {"Max-Forwards", "Missing Max-Forwards"},
	} {
		p, err := servertest.DialSIP("UDP", e.addr["UDP"])
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		req := p.Build(servertest.Req{Method: "INVITE", URI: "sip:r@127.0.0.1", Drop: []string{c.drop}, Body: offerFor(msrp.NewSessionID())})
		res, err := p.Exchange(req, 5*time.Second)
		if err != nil {
			t.Fatalf("without %s: %v", c.drop, err)
		}
		if code, reason := servertest.Status(res); code != 400 || reason != c.reason {
			t.Fatalf("without %s: %d %s", c.drop, code, reason)
		}
	}
	if n := e.focus.Panics(); n != 0 {
		t.Fatalf("%d panics", n)
	}
}
