package switchboard

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/parley-im/parley/msrp"
)

// An anonymous participant's identity never reaches the others (RFC 7701
// §5.2, §6.1): a CPIM From naming it is rewritten to its anonymous URI, the
// display name dropped; it is addressed by its anonymous URI only, and its
// join notice shows only that URI.
func TestAnonymousSender(t *testing.T) {
	pol := defaultPolicy()
	pol.SystemMessages = true
	h := newHarness(t, pol)
	bob := h.join("chat", "sip:bob@example.com")
	anon := h.join("chat", "sip:alice@example.com", anonymous)
	notice := bob.ExpectRequest(msrp.MethodSEND)
	leak := []byte("alice@example.com")
	if !bytes.Contains(notice.Body, []byte(anon.p.URI)) || bytes.Contains(notice.Body, leak) {
		t.Errorf("join notice:\n%s", notice.Body)
	}

	body := []byte("From: \"Alice Liddell\" <sip:alice@example.com>\r\nTo: <" + roomURI("chat") + ">\r\nDateTime: 2026-11-22T10:00:00Z\r\n\r\nContent-Type: text/plain\r\n\r\nguess who")
	m := anon.say(body)
	anon.ExpectResponse(m.TID, 200)
	want := bytes.Replace(body, []byte(`"Alice Liddell" <sip:alice@example.com>`), []byte("<"+anon.p.URI+">"), 1)
	got := bob.expectCopy(want)
	if bytes.Contains(got.Body, leak) || bytes.Contains(got.Body, []byte("Liddell")) {
		t.Errorf("identity leaked:\n%s", got.Body)
	}
	if br := got.Header.Get(msrp.HeaderByteRange); br != byteRange(1, len(want), len(want)) {
		t.Errorf("Byte-Range %s for %d octets", br, len(want))
	}

	// Already anonymous: unchanged.
	own := cpimMsg(anon.p.URI, roomURI("chat"), "me again")
	m = anon.say(own)
	anon.ExpectResponse(m.TID, 200)
	bob.expectCopy(own)

	// Someone else's URI: 403.
	m = anon.say(cpimMsg("sip:carol@example.com", roomURI("chat"), "spoof"))
	anon.ExpectResponse(m.TID, 403)

	// Private messages reach it by its anonymous URI, not its AOR.
	p := cpimMsg("sip:bob@example.com", anon.p.URI, "hi, stranger")
	m = bob.say(p)
	bob.ExpectResponse(m.TID, 200)
	anon.expectCopy(p)
	m = bob.say(cpimMsg("sip:bob@example.com", "sip:alice@example.com", "is that you?"))
	bob.ExpectResponse(m.TID, 404)
}

// A chunked message from an anonymous sender whose From is rewritten: the
// later chunks' Byte-Ranges shift by the rewrite, so the copy stays whole.
func TestAnonymousChunked(t *testing.T) {
	h := newHarness(t, defaultPolicy())
	bob := h.join("chat", "sip:bob@example.com")
	anon := h.join("chat", "sip:alice@example.com", anonymous)

	head := cpimMsg("sip:alice@example.com", roomURI("chat"), "first half, ")
	tail := []byte("second half")
	total := len(head) + len(tail)
	m := anon.chunk("anon-msg", head, 1, total, '+')
	anon.ExpectResponse(m.TID, 200)
	m = anon.chunk("anon-msg", tail, len(head)+1, total, '$')
	anon.ExpectResponse(m.TID, 200)

	c1 := bob.ExpectRequest(msrp.MethodSEND)
	c2 := bob.ExpectRequest(msrp.MethodSEND)
	whole := append(append([]byte{}, c1.Body...), c2.Body...)
	want := append(cpimMsg(anon.p.URI, roomURI("chat"), "first half, "), tail...)
	if !bytes.Equal(whole, want) {
		t.Fatalf("reassembled:\n%s\nwant:\n%s", whole, want)
	}
	n := len(want)
	if got := c2.Header.Get(msrp.HeaderByteRange); got != strconv.Itoa(len(c1.Body)+1)+"-"+strconv.Itoa(n)+"/"+strconv.Itoa(n) {
		t.Errorf("second chunk Byte-Range %s (total %d)", got, n)
	}
	var r msrp.Reassembler
	r.MaxSize = 1 << 20
	if _, done, err := r.Add(c1); done || err != nil {
		t.Fatalf("first chunk: done %v err %v", done, err)
	}
	if b, done, err := r.Add(c2); !done || err != nil || !bytes.Equal(b, want) {
		t.Fatalf("reassembler: done %v err %v", done, err)
	}
}
