// Package clocktest is the clock tests inject where a timer or a rate
// decides behaviour: it moves only when the test says so, and is safe for
// the goroutines of the code under test.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a clock a test moves.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Start is a fixed time for tests that need no particular one.
var Start = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
