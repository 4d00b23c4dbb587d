//go:build unix

package switchboard

import (
	"context"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/internal/store"
)

// Fan-out with history (issue 16): BenchmarkFanout's room of 100 and 10
// senders, the room keeping its last 50 messages, every message appended to
// a real store as parleyd runs it by default (internal/store: an embedded
// NATS JetStream file store, here in a temporary directory). Targets: ≥ 90 %
// of BenchmarkFanout's deliveries/s; p99 ≤ 5 ms at half of saturation
// (BenchmarkFanoutHistoryHalfRate). The senders' Failure-Report: no means
// no 200 is waited for; the store's work (the append and its
// acknowledgement) is done all the same, in this process: its CPU is in
// cpu-µs/1k-deliveries.

func BenchmarkFanoutHistory(b *testing.B) {
	runFanout(b, fanoutConfig{participants: 100, senders: 10, history: 50, opts: []harnessOption{withStore(b)}})
}

func BenchmarkFanoutHistoryHalfRate(b *testing.B) {
	runFanout(b, fanoutConfig{participants: 100, senders: 10, rate: fanoutRate(b), history: 50, opts: []harnessOption{withStore(b)}})
}

// withStore gives the switch a file store in a temporary directory, closed
// when the benchmark ends. Stats of the store are reported.
func withStore(tb testing.TB) harnessOption {
	st, err := store.Open(context.Background(), store.Config{Mode: store.ModeFile, DataDir: tb.TempDir(), MaxHistory: 50})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st.Close(ctx)
	})
	return func(_ *relay.Config, c *Config) { c.History = storeHistory{st} }
}

// storeHistory is the store as the switch's History, as internal/server
// adapts it (rooms under their name here).
type storeHistory struct{ st *store.Store }

func (h storeHistory) Append(room string, m Stored, done func(uint64, error)) {
	h.st.Append(store.Message{Room: "sip:" + room + "@bench", Received: m.Received, Sender: m.Sender, Body: m.Body}, done)
}

func (h storeHistory) Last(ctx context.Context, room string, n int, maxAge time.Duration) ([]Stored, error) {
	ms, err := h.st.Last(ctx, "sip:"+room+"@bench", n, maxAge)
	out := make([]Stored, len(ms))
	for i, m := range ms {
		out[i] = Stored{Seq: m.Seq, Received: m.Received, Sender: m.Sender, Body: m.Body}
	}
	return out, err
}

func (h storeHistory) SetCursor(room, participant string, seq uint64) {
	h.st.SetCursor("sip:"+room+"@bench", participant, seq)
}

func (h storeHistory) Cursor(ctx context.Context, room, participant string) (uint64, bool, error) {
	return h.st.Cursor(ctx, "sip:"+room+"@bench", participant)
}
