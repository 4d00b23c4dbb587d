// Package rate is the arithmetic of parleyd's rate limits (issue 17): joins
// and subscriptions per source per second (internal/focus), messages per
// participant per second (internal/switchboard).
//
// A limit is a token bucket of Burst tokens refilled at PerSecond tokens a
// second, kept as one number: the generic cell rate algorithm (GCRA, ITU-T
// I.371), whose state is the theoretical arrival time (TAT) of the next
// event at the sustained rate. An event at now is allowed when the TAT, once
// it is counted, is no more than Burst intervals ahead of now; the bucket is
// full again (the state can be forgotten) once the TAT is not after now.
// Times are nanoseconds on the caller's clock (an offset from any fixed
// instant); no floating point, no allocation.
package rate

import "time"

// Limit is PerSecond events a second on average, Burst at once.
type Limit struct {
	interval  int64 // nanoseconds between two events at the sustained rate
	tolerance int64 // Burst intervals: how far the TAT may run ahead of now
}

// New returns the limit of perSecond events a second and burst at once, or
// the zero Limit (no limit: On is false) when perSecond is not positive. A
// burst below 1 is 1.
func New(perSecond, burst int) Limit {
	if perSecond <= 0 {
		return Limit{}
	}
	burst = max(burst, 1)
	iv := int64(time.Second) / int64(perSecond)
	iv = max(iv, 1)
	return Limit{interval: iv, tolerance: iv * int64(burst)}
}

// On reports whether l limits anything.
func (l Limit) On() bool { return l.interval > 0 }

// Take counts one event at now against the bucket whose TAT is tat. When
// the bucket holds a token it returns the new TAT and ok; otherwise tat is
// returned unchanged with how long until a token is there (more than 0).
func (l Limit) Take(tat, now int64) (next int64, wait time.Duration, ok bool) {
	next = max(tat, now) + l.interval
	if over := next - now - l.tolerance; over > 0 {
		return tat, time.Duration(over), false
	}
	return next, 0, true
}

// Full reports whether the bucket whose TAT is tat holds all its tokens at
// now: it can be forgotten, a new bucket would be the same.
func Full(tat, now int64) bool { return tat <= now }

// AtLeastHalf reports whether the bucket whose TAT is tat holds at least
// half its tokens at now.
func (l Limit) AtLeastHalf(tat, now int64) bool { return tat-now <= l.tolerance/2 }

// Seconds is d rounded up to whole seconds, at least 1: a Retry-After
// (RFC 3261 §20.33) that does not come back before the token is there.
func Seconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
