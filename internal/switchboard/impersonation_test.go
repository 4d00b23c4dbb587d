package switchboard

import (
	"testing"

	"github.com/parley-im/parley/msrp"
)

// TestImpersonationRefused (issue 17): the CPIM From of a regular message
// must be its sender's URI (RFC 7701 §6.1, compared as RFC 3261 §19.1.4
// compares SIP URIs). Another participant's URI in any spelling — the
// user part in capitals, a display name, URI parameters, the host in
// capitals, a percent-encoded user — is refused 403 and reaches nobody;
// the sender's own URI in the spellings that compare equal is accepted.
func TestImpersonationRefused(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")
	room := roomURI("chat")
	cpim := func(from, text string) []byte {
		return []byte("From: " + from + "\r\nTo: <" + room + ">\r\n\r\nContent-Type: text/plain\r\n\r\n" + text)
	}
	for _, from := range []string{
		"<sip:bob@example.com>",
		"<sip:BOB@example.com>",
		`"Bob" <sip:bob@example.com>`,
		"<sip:bob@EXAMPLE.COM;transport=tcp>",
		"<sip:%62ob@example.com>",
		"<sips:bob@example.com>",
		"<sip:bob@example.com:5060>",
	} {
		m := alice.say(cpim(from, "I am bob"))
		alice.ExpectResponse(m.TID, msrp.StatusForbidden)
	}
	for _, from := range []string{"<sip:alice@EXAMPLE.com>", `"Alice" <sip:alice@example.com>`, "<sip:alice@example.com;transport=tcp>", "<sip:%61lice@example.com>"} {
		body := cpim(from, "me, "+from)
		m := alice.say(body)
		alice.ExpectResponse(m.TID, msrp.StatusOK)
		bob.expectCopy(body)
	}
}
