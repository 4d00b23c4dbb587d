package switchboard

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/msrp"
)

// RFC 7701 §6.4: a recipient that does not read is marked congested; regular
// messages to it are dropped, it is told once by a notice queued past the
// mark, the sender and the others are not slowed; once it has drained, it
// receives again.
func TestCongestionDropsAndNotifies(t *testing.T) {
	pol := defaultPolicy()
	pol.SystemMessages = true
	h := newHarness(t, pol, func(r *relay.Config, _ *Config) {
		r.MaxPendingBytes = 1 << 20
		r.CongestionTimeout = time.Minute
		r.WriteTimeout = time.Minute
	})
	alice := h.join("chat", "sip:alice@example.com")
	carol := h.join("chat", "sip:carol@example.com")
	alice.ExpectRequest(msrp.MethodSEND) // carol's join notice
	bob := h.join("chat", "sip:bob@example.com")
	alice.ExpectRequest(msrp.MethodSEND) // bob's join notice
	carol.ExpectRequest(msrp.MethodSEND)

	filler := strings.Repeat("x", 32<<10)
	const n = 400 // 12.8 MiB: more than loopback buffers and the queue hold
	for i := range n {
		body := cpimMsg("sip:alice@example.com", roomURI("chat"), filler)
		m := alice.say(body)
		alice.ExpectResponse(m.TID, 200) // the sender is never held up
		carol.expectCopy(body)           // nor is anyone else
		_ = i
	}
	st := h.sw.Stats()
	if st.DroppedCongested == 0 {
		t.Fatalf("nothing dropped: %+v", st)
	}
	if rs := h.relay.Stats(); rs.Congested == 0 {
		t.Errorf("relay counted no congestion: %+v", rs)
	}

	// bob now reads what it was sent: copies, and exactly one notice.
	var copies, notices int
	for {
		m, err := bob.Next()
		if err != nil {
			break // the peer's read timeout: drained
		}
		switch {
		case bytes.Contains(m.Body, []byte("messages to you are being discarded")):
			notices++
		case bytes.Contains(m.Body, []byte(filler[:100])):
			copies++
		default:
			t.Fatalf("unexpected message:\n%s", m.Body)
		}
		if copies+notices == n+1 {
			break
		}
	}
	if notices != 1 || copies+int(st.DroppedCongested) != n {
		t.Fatalf("bob got %d copies and %d notices; %d dropped of %d", copies, notices, st.DroppedCongested, n)
	}
	body := cpimMsg("sip:alice@example.com", roomURI("chat"), "welcome back")
	m := alice.say(body)
	alice.ExpectResponse(m.TID, 200)
	carol.expectCopy(body)
	bob.expectCopy(body)
	if len(h.endedWith()) != 0 {
		t.Errorf("sessions ended: %v", h.endedWith())
	}
}
