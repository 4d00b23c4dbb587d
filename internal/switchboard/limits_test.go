package switchboard

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/msrp"
)

// Issue 14: what one participant can do to the switch and to the others.
// Each test plays an attack measured against parleyd from outside, on a
// relay and switch on loopback, and logs what it measured.

// deaf makes pt's connection stop taking data (a tiny receive buffer, and
// nobody reads it), so that what the switch sends it piles up in its queue.
func deaf(t *testing.T, pt *party) {
	t.Helper()
	if err := pt.Conn().(*net.TCPConn).SetReadBuffer(1024); err != nil {
		t.Fatal(err)
	}
}

// startChunked sends the first chunk (flag '+', total unknown) of a new
// chunked message and returns the code of its answer and its reason phrase.
func (pt *party) startChunked(mid string, body []byte) (int, string) {
	pt.h.t.Helper()
	m := pt.chunk(mid, body, 1, -1, '+')
	r := pt.Expect()
	if r.TID != m.TID {
		pt.h.t.Fatalf("answer to %s, want %s", r.TID, m.TID)
	}
	return r.Code, r.Comment
}

// victims returns how many of pts ended (closed by the relay).
func (h *harness) victims(pts []*party) int {
	n := 0
	for _, e := range h.endedWith() {
		for _, pt := range pts {
			if e.h == pt.hd {
				n++
			}
		}
	}
	return n
}

// One participant can no longer disconnect others (issue 14): it starts
// many chunked messages to a room whose members do not read, then hangs
// up. The first chunks are offered (dropped once a member is congested),
// and so are the aborts that end them, for the copies that went out and
// when the sender leaves: no member is pushed over its queue cap, none is
// closed. Two variants: with the default limit on unfinished messages
// (16: the 17th is refused 413), and with it out of the way, so that the
// aborts alone are on trial.
//
// Before (aborts queued past the congestion mark, no limit): every member
// was closed as a slow consumer (10 of 10 here; 17 of 40 against parleyd).
func TestAbortsCannotCloseOthers(t *testing.T) {
	for _, c := range []struct {
		name  string
		limit int
	}{{"default-limit", 0}, {"no-limit", 1 << 20}} {
		t.Run(c.name, func(t *testing.T) {
			const (
				members  = 10
				messages = 600
			)
			h := newHarness(t, defaultPolicy(), func(r *relay.Config, s *Config) {
				r.MaxPendingBytes = 256 << 10 // congested at 204.8 KiB
				r.CongestionTimeout = time.Minute
				r.WriteTimeout = time.Minute
				s.MaxUnfinished = c.limit
			})
			attacker := h.join("chat", "sip:mallory@example.com")
			var others []*party
			for i := range members {
				pt := h.join("chat", fmt.Sprintf("sip:m%02d@example.com", i))
				deaf(t, pt)
				others = append(others, pt)
			}
			head := cpimMsg(attacker.p.URI, roomURI("chat"), strings.Repeat("z", 8<<10))
			accepted, refused := 0, 0
			for i := range messages {
				switch code, _ := attacker.startChunked(fmt.Sprintf("msg-%04d", i), head); code {
				case msrp.StatusOK:
					accepted++
				case msrp.StatusStopSending:
					refused++
				default:
					t.Fatalf("first chunk %d answered %d", i, code)
				}
			}
			attacker.Close() // hangs up: every unfinished message is aborted
			waitFor(t, "the attacker's session to end", func() bool { return h.victims([]*party{attacker}) == 1 })
			waitFor(t, "its transfers to go", func() bool { return h.sw.Transfers() == 0 })
			closed := h.victims(others)
			rs, st := h.relay.Stats(), h.sw.Stats()
			t.Logf("%d chunked messages started (%d accepted, %d refused 413), sender hung up: %d of %d members closed (slow consumer %d, congested %d); copies dropped %d (aborts %d)",
				messages, accepted, refused, closed, members, rs.ConnsClosed[relay.CloseSlowConsumer], rs.ConnsClosed[relay.CloseCongested], st.DroppedCongested, st.DroppedAborts)
			if closed != 0 || rs.ConnsClosed[relay.CloseSlowConsumer] != 0 {
				t.Fatalf("%d members closed, %d slow consumers: a sender pushed others over their queue cap", closed, rs.ConnsClosed[relay.CloseSlowConsumer])
			}
			for _, pt := range others {
				if !pt.sess.Bound() {
					t.Errorf("%s is no longer bound", pt.p.URI)
				}
			}
		})
	}
}

// Unbounded state per sender (issue 14): 2,000 chunked messages whose
// first chunk (16 KiB) holds only part of the CPIM headers. The switch
// keeps at most MaxUnfinished of them; the others are refused 413 with a
// reason phrase. Before: every one was kept (for the 540 s chunk timer),
// its chunk buffered at twice its size: 10,000 cost 335 MB in parleyd.
func TestUnfinishedPerSenderBounded(t *testing.T) {
	const messages = 2000
	h := newHarness(t, defaultPolicy())
	attacker := h.join("chat", "sip:mallory@example.com")
	_ = h.join("chat", "sip:bob@example.com")
	// CPIM headers that do not end: no blank line.
	var b strings.Builder
	b.WriteString("From: <sip:mallory@example.com>\r\nTo: <" + roomURI("chat") + ">\r\n")
	for b.Len() < maxPendingHeader-100 {
		b.WriteString("X-Pad: " + strings.Repeat("p", 90) + "\r\n")
	}
	head := []byte(b.String())

	start := liveHeap()
	accepted, refused := 0, 0
	var reason string
	for i := range messages {
		switch code, comment := attacker.startChunked(fmt.Sprintf("unf-%04d", i), head); code {
		case msrp.StatusOK:
			accepted++
		case msrp.StatusStopSending:
			refused++
			reason = comment
		default:
			t.Fatalf("first chunk %d answered %d %s", i, code, comment)
		}
	}
	held := h.sw.Transfers()
	holding := liveHeap()
	// What the kept messages cost: the live heap they free when their
	// sender leaves (the heap before the attack moves with the garbage of
	// earlier tests; this difference does not).
	attacker.leave()
	waitFor(t, "the transfers to go", func() bool { return h.sw.Transfers() == 0 })
	freed := int64(holding) - int64(liveHeap())
	t.Logf("%d first chunks of %d octets: %d kept, %d refused 413 %q; live heap while kept +%d KB from the start; freed when the sender left: %d KB, %d B per kept message (%d B per message sent)",
		messages, len(head), held, refused, reason, (int64(holding)-int64(start))/1000, freed/1000, freed/int64(max(held, 1)), freed/messages)
	if held != DefaultMaxUnfinished || accepted != DefaultMaxUnfinished || refused != messages-DefaultMaxUnfinished {
		t.Fatalf("kept %d, accepted %d, refused %d; want %d, %d, %d", held, accepted, refused, DefaultMaxUnfinished, DefaultMaxUnfinished, messages-DefaultMaxUnfinished)
	}
	if reason != reasonUnfinishedCount {
		t.Errorf("reason phrase %q, want %q", reason, reasonUnfinishedCount)
	}
	if st := h.sw.Stats(); st.RefusedUnfinished != uint64(refused) {
		t.Errorf("RefusedUnfinished = %d, want %d", st.RefusedUnfinished, refused)
	}
}

// A first chunk whose CPIM headers are incomplete is kept at its size, not
// at twice it (issue 14).
func TestFirstChunkKeptAtItsSize(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	_ = h.join("chat", "sip:bob@example.com")
	head := []byte("From: <sip:alice@example.com>\r\nTo: <" + roomURI("chat") + ">\r\nX-Pad: " + strings.Repeat("q", 3000) + "\r\n")
	if code, _ := alice.startChunked("kept-1", head); code != msrp.StatusOK {
		t.Fatalf("answered %d", code)
	}
	trs := h.sw.transfers.all()
	if len(trs) != 1 {
		t.Fatalf("%d transfers", len(trs))
	}
	trs[0].mu.Lock()
	c := cap(trs[0].head)
	trs[0].mu.Unlock()
	t.Logf("first chunk of %d octets kept in %d", len(head), c)
	if c != len(head) {
		t.Fatalf("first chunk of %d octets kept in %d", len(head), c)
	}
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// The bytes limit: a first chunk that would take the sender's unfinished
// messages over MaxUnfinishedBytes is refused 413, and a later chunk that
// would is refused and its message aborted; finishing a message frees its
// share.
func TestUnfinishedBytesLimit(t *testing.T) {
	h := newHarness(t, defaultPolicy(), func(_ *relay.Config, s *Config) { s.MaxUnfinishedBytes = 10 << 10 })
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")
	first := cpimMsg(alice.p.URI, roomURI("chat"), strings.Repeat("a", 6<<10))
	if code, _ := alice.startChunked("one-1", first); code != msrp.StatusOK {
		t.Fatalf("first message answered %d", code)
	}
	bob.expectCopy(first)
	code, reason := alice.startChunked("two-2", first)
	if code != msrp.StatusStopSending || reason != reasonUnfinishedBytes {
		t.Fatalf("second message answered %d %q, want 413 %q", code, reason, reasonUnfinishedBytes)
	}
	// "one" grows past the limit: refused, and aborted towards bob.
	m := alice.chunk("one-1", bytes.Repeat([]byte("b"), 5<<10), len(first)+1, -1, '+')
	r := alice.ExpectResponse(m.TID, msrp.StatusStopSending)
	if r.Comment != reasonUnfinishedBytes {
		t.Errorf("reason phrase %q", r.Comment)
	}
	if a := bob.ExpectRequest(msrp.MethodSEND); a.EndFlag() != msrp.FlagAbort {
		t.Fatalf("bob got flag %c, want the abort", a.EndFlag())
	}
	// Its share is free again: "two" starts.
	if code, _ := alice.startChunked("two-2", first); code != msrp.StatusOK {
		t.Fatalf("after the abort, a new message answered %d", code)
	}
	if st := h.sw.Stats(); st.RefusedUnfinished != 2 {
		t.Errorf("RefusedUnfinished = %d, want 2", st.RefusedUnfinished)
	}
}

// Targeted kick (issue 14): a burst of private messages to one member that
// reads slowly used to close it as a slow consumer, because private copies
// were queued past the congestion mark. Now they are dropped and counted
// like regular copies (RFC 7701 §6.4), the member gets the congestion
// notice (once per congestion episode), and it stays.
func TestPrivateBurstDoesNotCloseRecipient(t *testing.T) {
	pol := defaultPolicy()
	pol.SystemMessages = true
	h := newHarness(t, pol, func(r *relay.Config, _ *Config) {
		r.MaxPendingBytes = 256 << 10
		r.CongestionTimeout = time.Minute
		r.WriteTimeout = time.Minute
	})
	attacker := h.join("chat", "sip:mallory@example.com")
	victim := h.join("chat", "sip:bob@example.com")
	attacker.ExpectRequest(msrp.MethodSEND) // bob's join notice
	// bob does not read (until the end), with its default receive buffer.
	// Until the member's queue is congested (the kernel takes some
	// megabytes first), then 100 more: at most 80 MB.
	const after, maxBurst = 100, 10_000
	text := strings.Repeat("k", 8<<10)
	burst, congestedAt := 0, -1
	for ; congestedAt < 0 || burst < congestedAt+after; burst++ {
		if burst == maxBurst {
			t.Fatalf("not congested after %d messages", burst)
		}
		if congestedAt < 0 && h.relay.Stats().Congested > 0 {
			congestedAt = burst
		}
		m := attacker.say(cpimMsg(attacker.p.URI, victim.p.URI, text))
		attacker.ExpectResponse(m.TID, msrp.StatusOK)
	}
	st, rs := h.sw.Stats(), h.relay.Stats()
	closed := h.victims([]*party{victim})
	t.Logf("%d private messages of %d octets to a member that does not read (congested after %d): %d closed; %d copies dropped (%d private), relay slow consumers %d",
		burst, len(text), congestedAt, closed, st.DroppedCongested, st.DroppedPrivate, rs.ConnsClosed[relay.CloseSlowConsumer])
	if closed != 0 || !victim.sess.Bound() {
		t.Fatalf("the recipient was closed: %v", h.endedWith())
	}
	if st.DroppedPrivate == 0 || st.DroppedPrivate != st.DroppedCongested {
		t.Errorf("DroppedPrivate %d, DroppedCongested %d: want equal and > 0", st.DroppedPrivate, st.DroppedCongested)
	}
	// It reads now: copies and exactly one congestion notice.
	copies, notices := 0, 0
	for copies+int(st.DroppedPrivate) < burst || notices == 0 {
		m, err := victim.Next()
		if err != nil {
			t.Fatalf("after %d copies and %d notices (%d dropped, %d sent): %v", copies, notices, st.DroppedPrivate, burst, err)
		}
		switch {
		case bytes.Contains(m.Body, []byte("messages to you are being discarded")):
			notices++
		case bytes.Contains(m.Body, []byte(text[:100])):
			copies++
		default:
			t.Fatalf("unexpected message:\n%s", m.Body)
		}
	}
	// One per congestion episode (an episode ends when the queue drains to
	// half the mark, which the kernel's growing buffers may allow).
	if episodes := h.relay.Stats().Congested; notices < 1 || uint64(notices) > episodes {
		t.Errorf("%d congestion notices in %d congestion episodes", notices, episodes)
	}
}
