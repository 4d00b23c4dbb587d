package switchboard

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/clocktest"
	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

func withRate(perSecond, burst int, clk *clocktest.Clock, exempt ...string) harnessOption {
	return func(_ *relay.Config, s *Config) {
		s.MessagesPerSecond, s.MessagesBurst, s.Now = perSecond, burst, clk.Now
		for _, e := range exempt {
			s.RateExempt = append(s.RateExempt, netip.MustParsePrefix(e))
		}
	}
}

// sayNumbered sends the message "m<n>" from pt and returns its body.
func (pt *party) sayNumbered(n int) ([]byte, *msrp.Message) {
	body := cpimMsg(pt.p.URI, pt.p.RoomURI, fmt.Sprintf("m%d", n))
	return body, pt.say(body)
}

// answers reads what pt receives until the answer to until, and returns
// the answers' codes and reason phrases in order and the notices (SENDs
// from the room) received meanwhile.
func (pt *party) answers(until string) (codes []int, reasons []string, notices []string) {
	pt.h.t.Helper()
	for {
		m := pt.Expect()
		if m.IsRequest() {
			if m.Method != msrp.MethodSEND {
				pt.h.t.Fatalf("unexpected %s", m.Method)
			}
			notices = append(notices, string(m.Body))
			continue
		}
		codes = append(codes, m.Code)
		reasons = append(reasons, m.Comment)
		if m.TID == until {
			return codes, reasons, notices
		}
	}
}

// Issue 17: a participant over MessagesPerSecond gets 403 with a reason
// phrase and, once per episode, a notice to it alone; nothing of what was
// refused is relayed; once its bucket refills it is admitted again. The
// clock is the switch's, driven by the test.
func TestMessageRate(t *testing.T) {
	clk := clocktest.New(clocktest.Start)
	pol := defaultPolicy()
	pol.SystemMessages = true
	h := newHarness(t, pol, withRate(2, 3, clk))
	alice := h.join("r", "sip:alice@example.com")
	bob := h.join("r", "sip:bob@example.com")
	alice.expectNotice("bob@example.com joined")

	// The burst: three at once, relayed.
	for i := 1; i <= 3; i++ {
		body, m := alice.sayNumbered(i)
		alice.ExpectResponse(m.TID, msrp.StatusOK)
		bob.expectCopy(body)
	}
	// Three more at once: 403, and one notice, to alice only.
	var tids []string
	for i := 4; i <= 6; i++ {
		_, m := alice.sayNumbered(i)
		tids = append(tids, m.TID)
	}
	codes, reasons, notices := alice.answers(tids[2])
	if fmt.Sprint(codes) != "[403 403 403]" || reasons[0] != "Sending too fast" {
		t.Fatalf("answers %v %q, want three 403 Sending too fast", codes, reasons)
	}
	if len(notices) != 1 || !bytes.Contains([]byte(notices[0]), []byte("You are sending too fast")) ||
		!bytes.Contains([]byte(notices[0]), []byte("From: <"+roomURI("r")+">")) {
		t.Fatalf("notices %q, want one from the room saying alice is sending too fast", notices)
	}
	t.Logf("over the rate: %v %q; notice:\n%s", codes, reasons[0], notices[0])

	// Half a second: one token. Admitted, and relayed: bob's next copy is
	// m7, so m4 to m6 were not. Still the same episode: the next refusal
	// sends no notice.
	clk.Advance(500 * time.Millisecond)
	body7, _ := alice.sayNumbered(7)
	_, m8 := alice.sayNumbered(8)
	codes, _, notices = alice.answers(m8.TID)
	if fmt.Sprint(codes) != "[200 403]" || len(notices) != 0 {
		t.Fatalf("after 500 ms: answers %v, %d notices; want [200 403], none", codes, len(notices))
	}
	bob.expectCopy(body7)

	// Idle long enough to fill the bucket: the episode is over; the burst
	// goes through, and the next refusal is told again.
	clk.Advance(1500 * time.Millisecond)
	var ms []*msrp.Message
	for i := 9; i <= 12; i++ {
		_, m := alice.sayNumbered(i)
		ms = append(ms, m)
	}
	codes, _, notices = alice.answers(ms[3].TID)
	if fmt.Sprint(codes) != "[200 200 200 403]" || len(notices) != 0 {
		t.Fatalf("after refilling: answers %v, %d notices; want [200 200 200 403], no notice before the 403", codes, len(notices))
	}
	alice.expectNotice("You are sending too fast") // queued right after the 403 that starts the episode
	alice.ExpectSilence(50 * time.Millisecond)
	if st := h.sw.Stats(); st.RefusedRate != 5 || st.Refused < 5 {
		t.Fatalf("Stats %+v: want RefusedRate 5", st)
	}
	bob.ExpectRequest(msrp.MethodSEND) // m9
	bob.ExpectRequest(msrp.MethodSEND) // m10
	body11 := cpimMsg(alice.p.URI, alice.p.RoomURI, "m11")
	bob.expectCopy(body11)
	bob.ExpectSilence(50 * time.Millisecond) // no notice to bob, no m12
}

// The chunks of one message take one token; the later chunks of a first
// chunk refused for the rate are 413 (the switch does not track it).
func TestMessageRateCountsMessagesNotChunks(t *testing.T) {
	clk := clocktest.New(clocktest.Start)
	h := newHarness(t, defaultPolicy(), withRate(1, 2, clk))
	alice := h.join("r", "sip:alice@example.com")
	bob := h.join("r", "sip:bob@example.com")

	body := cpimMsg(alice.p.URI, alice.p.RoomURI, "a long message in three chunks")
	parts := [][]byte{body[:20], body[20:40], body[40:]}
	mid := msrp.NewMessageID()
	start := 1
	for i, part := range parts {
		flag := byte(msrp.FlagContinue)
		if i == len(parts)-1 {
			flag = msrp.FlagEnd
		}
		m := alice.chunk(mid, part, start, len(body), flag)
		alice.ExpectResponse(m.TID, msrp.StatusOK)
		start += len(part)
	}
	_, m := alice.sayNumbered(1) // the second token
	alice.ExpectResponse(m.TID, msrp.StatusOK)
	_, m = alice.sayNumbered(2)
	alice.ExpectResponse(m.TID, msrp.StatusForbidden)

	// A chunked message refused at its first chunk: its next chunk is 413.
	mid = msrp.NewMessageID()
	first := alice.chunk(mid, parts[0], 1, len(body), msrp.FlagContinue)
	alice.ExpectResponse(first.TID, msrp.StatusForbidden)
	next := alice.chunk(mid, parts[1], 21, len(body), msrp.FlagContinue)
	alice.ExpectResponse(next.TID, msrp.StatusStopSending)

	if got := bob.ExpectRequest(msrp.MethodSEND).Body; !bytes.Equal(got, body) {
		t.Fatalf("bob's first copy %q, want the chunked message whole", got)
	}
	bob.ExpectRequest(msrp.MethodSEND) // m1
	bob.ExpectSilence(50 * time.Millisecond)
	if st := h.sw.Stats(); st.RefusedRate != 2 {
		t.Fatalf("RefusedRate %d, want 2", st.RefusedRate)
	}
}

// A session from a RateExempt source is not held to the rate; with no
// rate set, nobody is.
func TestMessageRateExempt(t *testing.T) {
	for _, c := range []struct {
		name string
		opt  harnessOption
	}{
		{"exempt", withRate(1, 1, clocktest.New(clocktest.Start), "127.0.0.0/8")},
		{"off", withRate(0, 0, clocktest.New(clocktest.Start))},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, defaultPolicy(), c.opt)
			alice := h.join("r", "sip:alice@example.com")
			h.join("r", "sip:bob@example.com")
			for i := range 20 {
				_, m := alice.sayNumbered(i)
				alice.ExpectResponse(m.TID, msrp.StatusOK)
			}
			if st := h.sw.Stats(); st.RefusedRate != 0 {
				t.Fatalf("RefusedRate %d", st.RefusedRate)
			}
		})
	}
}

// A participant whose session moves (a re-INVITE: a new session, bound on
// a new connection) keeps its bucket: moving does not refill it.
func TestMessageRateSurvivesMove(t *testing.T) {
	clk := clocktest.New(clocktest.Start)
	h := newHarness(t, defaultPolicy(), withRate(1, 2, clk))
	alice := h.join("r", "sip:alice@example.com")
	h.join("r", "sip:bob@example.com")
	for i := range 2 {
		_, m := alice.sayNumbered(i)
		alice.ExpectResponse(m.TID, msrp.StatusOK)
	}
	// The new session of the same participant (the focus's handle is the
	// same dialog).
	self := msrp.URI{Host: "127.0.0.1", Port: 9, SessionID: msrp.NewSessionID(), Transport: "tcp"}
	sess, err := h.relay.NewSession([]msrp.URI{self}, NewAttachment(alice.hd))
	if err != nil {
		t.Fatal(err)
	}
	moved := &party{h: h, self: self, sw: sess.LocalURI(), p: alice.p, hd: alice.hd, sess: sess}
	moved.bind()
	body := cpimMsg(alice.p.URI, alice.p.RoomURI, "after the move")
	m := msrptest.Send(moved.sw, moved.self, "message/cpim", body)
	moved.Send(m)
	moved.ExpectResponse(m.TID, msrp.StatusForbidden)
	clk.Advance(time.Second)
	m = msrptest.Send(moved.sw, moved.self, "message/cpim", body)
	moved.Send(m)
	moved.ExpectResponse(m.TID, msrp.StatusOK)
}
