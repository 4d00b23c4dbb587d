package switchboard

import (
	"testing"

	"github.com/parley-im/parley/msrp"
)

// draft-niemi-00 §4.2, §4.3: a nickname's IM URI addresses a private
// message to the sessions holding it, and its holder may write it as CPIM
// From; the copies carry it unchanged. Released, it names nobody.
func TestNicknameIMURI(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	alice := h.join("chat", "sip:alice@example.com")
	bob := h.join("chat", "sip:bob@example.com")
	bob2 := h.join("chat", "sip:bob@example.com") // bob's other device, without the nickname
	carol := h.join("chat", "sip:carol@example.com")
	ghost := h.join("chat", "sip:secret@example.com", anonymous)

	bob.nick("Bobby", 200)
	ghost.nick("Ghost", 200)
	bobby := h.sw.Nicknames().URIOf(bob.p)
	if bobby != "im:bobby@parley.invalid" {
		t.Fatalf("bob's IM URI %q", bobby)
	}
	ghostURI := h.sw.Nicknames().URIOf(ghost.p)

	// Private, To the IM URI: the session holding the nickname only.
	body := cpimMsg("sip:alice@example.com", bobby, "psst, Bobby")
	m := alice.say(body)
	alice.ExpectResponse(m.TID, msrp.StatusOK)
	bob.expectCopy(body)
	bob2.ExpectSilence(silence)
	carol.ExpectSilence(silence)

	// From its own IM URI, display name and all: accepted, kept as is.
	body = []byte("From: \"Bobby\" <" + bobby + ">\r\nTo: <" + roomURI("chat") + ">\r\n\r\nContent-Type: text/plain\r\n\r\nhi all")
	m = bob.say(body)
	bob.ExpectResponse(m.TID, msrp.StatusOK)
	alice.expectCopy(body)
	carol.expectCopy(body)
	ghost.expectCopy(body)
	bob2.ExpectSilence(silence)

	// An anonymous sender's IM URI is kept too (it reveals nothing), and
	// a private message may go from IM URI to IM URI.
	body = cpimMsg(ghostURI, bobby, "boo")
	m = ghost.say(body)
	ghost.ExpectResponse(m.TID, msrp.StatusOK)
	bob.expectCopy(body)

	// Someone else's IM URI is no From.
	m = carol.say(cpimMsg(bobby, roomURI("chat"), "I am Bobby"))
	carol.ExpectResponse(m.TID, msrp.StatusForbidden)
	m = bob2.say(cpimMsg(bobby, roomURI("chat"), "so am I"))
	bob2.ExpectResponse(m.TID, msrp.StatusForbidden) // same user, but this session does not hold it

	// Removed, the nickname's URI names nobody and is no From.
	bob.nick("", 200)
	m = alice.say(cpimMsg("sip:alice@example.com", bobby, "still there?"))
	alice.ExpectResponse(m.TID, msrp.StatusRecipientNotFound)
	m = bob.say(cpimMsg(bobby, roomURI("chat"), "bye"))
	bob.ExpectResponse(m.TID, msrp.StatusForbidden)
	// Leaving releases it as well.
	ghost.leave()
	m = alice.say(cpimMsg("sip:alice@example.com", ghostURI, "gone?"))
	alice.ExpectResponse(m.TID, msrp.StatusRecipientNotFound)
	bob.ExpectSilence(silence)
	bob2.ExpectSilence(silence)
}
