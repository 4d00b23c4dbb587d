package auth

import (
	"container/list"
	"sync"
	"time"
)

// The failure throttle's schedule and bound. SIP has no rate-limit
// response code (HTTP's 429 of RFC 6585 has no SIP counterpart), so the
// caller slows its failure answers down instead, which bounds an online
// password guesser's pace per source.
const (
	// ThrottleFree is how many failures from a source are answered at once.
	ThrottleFree = 3
	// ThrottleWindow is how long a source's failures are remembered after
	// its last one.
	ThrottleWindow = 10 * time.Minute
	// ThrottleBase is the delay of the first failure past ThrottleFree; each
	// further one doubles it.
	ThrottleBase = 250 * time.Millisecond
	// ThrottleMax caps the delay.
	ThrottleMax = 8 * time.Second
	// DefaultThrottleSources bounds the sources remembered by NewThrottle.
	DefaultThrottleSources = 65536
)

// Throttle slows down repeated authentication failures from one source
// (an IP address string; an IPv6 caller may pass the /64 prefix instead,
// since one host holds many addresses). Safe for concurrent use (a
// mutex). It remembers at most its bound of sources, evicting the one
// whose last failure is oldest; each costs about 150 bytes plus the
// length of its name (about 10 MB for the default 65,536).
type Throttle struct {
	now func() time.Time
	max int

	mu      sync.Mutex
	sources map[string]*list.Element // of *failures
	lru     list.List                // front: the most recent failure
}

// failures is what a Throttle knows of one source.
type failures struct {
	src  string
	n    int       // failures since the count was last forgotten
	last time.Time // of the latest failure
}

// NewThrottle returns a Throttle remembering up to
// DefaultThrottleSources sources, on the clock now (nil: time.Now).
func NewThrottle(now func() time.Time) *Throttle {
	return NewThrottleSize(now, DefaultThrottleSources)
}

// NewThrottleSize is NewThrottle with a bound of maxSources sources
// (DefaultThrottleSources when not positive).
func NewThrottleSize(now func() time.Time, maxSources int) *Throttle {
	if now == nil {
		now = time.Now
	}
	if maxSources <= 0 {
		maxSources = DefaultThrottleSources
	}
	return &Throttle{now: now, max: maxSources, sources: make(map[string]*list.Element)}
}

// Delay is how long to wait before answering a failure from src, given
// the failures already counted: 0 for the first ThrottleFree (3) within
// ThrottleWindow (10 minutes: a source's count is forgotten 10 minutes
// after its last failure), then 250 ms doubling per further failure, up
// to 8 s. Call it before Fail for the failure being answered: the 4th
// failure in a row waits 250 ms, the 5th 500 ms, ..., the 9th and later
// 8 s.
func (t *Throttle) Delay(src string) time.Duration {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.sources[src]
	if !ok {
		return 0
	}
	f := e.Value.(*failures)
	if now.Sub(f.last) > ThrottleWindow {
		t.remove(e)
		return 0
	}
	return delayAfter(f.n)
}

// delayAfter is the delay of a failure that follows n counted ones.
func delayAfter(n int) time.Duration {
	if n < ThrottleFree {
		return 0
	}
	d := ThrottleBase
	for i := ThrottleFree; i < n && d < ThrottleMax; i++ {
		d *= 2
	}
	return min(d, ThrottleMax)
}

// Fail counts a failure (a wrong password, an unknown user) from src.
func (t *Throttle) Fail(src string) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.sources[src]; ok {
		f := e.Value.(*failures)
		if now.Sub(f.last) > ThrottleWindow {
			f.n = 0
		}
		f.n++
		f.last = now
		t.lru.MoveToFront(e)
		return
	}
	if len(t.sources) >= t.max {
		t.remove(t.lru.Back())
	}
	t.sources[src] = t.lru.PushFront(&failures{src: src, n: 1, last: now})
}

// Succeed forgets src's failures (it authenticated).
func (t *Throttle) Succeed(src string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.sources[src]; ok {
		t.remove(e)
	}
}

func (t *Throttle) remove(e *list.Element) {
	delete(t.sources, e.Value.(*failures).src)
	t.lru.Remove(e)
}
