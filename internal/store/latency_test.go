package store

import (
	"testing"
	"time"
)

// Every acknowledged append is in the latency histogram once.
func TestAppendLatency(t *testing.T) {
	s := memStore(t)
	msgs := make([]Message, 20)
	for i := range msgs {
		msgs[i] = msg("sip:latency@example.com", i)
	}
	appendAll(t, s, msgs)
	l := s.Stats().AppendLatency
	var n uint64
	for _, c := range l.Counts {
		n += c
	}
	if l.Count != 20 || n != 20 || l.Sum <= 0 {
		t.Fatalf("histogram: count %d, buckets %d, sum %v; want 20, 20, > 0", l.Count, n, l.Sum)
	}
	if len(l.Counts) != len(LatencyBounds)+1 {
		t.Fatalf("%d buckets for %d bounds", len(l.Counts), len(LatencyBounds))
	}
	var h latency
	h.observe(300 * time.Microsecond) // over 250 µs, within 500 µs
	h.observe(time.Minute)            // over every bound
	got := h.snapshot()
	if got.Counts[1] != 1 || got.Counts[len(LatencyBounds)] != 1 {
		t.Fatalf("buckets %v", got.Counts)
	}
}
