package switchboard

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// chunk builds one chunk of message mid from pt: its octets start..start+len-1
// of total (total < 0: "*"), with flag.
func (pt *party) chunk(mid string, body []byte, start, total int, flag byte) *msrp.Message {
	tot := "*"
	if total >= 0 {
		tot = strconv.Itoa(total)
	}
	m := msrptest.Send(pt.sw, pt.self, "message/cpim", body,
		withRange(strconv.Itoa(start)+"-"+strconv.Itoa(start+len(body)-1)+"/"+tot), msrptest.WithFlag(flag))
	m.Header.Set(msrp.HeaderMessageID, mid)
	pt.Send(m)
	return m
}

// RFC 7701 §9.5: a private message in two chunks whose first chunk holds
// only part of the CPIM headers. The switch answers the first chunk, keeps
// it until the headers are complete, then routes the message and sends it
// on (here in one chunk, as it has all of it by then).
func TestChunkedPrivateRFC7701Example(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")
	carol := h.join("chat", "sip:carol@example.com")

	// The bodies of RFC 7701 §9.5 (its first chunk's '$' flag and shared tid
	// are errata: SPEC §14 item 10).
	c1 := []byte("To: <sip:bob@example.com>\r\nFrom: <sip:alice@example.com>\r\n")
	c2 := []byte("DateTime: 2009-03-02T15:02:31-03:00\r\nContent-Type: text/plain\r\n\r\nHello Bob")
	total := len(c1) + len(c2)
	m1 := alice.chunk("aft4to", c1, 1, total, '+')
	alice.ExpectResponse(m1.TID, 200)
	bob.ExpectSilence(silence) // nothing can be routed yet
	m2 := alice.chunk("aft4to", c2, len(c1)+1, total, '$')
	alice.ExpectResponse(m2.TID, 200)
	got := bob.expectCopy(append(append([]byte{}, c1...), c2...))
	if got.EndFlag() != '$' || got.Header.Get(msrp.HeaderByteRange) != byteRange(1, total, total) {
		t.Errorf("copy: flag %c, Byte-Range %s", got.EndFlag(), got.Header.Get(msrp.HeaderByteRange))
	}
	carol.ExpectSilence(silence)
	if n := h.sw.Transfers(); n != 0 {
		t.Errorf("%d transfers left", n)
	}
}

// RFC 7701 §6.1 items 6-8: once routed, every chunk is relayed at once to
// the recipients of the first, with the sender's Byte-Ranges, one
// Message-ID per message; a participant who joins meanwhile gets none of it.
func TestChunkedRegularFollowsFirstChunk(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")

	head := cpimMsg("sip:alice@example.com", roomURI("chat"), "part one, ")
	parts := [][]byte{head, []byte("part two, "), []byte("part three.")}
	total := len(head) + 10 + 11
	var copies []*msrp.Message
	start := 1
	var dave *party
	for i, p := range parts {
		flag := byte('+')
		if i == len(parts)-1 {
			flag = '$'
		}
		m := alice.chunk("msg-one", p, start, total, flag)
		alice.ExpectResponse(m.TID, 200)
		c := bob.expectCopy(p)
		if want := byteRange(start, start+len(p)-1, total); c.Header.Get(msrp.HeaderByteRange) != want {
			t.Errorf("chunk %d: Byte-Range %s, want %s", i, c.Header.Get(msrp.HeaderByteRange), want)
		}
		if c.EndFlag() != flag {
			t.Errorf("chunk %d: flag %c, want %c", i, c.EndFlag(), flag)
		}
		copies = append(copies, c)
		start += len(p)
		if i == 0 {
			dave = h.join("chat", "sip:dave@example.com")
		}
	}
	for _, c := range copies[1:] {
		if c.MessageID() != copies[0].MessageID() {
			t.Errorf("Message-IDs differ: %s, %s", c.MessageID(), copies[0].MessageID())
		}
	}
	dave.ExpectSilence(silence)
	if n := h.sw.Transfers(); n != 0 {
		t.Errorf("%d transfers left", n)
	}
}

// A recipient's 413 to a chunk stops only its own copy (RFC 4975 §7.3.1);
// the sender's abort ('#') reaches the others and ends the message.
func TestChunkedStopAndAbort(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")
	carol := h.join("chat", "sip:carol@example.com")

	head := cpimMsg("sip:alice@example.com", roomURI("chat"), "0123456789")
	m := alice.chunk("big-one", head, 1, -1, '+')
	alice.ExpectResponse(m.TID, 200)
	b := bob.expectCopy(head)
	carol.expectCopy(head)
	bob.Send(b.Response(msrp.StatusStopSending, ""))
	waitFor(t, "bob's copy stopped", func() bool {
		trs := h.sw.transfers.all()
		if len(trs) != 1 {
			return false
		}
		tr := trs[0]
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return tr.rcpts[0].stopped.Load() != tr.rcpts[1].stopped.Load()
	})

	next := []byte("more")
	m = alice.chunk("big-one", next, len(head)+1, -1, '+')
	alice.ExpectResponse(m.TID, 200)
	carol.expectCopy(next)
	bob.ExpectSilence(silence)

	m = alice.chunk("big-one", []byte("x"), len(head)+len(next)+1, -1, '#')
	alice.ExpectResponse(m.TID, 200)
	a := carol.ExpectRequest(msrp.MethodSEND)
	if a.EndFlag() != '#' {
		t.Fatalf("carol got flag %c, want the abort", a.EndFlag())
	}
	bob.ExpectSilence(silence)
	m = alice.chunk("big-one", []byte("late"), len(head)+len(next)+2, -1, '$')
	alice.ExpectResponse(m.TID, 413)
	if n := h.sw.Transfers(); n != 0 {
		t.Errorf("%d transfers left", n)
	}
}

// RFC 7701 §6.1 item 9: the chunk reception timer aborts a stalled message
// towards its recipients; a late chunk is answered 413.
func TestChunkTimer(t *testing.T) {
	h := newHarness(t, defaultPolicy(), func(_ *relay.Config, c *Config) { c.ChunkTimeout = 150 * time.Millisecond })
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")
	head := cpimMsg("sip:alice@example.com", roomURI("chat"), "start")
	m := alice.chunk("slow-one", head, 1, 100000, '+')
	alice.ExpectResponse(m.TID, 200)
	bob.expectCopy(head)
	a := bob.ExpectRequest(msrp.MethodSEND) // within the peer's read timeout
	if a.EndFlag() != '#' || len(a.Body) != 0 {
		t.Fatalf("got flag %c with %d octets, want an empty abort chunk", a.EndFlag(), len(a.Body))
	}
	if got, want := a.Header.Get(msrp.HeaderByteRange), strconv.Itoa(len(head)+1)+"-"+strconv.Itoa(len(head))+"/*"; got != want {
		t.Errorf("abort Byte-Range %s, want %s", got, want)
	}
	m = alice.chunk("slow-one", []byte("rest"), len(head)+1, 100000, '+')
	alice.ExpectResponse(m.TID, 413)
	if st := h.sw.Stats(); st.Aborted != 1 {
		t.Errorf("Aborted = %d", st.Aborted)
	}
}

// Messages over the room's maximum are refused when announced (413 on the
// first chunk) and stopped when they grow past it; a recipient's max-size
// skips it for a regular message and refuses a private one.
func TestMessageSizeLimits(t *testing.T) {
	pol := defaultPolicy()
	pol.MaxMessage = 1000
	h := newHarness(t, pol)
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")
	small := h.join("chat", "sip:carol@example.com", maxSize(100))

	head := cpimMsg("sip:alice@example.com", roomURI("chat"), "x")
	m := alice.chunk("grow-one", head, 1, -1, '+')
	alice.ExpectResponse(m.TID, 200)
	bob.expectCopy(head)
	small.expectCopy(head) // size unknown yet
	m = alice.chunk("grow-one", bytes.Repeat([]byte("y"), 1000), len(head)+1, -1, '+')
	alice.ExpectResponse(m.TID, 413)
	for _, pt := range []*party{bob, small} {
		if a := pt.ExpectRequest(msrp.MethodSEND); a.EndFlag() != '#' {
			t.Errorf("%s: flag %c, want abort", pt.p.URI, a.EndFlag())
		}
	}

	body := cpimMsg("sip:alice@example.com", roomURI("chat"), string(bytes.Repeat([]byte("z"), 200)))
	m = alice.say(body)
	alice.ExpectResponse(m.TID, 200)
	bob.expectCopy(body)
	small.ExpectSilence(silence)

	priv := cpimMsg("sip:alice@example.com", "sip:carol@example.com", string(bytes.Repeat([]byte("z"), 200)))
	m = alice.say(priv)
	alice.ExpectResponse(m.TID, 413)
	small.ExpectSilence(silence)
}

// RFC 7701 §9.5 as printed: the first chunk ends with '$' although its
// Byte-Range declares more (1-*/174). The switch reads it as "more follows",
// as msrp.Reassembler does, instead of refusing the cut-short CPIM headers.
func TestChunkedRFC7701ExampleAsPrinted(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")
	c1 := []byte("To: <sip:bob@example.com>\r\nFrom: <sip:alice@example.com>\r\n")
	c2 := []byte("DateTime: 2009-03-02T15:02:31-03:00\r\nContent-Type: text/plain\r\n\r\nHello Bob")
	total := len(c1) + len(c2)
	m1 := msrptest.Send(alice.sw, alice.self, "message/cpim", c1, withRange("1-*/"+strconv.Itoa(total)), msrptest.WithFlag('$'))
	m1.Header.Set(msrp.HeaderMessageID, "aft4to")
	alice.Send(m1)
	alice.ExpectResponse(m1.TID, 200)
	m2 := alice.chunk("aft4to", c2, len(c1)+1, total, '$')
	alice.ExpectResponse(m2.TID, 200)
	bob.expectCopy(append(append([]byte{}, c1...), c2...))
}

// RFC 4975 §7.1.1: the switch re-chunks what it relays, so
// every copy with more than 2048 octets of body is interruptible (range-end
// "*"), whatever range-end the sender wrote; a smaller copy states its end.
// Over the wire, whole messages and the chunks of a transfer alike.
func TestCopiesOver2048OctetsAreInterruptible(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")

	// Whole messages of 2048 and 2049 octets, with numeric range-ends.
	for _, n := range []int{2048, 2049, 5000} {
		head := cpimMsg("sip:alice@example.com", roomURI("chat"), "")
		body := append(head, bytes.Repeat([]byte("x"), n-len(head))...)
		m := alice.say(body, withRange(byteRange(1, n, n)))
		alice.ExpectResponse(m.TID, 200)
		c := bob.expectCopy(body)
		want := byteRange(1, n, n)
		if n > msrp.InterruptibleSize {
			want = "1-*/" + strconv.Itoa(n)
		}
		if got := c.Header.Get(msrp.HeaderByteRange); got != want {
			t.Errorf("%d octets: copy Byte-Range %s, want %s", n, got, want)
		}
	}

	// A chunked message: 3000 octets with an explicit range-end, then 10.
	head := cpimMsg("sip:alice@example.com", roomURI("chat"), "")
	first := append(head, bytes.Repeat([]byte("y"), 3000-len(head))...)
	last := []byte("0123456789")
	m1 := alice.chunk("big-one", first, 1, 3010, '+')
	alice.ExpectResponse(m1.TID, 200)
	c1 := bob.expectCopy(first)
	m2 := alice.chunk("big-one", last, 3001, 3010, '$')
	alice.ExpectResponse(m2.TID, 200)
	c2 := bob.expectCopy(last)
	if got := c1.Header.Get(msrp.HeaderByteRange); got != "1-*/3010" || c1.EndFlag() != '+' {
		t.Errorf("first copy: Byte-Range %s, flag %c; want 1-*/3010 +", got, c1.EndFlag())
	}
	if got := c2.Header.Get(msrp.HeaderByteRange); got != "3001-3010/3010" || c2.EndFlag() != '$' {
		t.Errorf("last copy: Byte-Range %s, flag %c; want 3001-3010/3010 $", got, c2.EndFlag())
	}
	// The recipient's Reassembler puts it back together from the bodies.
	ra := msrp.NewReassembler(1 << 20)
	if _, done, err := ra.Add(c1); done || err != nil {
		t.Fatalf("first copy: done %v, %v", done, err)
	}
	if got, done, err := ra.Add(c2); !done || err != nil || !bytes.Equal(got, append(append([]byte{}, first...), last...)) {
		t.Fatalf("reassembled %d octets, done %v, %v", len(got), done, err)
	}
}
