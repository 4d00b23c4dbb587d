package focus

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestPendingProbeOverUDP: a subscriber over UDP the focus has not heard
// from first gets a NOTIFY with Subscription-State: pending and no body;
// once it answers, the full document follows, and later NOTIFYs come
// without a probe. Over TCP there is no probe. A UDP source that never
// answers (a forged address) gets the probe only: no document, the
// subscription dropped and counted.
func TestPendingProbeOverUDP(t *testing.T) {
	e := newEnv(t, nil, withConference(20*time.Millisecond))
	alice := newPeer(t, e, "UDP", "alice")
	alice.join("chat")

	for _, tr := range []string{"UDP", "TCP"} {
		w := newPeer(t, e, tr, "watcher-"+tr)
		if res := w.subscribe("chat", ""); res.StatusCode != 200 {
			t.Fatalf("%s SUBSCRIBE: %d", tr, res.StatusCode)
		}
		req, doc := w.notify()
		if doc == nil || doc.Version != 1 || len(req.Body()) == 0 {
			t.Fatalf("%s: the first NOTIFY after the probe carries no full document", tr)
		}
		want := int32(0)
		if tr == "UDP" {
			want = 1
		}
		if got := w.pendings.Load(); got != want {
			t.Errorf("%s: %d pending NOTIFYs before the document, want %d", tr, got, want)
		}
		bob := newPeer(t, e, "TCP", "bob-"+tr)
		bob.join("chat")
		if _, doc := w.notify(); doc == nil || doc.Version != 2 {
			t.Fatalf("%s: no partial NOTIFY after a join", tr)
		}
		if got := w.pendings.Load(); got != want {
			t.Errorf("%s: %d pending NOTIFYs after the second NOTIFY, want still %d", tr, got, want)
		}
	}

	forged := newPeer(t, e, "UDP", "forged")
	forged.respondNotify.Store(0) // never answers: the source address was someone else's
	if res := forged.subscribe("chat", ""); res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
	}
	eventually(t, "the unanswered subscription dropped", func() bool { return e.focus.LimitStats().UnverifiedDropped == 1 })
	forged.noNotify(3 * sip.T1)
	if got := forged.pendings.Load(); got < 1 {
		t.Errorf("%d pending NOTIFYs reached the unanswering subscriber, want at least 1", got)
	}
}
