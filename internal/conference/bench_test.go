package conference

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/room"
)

// countingSender calls done(true) at once and counts NOTIFYs and octets.
type countingSender struct {
	notifies atomic.Uint64
	bytes    atomic.Uint64
}

func (c *countingSender) SendNotify(_ any, n Notify, done func(bool)) {
	c.notifies.Add(1)
	c.bytes.Add(uint64(len(n.Body)))
	done(true)
}

// benchRoom returns a notifier with a room of users bound participants and
// subs subscribers.
func benchRoom(b *testing.B, users, subs int, interval time.Duration) (*Notifier, *countingSender, *room.Room) {
	cs := &countingSender{}
	n := New(Config{Sender: cs, Interval: interval})
	b.Cleanup(func() { n.Shutdown(context.Background()) })
	rm := newRoom("bench", "Benchmark room")
	for i := range users {
		p := participant(fmt.Sprint("p", i), fmt.Sprintf("sip:user%d@example.com", i),
			fmt.Sprintf("sip:user%d@device%d.example.com", i, i), fmt.Sprint("User ", i))
		n.Joined(rm, p)
		n.Bound(rm, p)
		n.NicknameChanged(rm, p, fmt.Sprint("nick", i))
	}
	for i := range subs {
		n.Subscribe(rm, roomURI, i, time.Hour)
	}
	return n, cs, rm
}

// BenchmarkJoinNotify: a join in a room of 1,000 users watched by 1,000
// subscribers, with an Interval so short that every join is notified at
// once: one op is one join and its 1,000 partial NOTIFYs.
func BenchmarkJoinNotify(b *testing.B) {
	const users, subs = 1000, 1000
	n, cs, rm := benchRoom(b, users, subs, time.Nanosecond)
	full := cs.bytes.Load() / subs
	cs.notifies.Store(0)
	cs.bytes.Store(0)
	ps := make([]*room.Participant, 0, 1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%1024 == 0 {
			b.StopTimer()
			ps = ps[:0]
			for j := range 1024 {
				k := i + j
				ps = append(ps, participant(fmt.Sprint("j", k), fmt.Sprintf("sip:joiner%d@example.com", k),
					fmt.Sprintf("sip:joiner%d@device.example.com", k), fmt.Sprint("Joiner ", k)))
			}
			b.StartTimer()
		}
		n.Joined(rm, ps[i%1024])
		i++
	}
	notifies := cs.notifies.Load()
	b.ReportMetric(float64(cs.bytes.Load())/float64(notifies), "B/notify")
	b.ReportMetric(float64(notifies)/float64(i), "notifies/join")
	b.ReportMetric(float64(full), "full-doc-B")
}

// BenchmarkFullDocument: the full document of a room of 1,000 users, built
// for a new subscriber after a change.
func BenchmarkFullDocument(b *testing.B) {
	n, cs, rm := benchRoom(b, 1000, 0, time.Hour)
	p := participant("p0", "sip:user0@example.com", "", "")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		n.NicknameChanged(rm, p, fmt.Sprint("nick", i)) // the roster changes
		n.Subscribe(rm, roomURI, i, time.Hour).Unsubscribe()
	}
	b.ReportMetric(float64(cs.bytes.Load())/float64(cs.notifies.Load()), "B/notify")
}
