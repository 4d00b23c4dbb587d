package switchboard

import (
	"testing"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// typingCPIM is an RFC 3994 isComposing status wrapped in CPIM, as
// client.Session.SendComposing writes it.
func typingCPIM(from, to string) []byte {
	return []byte("From: <" + from + ">\r\nTo: <" + to + ">\r\n\r\n" +
		"Content-Type: application/im-iscomposing+xml\r\n\r\n" +
		`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>active</state><refresh>60</refresh></isComposing>` + "\n")
}

// Issue 6, RFC 3994 in a chat room: the switch relays typing indications
// like other content — to the room (everyone whose accept-wrapped-types
// admits application/im-iscomposing+xml, explicitly, by a wildcard or by
// having no a=accept-wrapped-types at all), or only to the private peer
// when the CPIM To names a participant. The sipsimple habit of sending them
// with Success-Report: no and Failure-Report: no gets no response at all.
func TestTypingIndications(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	explicit := h.join("chat", "sip:explicit@example.com", wrapped("text/plain application/im-iscomposing+xml"))
	star := h.join("chat", "sip:star@example.com", wrapped("text/plain *"))
	subtype := h.join("chat", "sip:subtype@example.com", wrapped("application/*"))
	noAttr := h.join("chat", "sip:noattr@example.com")
	plain := h.join("chat", "sip:plain@example.com", wrapped("text/plain"))

	room := typingCPIM("sip:alice@example.com", roomURI("chat"))
	m := alice.say(room)
	alice.ExpectResponse(m.TID, msrp.StatusOK)
	for _, pt := range []*party{explicit, star, subtype, noAttr} {
		pt.expectCopy(room)
	}
	plain.ExpectSilence(silence)

	// Private: only the named peer; a peer who does not accept the type
	// is skipped silently, as for any content (RFC 7701 §6.1).
	private := typingCPIM("sip:alice@example.com", "sip:star@example.com")
	m = alice.say(private)
	alice.ExpectResponse(m.TID, msrp.StatusOK)
	star.expectCopy(private)
	for _, pt := range []*party{explicit, subtype, noAttr, plain} {
		pt.ExpectSilence(silence)
	}
	toPlain := typingCPIM("sip:alice@example.com", "sip:plain@example.com")
	m = alice.say(toPlain)
	alice.ExpectResponse(m.TID, msrp.StatusOK)
	plain.ExpectSilence(silence)

	// sipsimple's reports: no response, and the copies still go out.
	noReports := typingCPIM("sip:alice@example.com", roomURI("chat"))
	alice.say(noReports, msrptest.WithHeader(msrp.HeaderSuccessReport, "no"), msrptest.WithHeader(msrp.HeaderFailureReport, "no"))
	explicit.expectCopy(noReports)
	alice.ExpectSilence(silence)

	// A text message after the indications reaches plain too.
	text := cpimMsg("sip:alice@example.com", roomURI("chat"), "typed it")
	m = alice.say(text)
	alice.ExpectResponse(m.TID, msrp.StatusOK)
	plain.expectCopy(text)
}
