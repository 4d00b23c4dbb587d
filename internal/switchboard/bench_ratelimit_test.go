//go:build unix

package switchboard

import (
	"testing"

	"github.com/parley-im/parley/internal/relay"
)

// BenchmarkFanoutRateLimited is BenchmarkFanout with every sender held to
// a message rate (issue 17) high enough never to refuse: the cost of the
// check itself on the fan-out path (a clock read and the bucket, once per
// message), to compare with BenchmarkFanout.
func BenchmarkFanoutRateLimited(b *testing.B) {
	runFanout(b, fanoutConfig{participants: 100, senders: 10, opts: []harnessOption{
		func(_ *relay.Config, s *Config) { s.MessagesPerSecond, s.MessagesBurst = 1_000_000, 1_000_000 },
	}})
}

// BenchmarkTakeMessage is the rate check alone, as the sender's read
// goroutine runs it for each message: a read of the switch's clock
// (time.Now) and the bucket's arithmetic.
func BenchmarkTakeMessage(b *testing.B) {
	s := New(Config{MessagesPerSecond: 1_000_000_000, MessagesBurst: 1_000_000})
	l := &link{rateOn: true}
	b.ReportAllocs()
	for b.Loop() {
		if !s.takeMessage(l) {
			b.Fatal("refused")
		}
	}
}
