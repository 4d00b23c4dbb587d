package switchboard

import "testing"

// draft-niemi-00 §4.2 with the multiple_private policy: several To and cc
// headers name several participants; each gets the message once (all of
// its sessions), nobody else gets it, and an unknown name refuses the
// whole message (404) as RFC 7701 §6.2 does for one.
func TestMultiplePrivate(t *testing.T) {
	pol := defaultPolicy()
	pol.MultiplePrivate = true
	h := newHarness(t, pol)
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")
	bob2 := h.join("chat", "sip:bob@example.com")
	carol := h.join("chat", "sip:carol@example.com")
	dave := h.join("chat", "sip:dave@example.com")
	erin := h.join("chat", "sip:erin@example.com")

	body := []byte("From: <sip:alice@example.com>\r\nTo: <sip:bob@example.com>\r\nTo: <sip:carol@example.com>\r\n" +
		"cc: <sip:dave@example.com>\r\ncc: <sip:bob@example.com>\r\n\r\nContent-Type: text/plain\r\n\r\nthe three of you")
	m := alice.say(body)
	alice.ExpectResponse(m.TID, 200)
	bob.expectCopy(body)
	bob2.expectCopy(body)
	carol.expectCopy(body)
	dave.expectCopy(body)
	erin.ExpectSilence(silence)
	bob.ExpectSilence(silence) // named twice, delivered once

	unknown := []byte("From: <sip:alice@example.com>\r\nTo: <sip:bob@example.com>\r\ncc: <sip:nobody@example.com>\r\n\r\nContent-Type: text/plain\r\n\r\nx")
	m = alice.say(unknown)
	alice.ExpectResponse(m.TID, 404)

	mixed := []byte("From: <sip:alice@example.com>\r\nTo: <" + roomURI("chat") + ">\r\ncc: <sip:bob@example.com>\r\n\r\nContent-Type: text/plain\r\n\r\nx")
	m = alice.say(mixed)
	alice.ExpectResponse(m.TID, 403)
	bob.ExpectSilence(silence)
	carol.ExpectSilence(silence)
}

// Without the policy (the RFC 7701 default) several To are 403 and cc is
// ignored: a message To one participant with a cc reaches only the To.
func TestMultiplePrivateOff(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")
	carol := h.join("chat", "sip:carol@example.com")

	two := []byte("From: <sip:alice@example.com>\r\nTo: <sip:bob@example.com>\r\nTo: <sip:carol@example.com>\r\n\r\nContent-Type: text/plain\r\n\r\nx")
	m := alice.say(two)
	alice.ExpectResponse(m.TID, 403)

	cc := []byte("From: <sip:alice@example.com>\r\nTo: <sip:bob@example.com>\r\ncc: <sip:carol@example.com>\r\n\r\nContent-Type: text/plain\r\n\r\nx")
	m = alice.say(cc)
	alice.ExpectResponse(m.TID, 200)
	bob.expectCopy(cc)
	carol.ExpectSilence(silence)
}
