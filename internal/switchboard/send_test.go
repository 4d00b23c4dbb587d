package switchboard

import (
	"bytes"
	"testing"
	"time"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

const silence = 100 * time.Millisecond

// RFC 7701 §6.1: a regular message goes, byte for byte, to every other
// participant and not back to its sender, which gets its 200 hop by hop.
func TestRegularMessage(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")
	carol := h.join("chat", "sip:carol@example.com")

	body := cpimMsg("sip:alice@example.com", roomURI("chat"), "Hello, room!")
	m := alice.say(body)
	alice.ExpectResponse(m.TID, msrp.StatusOK)
	b := bob.expectCopy(body)
	c := carol.expectCopy(body)
	alice.ExpectSilence(silence)

	if b.MessageID() == "" || b.MessageID() != c.MessageID() {
		t.Errorf("copies' Message-IDs %q, %q: want one shared id", b.MessageID(), c.MessageID())
	}
	if b.MessageID() == m.MessageID() {
		t.Errorf("copies reuse the sender's Message-ID")
	}
	if got := b.Header.Get(msrp.HeaderByteRange); got != byteRange(1, len(body), len(body)) {
		t.Errorf("Byte-Range = %q", got)
	}
	if b.TID == c.TID {
		t.Errorf("two copies share tid %q", b.TID)
	}
	// The recipients' 200s and REPORTs are consumed, never forwarded.
	bob.Send(b.Response(msrp.StatusOK, ""))
	bob.Send(msrptest.Report(bob.sw, bob.self, b.MessageID(), msrp.StatusOK, msrp.ByteRange{Start: 1, End: int64(len(body)), Total: int64(len(body))}))
	alice.ExpectSilence(silence)
	carol.ExpectSilence(silence)
}

// withRange replaces the Byte-Range a builder set.
func withRange(v string) msrptest.Option {
	return func(m *msrp.Message) { m.Header.Set(msrp.HeaderByteRange, v) }
}

func byteRange(start, end, total int) string {
	return msrp.ByteRange{Start: int64(start), End: int64(end), Total: int64(total)}.String()
}

// RFC 7701 §6.3 and SPEC §14 item 4: the codes of a refused SEND, each sent
// to nobody.
func TestSendRefusals(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com", noPrivate)
	carol := h.join("chat", "sip:carol@example.com")
	room := roomURI("chat")

	cases := []struct {
		name string
		msg  *msrp.Message
		code int
	}{
		{"not cpim", msrptest.Send(alice.sw, alice.self, "text/plain", []byte("hi")), 415},
		{"From not the sender", msrptest.Send(alice.sw, alice.self, "message/cpim", cpimMsg("sip:mallory@example.com", room, "hi")), 403},
		{"no From", msrptest.Send(alice.sw, alice.self, "message/cpim", []byte("To: <"+room+">\r\n\r\nContent-Type: text/plain\r\n\r\nhi")), 403},
		{"no To", msrptest.Send(alice.sw, alice.self, "message/cpim", []byte("From: <sip:alice@example.com>\r\n\r\nContent-Type: text/plain\r\n\r\nhi")), 403},
		{"two To", msrptest.Send(alice.sw, alice.self, "message/cpim", []byte("From: <sip:alice@example.com>\r\nTo: <sip:bob@example.com>\r\nTo: <sip:carol@example.com>\r\n\r\nContent-Type: text/plain\r\n\r\nhi")), 403},
		{"unknown recipient", msrptest.Send(alice.sw, alice.self, "message/cpim", cpimMsg("sip:alice@example.com", "sip:dave@example.com", "hi")), 404},
		{"recipient without private-messages", msrptest.Send(alice.sw, alice.self, "message/cpim", cpimMsg("sip:alice@example.com", "sip:bob@example.com", "hi")), 428},
		{"cpim cut short", msrptest.Send(alice.sw, alice.self, "message/cpim", []byte("From: <sip:alice@example.com>\r\nTo: <"+room+">\r\n")), 400},
		{"bad cpim header", msrptest.Send(alice.sw, alice.self, "message/cpim", []byte("From <sip:alice@example.com>\r\nTo: <"+room+">\r\n\r\nContent-Type: text/plain\r\n\r\nhi")), 400},
		{"chunk of an unknown message", msrptest.Send(alice.sw, alice.self, "message/cpim", []byte("tail"), withRange("5-8/8")), 413},
		{"over the room's maximum", msrptest.Send(alice.sw, alice.self, "message/cpim", cpimMsg("sip:alice@example.com", room, "x"), withRange("1-*/2000000"), msrptest.WithFlag('+')), 413},
	}
	for _, c := range cases {
		alice.Send(c.msg)
		r := alice.ExpectResponse(c.msg.TID, c.code)
		if r.Comment == "" {
			t.Errorf("%s: response without reason phrase", c.name)
		}
	}
	bob.ExpectSilence(silence)
	carol.ExpectSilence(silence)

	// Failure-Report: no silences even errors; partial silences only 200.
	m := msrptest.Send(alice.sw, alice.self, "text/plain", []byte("hi"), msrptest.WithHeader(msrp.HeaderFailureReport, "no"))
	alice.Send(m)
	alice.ExpectSilence(silence)
	ok := alice.say(cpimMsg("sip:alice@example.com", room, "fine"), msrptest.WithHeader(msrp.HeaderFailureReport, "partial"))
	carol.expectCopy(ok.Body)
	alice.ExpectSilence(silence)
}

// SPEC §14 item 4: a room without private messages refuses them with 403,
// but an unknown recipient is still 404.
func TestPrivateNotAllowed(t *testing.T) {
	pol := defaultPolicy()
	pol.PrivateMessages = false
	h := newHarness(t, pol)
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")
	m := alice.say(cpimMsg("sip:alice@example.com", "sip:bob@example.com", "psst"))
	alice.ExpectResponse(m.TID, 403)
	m = alice.say(cpimMsg("sip:alice@example.com", "sip:nobody@example.com", "psst"))
	alice.ExpectResponse(m.TID, 404)
	bob.ExpectSilence(silence)
}

// RFC 7701 §6.2: a private message goes to every session of its recipient
// (two devices), to nobody else, and the sender's other device gets no
// copy of a regular message (SPEC §14 item 7).
func TestPrivateMessageTwoDevices(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	alice2 := h.join("chat", "sip:alice@example.com")
	bob1 := h.join("chat", "sip:bob@example.com")
	bob2 := h.join("chat", "sip:bob@example.com")
	carol := h.join("chat", "sip:carol@example.com")

	body := []byte("From: Alice <sip:alice@example.com>\r\nTo: Bob <sip:bob@example.com>\r\n\r\nContent-Type: text/plain\r\n\r\njust for you")
	m := alice.say(body)
	alice.ExpectResponse(m.TID, 200)
	bob1.expectCopy(body)
	bob2.expectCopy(body)
	carol.ExpectSilence(silence)
	alice2.ExpectSilence(silence)

	reg := cpimMsg("sip:alice@example.com", roomURI("chat"), "all")
	m = alice.say(reg)
	alice.ExpectResponse(m.TID, 200)
	bob1.expectCopy(reg)
	bob2.expectCopy(reg)
	carol.expectCopy(reg)
	alice2.ExpectSilence(silence)

	// A private message to oneself reaches one's other devices only.
	self := cpimMsg("sip:alice@example.com", "sip:alice@example.com", "note to self")
	m = alice.say(self)
	alice.ExpectResponse(m.TID, 200)
	alice2.expectCopy(self)
	alice.ExpectSilence(silence)
}

// RFC 7701 §6.1: recipients whose accept-wrapped-types exclude the wrapped
// type are skipped silently; the sender still gets 200.
func TestAcceptWrappedTypes(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	textOnly := h.join("chat", "sip:bob@example.com", wrapped("text/plain"))
	any := h.join("chat", "sip:carol@example.com", wrapped("*"))
	unknown := h.join("chat", "sip:dave@example.com")

	html := []byte("From: <sip:alice@example.com>\r\nTo: <" + roomURI("chat") + ">\r\n\r\nContent-Type: text/html\r\n\r\n<b>hi</b>")
	m := alice.say(html)
	alice.ExpectResponse(m.TID, 200)
	any.expectCopy(html)
	unknown.expectCopy(html)
	textOnly.ExpectSilence(silence)
}

// RFC 7701 §6.3, SPEC §14 item 5: the switch sends the success REPORT
// itself, after its 200.
func TestSuccessReport(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")
	body := cpimMsg("sip:alice@example.com", roomURI("chat"), "report me")
	m := alice.say(body, msrptest.WithHeader(msrp.HeaderSuccessReport, "yes"))
	alice.ExpectResponse(m.TID, 200)
	r := alice.ExpectRequest(msrp.MethodREPORT)
	if st := r.Header.Get(msrp.HeaderStatus); st != "000 200 OK" {
		t.Errorf("Status = %q", st)
	}
	if got, want := r.Header.Get(msrp.HeaderByteRange), byteRange(1, len(body), len(body)); got != want {
		t.Errorf("Byte-Range = %q, want %q", got, want)
	}
	if r.MessageID() != m.MessageID() {
		t.Errorf("REPORT Message-ID = %q, want %q", r.MessageID(), m.MessageID())
	}
	bob.expectCopy(body)
}

// The system messages: join and leave notices from the room URI.
func TestNotices(t *testing.T) {
	pol := defaultPolicy()
	pol.SystemMessages = true
	h := newHarness(t, pol)
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")
	n := alice.ExpectRequest(msrp.MethodSEND)
	checkCopy(t, alice, n)
	for _, want := range []string{"From: <" + roomURI("chat") + ">", "To: <" + roomURI("chat") + ">", "sip:bob@example.com joined the room"} {
		if !bytes.Contains(n.Body, []byte(want)) {
			t.Errorf("join notice lacks %q:\n%s", want, n.Body)
		}
	}
	bob.ExpectSilence(silence) // not told about itself
	bob.leave()
	n = alice.ExpectRequest(msrp.MethodSEND)
	if !bytes.Contains(n.Body, []byte("sip:bob@example.com left the room")) {
		t.Errorf("leave notice:\n%s", n.Body)
	}
}

// With system messages off (the default of these tests) nobody hears of
// joins; a participant who left gets nothing more.
func TestLeaveStopsDelivery(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")
	alice.ExpectSilence(silence)
	bob.leave()
	bob.ExpectClosed()
	m := alice.say(cpimMsg("sip:alice@example.com", "sip:bob@example.com", "still there?"))
	alice.ExpectResponse(m.TID, 404)
}

// RFC 4975 §12: a method the switch does not know is answered 501; a
// REPORT from a participant is never answered nor forwarded.
func TestUnknownMethodAndReport(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")
	m := msrptest.Bodiless(alice.sw, alice.self)
	m.Method = "FOO"
	alice.Send(m)
	alice.ExpectResponse(m.TID, 501)
	alice.Send(msrptest.Report(alice.sw, alice.self, "abcd1234", 200, msrp.ByteRange{Start: 1, End: 5, Total: 5}))
	alice.ExpectSilence(silence)
	bob.ExpectSilence(silence)
}

// The room under another of its ports (parleyd's UDP and TCP listeners) is
// the room; the same user at another host is a stranger (404).
func TestRoomURIOnAnotherPort(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")
	body := cpimMsg("sip:alice@example.com", "sip:chat@"+testHost+":5070;transport=tcp", "via TCP")
	m := alice.say(body)
	alice.ExpectResponse(m.TID, 200)
	bob.expectCopy(body)
	m = alice.say(cpimMsg("sip:alice@example.com", "sip:chat@elsewhere.example.com", "?"))
	alice.ExpectResponse(m.TID, 404)
	bob.ExpectSilence(silence)
}

// SPEC §14 item 13: a conference-unaware participant (no a=chatroom) will
// not subscribe to the roster, so when it arrives the room tells it, as a
// text message, who is there (nicknames with their URIs).
func TestRosterNoticeForUnawareParticipant(t *testing.T) {
	pol := defaultPolicy()
	pol.SystemMessages = true
	h := newHarness(t, pol)
	alice := h.join("chat", "sip:alice@example.com")
	alice.nick("Ally", 200)
	carol := h.join("chat", "sip:carol@example.com")
	alice.ExpectRequest(msrp.MethodSEND) // carol joined
	old := h.joinUnbound("chat", "sip:old@example.com", unaware)
	// Binding: the notice is queued as the session binds, so it may come
	// before the bind's 200.
	old.Peer = msrptest.Dial(t, h.relay.Addr().String(), old.self)
	b := msrptest.Bodiless(old.sw, old.self)
	old.Send(b)
	var n *msrp.Message
	for range 2 {
		m := old.Expect()
		if m.Method == msrp.MethodSEND {
			n = m
		} else if m.TID != b.TID || m.Code != msrp.StatusOK {
			t.Fatalf("bind answered %d", m.Code)
		}
	}
	for _, want := range []string{"From: <" + roomURI("chat") + ">", "Also here: Ally (sip:alice@example.com), sip:carol@example.com."} {
		if n == nil || !bytes.Contains(n.Body, []byte(want)) {
			t.Fatalf("roster notice lacks %q:\n%v", want, n)
		}
	}
	old.ExpectSilence(silence)
	// Chat-room-aware participants get only the join notice.
	for _, pt := range []*party{alice, carol} {
		if n := pt.ExpectRequest(msrp.MethodSEND); !bytes.Contains(n.Body, []byte("sip:old@example.com joined")) {
			t.Errorf("join notice:\n%s", n.Body)
		}
		pt.ExpectSilence(silence)
	}
}
