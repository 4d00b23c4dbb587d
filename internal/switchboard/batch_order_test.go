package switchboard

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// Fan-out through relay.Batch (deliverAll on the sender's read goroutine):
// a burst of messages written at once, parsed several per read and some
// across reads, regular and private ones mixed, reaches each recipient in
// the sender's order, without waiting for a message read in part; the
// sender's responses, its success REPORTs and the relay's own responses
// (here to a NICKNAME) come back in order; and when the sender reads the
// 200 of a message, the copies of it and of every message before it are
// already queued and counted (Stats.Deliveries).
func TestBatchedFanOutOrderAndCounting(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")
	carol := h.join("chat", "sip:carol@example.com")

	const n = 40
	const nickAt = 20 // a NICKNAME between the SENDs
	private := func(k int) bool { return k%7 == 3 }
	report := func(k int) bool { return k%5 == 1 }
	var (
		wire    []byte
		sends   = make([]*msrp.Message, n)
		bodies  = make([][]byte, n)
		counted = make([]uint64, n) // copies of messages 0..k
		nick    *msrp.Message
		total   uint64
	)
	for k := range n {
		if k == nickAt {
			nick = msrptest.Nickname(alice.sw, alice.self, "ally")
			wire = append(wire, nick.Bytes()...)
		}
		to := roomURI("chat")
		if private(k) {
			to = bob.p.URI
		}
		bodies[k] = cpimMsg(alice.p.URI, to, fmt.Sprintf("message %02d %s", k, bytes.Repeat([]byte("."), 200)))
		var opts []msrptest.Option
		if report(k) {
			opts = append(opts, msrptest.WithHeader(msrp.HeaderSuccessReport, "yes"))
		}
		sends[k] = msrptest.Send(alice.sw, alice.self, "message/cpim", bodies[k], opts...)
		wire = append(wire, sends[k].Bytes()...)
		if private(k) {
			total++
		} else {
			total += 2
		}
		counted[k] = total
	}
	// And the first half of one more message: what came before it must not
	// wait for the rest.
	lastBody := cpimMsg(alice.p.URI, roomURI("chat"), "the last one")
	last := msrptest.Send(alice.sw, alice.self, "message/cpim", lastBody).Bytes()
	half := len(last) / 2
	wire = append(wire, last[:half]...)
	before := h.sw.Stats().Deliveries
	alice.SendRaw(wire) // one write, several reads' worth

	for k := range n {
		if k == nickAt {
			alice.ExpectResponse(nick.TID, msrp.StatusOK)
		}
		alice.ExpectResponse(sends[k].TID, msrp.StatusOK)
		if got := h.sw.Stats().Deliveries - before; got < counted[k] {
			t.Fatalf("alice read the 200 of message %d with %d copies counted, want at least %d", k, got, counted[k])
		}
		if report(k) {
			r := alice.ExpectRequest(msrp.MethodREPORT)
			if r.MessageID() != sends[k].MessageID() {
				t.Fatalf("REPORT for %q, want the one for message %d (%q)", r.MessageID(), k, sends[k].MessageID())
			}
		}
	}
	for k := range n {
		bob.expectCopy(bodies[k])
		if !private(k) {
			carol.expectCopy(bodies[k])
		}
	}
	if got := h.sw.Stats().Deliveries - before; got != total {
		t.Errorf("Deliveries grew by %d, want %d", got, total)
	}
	alice.SendRaw(last[half:])
	bob.expectCopy(lastBody)
	carol.expectCopy(lastBody)
}

// The batch state is pooled across connections: senders in different rooms
// taking turns each reach their own room only, with nothing of an earlier
// batch repeated.
func TestBatchedFanOutNoCrossTalk(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("one", "sip:alice@example.com")
	bob := h.join("one", "sip:bob@example.com")
	dave := h.join("two", "sip:dave@example.com")
	erin := h.join("two", "sip:erin@example.com")
	frank := h.join("two", "sip:frank@example.com")

	say := func(pt *party, room, text string) []byte {
		body := cpimMsg(pt.p.URI, roomURI(room), text)
		m := pt.say(body)
		pt.ExpectResponse(m.TID, msrp.StatusOK)
		return body
	}
	a1 := say(alice, "one", "a1")
	d1 := say(dave, "two", "d1")
	a2 := say(alice, "one", "a2")
	erin.expectCopy(d1)
	e1 := say(erin, "two", "e1")
	dave.expectCopy(e1)
	d2 := say(dave, "two", "d2")
	a3 := say(alice, "one", "a3")

	for _, b := range [][]byte{a1, a2, a3} {
		bob.expectCopy(b)
	}
	for _, b := range [][]byte{d1, e1, d2} {
		frank.expectCopy(b)
	}
	erin.expectCopy(d2)
	// Nothing more: the next thing each reads is a last message.
	z1 := say(alice, "one", "z1")
	z2 := say(frank, "two", "z2")
	bob.expectCopy(z1)
	dave.expectCopy(z2)
	erin.expectCopy(z2)
	if got, want := h.sw.Stats().Deliveries, uint64(3+2*3+1+2); got != want {
		t.Errorf("Deliveries = %d, want %d", got, want)
	}
}
