package store

import (
	"sync/atomic"
	"time"
)

// LatencyBounds are the upper bounds, in seconds, of the buckets of
// Stats.AppendLatency: from Append to its acknowledgement (the linger
// included), 250 µs to 10 s.
var LatencyBounds = []float64{0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10}

// Latency is a histogram of append latencies (issue 18's metrics):
// Counts[i] appends took at most LatencyBounds[i] and more than the bound
// before; Counts[len(LatencyBounds)] took longer than the last.
type Latency struct {
	Counts []uint64
	Sum    time.Duration
	Count  uint64
}

// latency is the live histogram: written by the completer only, read by
// Stats at any time.
type latency struct {
	counts [15]atomic.Uint64 // len(LatencyBounds)+1
	sum    atomic.Int64      // nanoseconds
	count  atomic.Uint64
}

func (l *latency) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(LatencyBounds) && s > LatencyBounds[i] {
		i++
	}
	l.counts[i].Add(1)
	l.sum.Add(int64(d))
	l.count.Add(1)
}

func (l *latency) snapshot() Latency {
	out := Latency{Counts: make([]uint64, len(l.counts)), Sum: time.Duration(l.sum.Load()), Count: l.count.Load()}
	for i := range l.counts {
		out.Counts[i] = l.counts[i].Load()
	}
	return out
}
