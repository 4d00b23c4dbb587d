//go:build unix

package switchboard

import (
	"testing"
	"time"

	"github.com/parley-im/parley/internal/certs"
	"github.com/parley-im/parley/internal/relay"
)

// withTLS makes the relay listen for msrps with a self-signed certificate;
// the harness's participants then join with msrps URIs over TLS.
func withTLS(t testing.TB) harnessOption {
	st, _, err := certs.SelfSigned(t.TempDir(), []string{testHost}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return func(rc *relay.Config, _ *Config) {
		rc.TLSAddr, rc.TLS = testHost+":0", st.ServerConfig()
	}
}

// BenchmarkFanoutTLS is BenchmarkFanout with every participant on MSRP
// over TLS (issue 15: target ≥ 60 % of the TCP deliveries/s). The
// cpu-µs/1k-deliveries metric is the whole process, so it includes the
// participants' own TLS: every copy is encrypted by the relay and
// decrypted by its receiver, every SEND encrypted by its sender and
// decrypted by the relay.
func BenchmarkFanoutTLS(b *testing.B) {
	runFanout(b, fanoutConfig{participants: 100, senders: 10, opts: []harnessOption{withTLS(b)}})
}

// A room over TLS relays like one over TCP: a message reaches every other
// participant, a private message only its recipient.
func TestFanoutOverTLS(t *testing.T) {
	h := newHarness(t, defaultPolicy(), withTLS(t))
	a := h.join("tlsroom", "sip:a@example.com")
	b := h.join("tlsroom", "sip:b@example.com")
	c := h.join("tlsroom", "sip:c@example.com")
	if !a.sw.Secure {
		t.Fatalf("switch URI %s is not msrps", a.sw)
	}
	body := cpimMsg("sip:a@example.com", "sip:tlsroom@"+testHost, "hello over TLS")
	m := a.say(body)
	a.ExpectResponse(m.TID, 200)
	b.expectCopy(body)
	c.expectCopy(body)
}
