package main

import (
	"math"
	"math/bits"
	"slices"
)

// seqTracker checks the sequence numbers (1, 2, 3, …) of one sender's
// messages as one receiver sees them. The switch must deliver each message
// once and in the order it was sent (RFC 4975 keeps order on a connection,
// and the switch forwards in arrival order), so anything else is counted:
//
//   - a sequence number above the next expected one opens a gap (those
//     numbers are missing, for now) — a message arriving later that fills a
//     gap is counted as reordered;
//   - a sequence number already received is a duplicate;
//   - what is still missing at the end (sent − distinct received) is lost.
//
// Memory is one range per open gap: nothing in a correct run.
type seqTracker struct {
	next      uint64     // every number below next was received or is in gaps
	gaps      []seqRange // missing numbers below next, sorted, disjoint
	received  uint64     // distinct numbers received
	dup       uint64
	reordered uint64
}

// seqRange is [lo, hi).
type seqRange struct{ lo, hi uint64 }

func newSeqTracker() seqTracker { return seqTracker{next: 1} }

// add records the arrival of seq (≥ 1).
func (t *seqTracker) add(seq uint64) {
	switch {
	case seq == t.next:
		t.next++
		t.received++
	case seq > t.next:
		t.gaps = append(t.gaps, seqRange{t.next, seq})
		t.next = seq + 1
		t.received++
	default:
		i, found := slices.BinarySearchFunc(t.gaps, seq, func(r seqRange, s uint64) int {
			switch {
			case r.hi <= s:
				return -1
			case r.lo > s:
				return 1
			}
			return 0
		})
		if !found {
			t.dup++
			return
		}
		t.reordered++
		t.received++
		g := t.gaps[i]
		switch {
		case g.lo == seq && g.hi == seq+1:
			t.gaps = slices.Delete(t.gaps, i, i+1)
		case g.lo == seq:
			t.gaps[i].lo++
		case g.hi == seq+1:
			t.gaps[i].hi--
		default:
			t.gaps = slices.Insert(t.gaps, i+1, seqRange{seq + 1, g.hi})
			t.gaps[i].hi = seq
		}
	}
}

// lost is how many of the sent messages (numbered 1..sent) never arrived.
func (t *seqTracker) lost(sent uint64) uint64 {
	if t.received >= sent {
		return 0
	}
	return sent - t.received
}

// counts sums what a set of trackers saw.
type counts struct {
	deliveries, lost, dup, reordered uint64
}

// hist is a latency histogram in nanoseconds with ~3 % resolution
// (log-linear buckets: 32 per power of two above 64 ns), so that every
// delivery is recorded in constant memory.
type hist struct {
	buckets [histBuckets]uint64
	n       uint64
	max     int64
}

const (
	histSub     = 32
	histBuckets = 2*histSub + 58*histSub
)

func histIndex(v int64) int {
	if v < 2*histSub {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - 6 // v>>e is in [32, 64)
	return 2*histSub + (e-1)*histSub + int(v>>e) - histSub
}

// histLow is the smallest value of bucket i.
func histLow(i int) int64 {
	if i < 2*histSub {
		return int64(i)
	}
	i -= 2 * histSub
	e := i/histSub + 1
	return int64(histSub+i%histSub) << e
}

func (h *hist) add(v int64) {
	v = max(v, 0)
	i := min(histIndex(v), histBuckets-1)
	h.buckets[i]++
	h.n++
	h.max = max(h.max, v)
}

func (h *hist) merge(o *hist) {
	for i, c := range o.buckets {
		h.buckets[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the value at quantile q (0..1): the middle of the bucket
// holding it, the maximum for the last one.
func (h *hist) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.buckets {
		seen += c
		if seen >= rank {
			if seen == h.n && rank == h.n {
				return h.max
			}
			lo, hi := histLow(i), histLow(i+1)
			return min((lo+hi)/2, h.max)
		}
	}
	return h.max
}
