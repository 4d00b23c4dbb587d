package auth

import (
	"fmt"
	"testing"
	"time"
)

func TestThrottleSchedule(t *testing.T) {
	clk := newFakeClock()
	th := NewThrottle(clk.Now)
	ms := time.Millisecond
	want := []time.Duration{0, 0, 0, 250 * ms, 500 * ms, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second}
	for i, w := range want {
		// As the focus answers a failure: Delay, then Fail.
		if got := th.Delay("192.0.2.1"); got != w {
			t.Fatalf("failure %d: Delay = %v, want %v", i+1, got, w)
		}
		th.Fail("192.0.2.1")
		clk.Advance(time.Minute)
	}
	if got := th.Delay("192.0.2.2"); got != 0 {
		t.Fatalf("another source: Delay = %v", got)
	}
}

func TestThrottleWindow(t *testing.T) {
	clk := newFakeClock()
	th := NewThrottle(clk.Now)
	src := "2001:db8::1"
	for range 4 {
		th.Fail(src)
		clk.Advance(9 * time.Minute) // each within 10 minutes of the last
	}
	if got := th.Delay(src); got != 500*time.Millisecond {
		t.Fatalf("after 4 failures 9 minutes apart: %v, want 500ms", got)
	}
	clk.Advance(time.Minute) // 10 minutes since the last: still counted
	if got := th.Delay(src); got != 500*time.Millisecond {
		t.Fatalf("at 10 minutes: %v, want 500ms", got)
	}
	clk.Advance(time.Nanosecond)
	if got := th.Delay(src); got != 0 {
		t.Fatalf("past 10 minutes: %v, want 0", got)
	}
	// Forgotten: the count starts again.
	for range 3 {
		th.Fail(src)
	}
	if got := th.Delay(src); got != 250*time.Millisecond {
		t.Fatalf("3 new failures: %v, want 250ms", got)
	}
	// Fail after the window without a Delay in between also restarts.
	clk.Advance(11 * time.Minute)
	th.Fail(src)
	if got := th.Delay(src); got != 0 {
		t.Fatalf("1 failure after the window: %v, want 0", got)
	}
}

func TestThrottleSucceed(t *testing.T) {
	clk := newFakeClock()
	th := NewThrottle(clk.Now)
	for range 6 {
		th.Fail("a")
		th.Fail("b")
	}
	th.Succeed("a")
	th.Succeed("unknown")
	if got := th.Delay("a"); got != 0 {
		t.Fatalf("after Succeed: %v", got)
	}
	if got := th.Delay("b"); got != 2*time.Second {
		t.Fatalf("b after 6 failures: %v, want 2s", got)
	}
}

func TestThrottleBound(t *testing.T) {
	clk := newFakeClock()
	th := NewThrottleSize(clk.Now, 3)
	for range 5 {
		th.Fail("a")
	}
	clk.Advance(time.Second)
	for range 5 {
		th.Fail("b")
	}
	clk.Advance(time.Second)
	for range 5 {
		th.Fail("c")
	}
	th.Fail("a") // a is now the most recent
	th.Fail("d") // evicts b, whose last failure is the oldest
	if len(th.sources) != 3 || th.lru.Len() != 3 {
		t.Fatalf("%d sources, list %d; want 3", len(th.sources), th.lru.Len())
	}
	if th.Delay("b") != 0 || th.Delay("a") == 0 || th.Delay("c") == 0 {
		t.Fatalf("delays a %v, b %v, c %v: want b evicted", th.Delay("a"), th.Delay("b"), th.Delay("c"))
	}
	// Many sources: the bound holds.
	for i := range 1000 {
		th.Fail(fmt.Sprint("198.51.100.", i))
	}
	if len(th.sources) != 3 || th.lru.Len() != 3 {
		t.Fatalf("%d sources, list %d; want 3", len(th.sources), th.lru.Len())
	}
}

func TestThrottleDefaults(t *testing.T) {
	th := NewThrottle(nil)
	if th.max != DefaultThrottleSources || th.now == nil {
		t.Fatalf("max %d", th.max)
	}
	if NewThrottleSize(nil, -1).max != DefaultThrottleSources {
		t.Fatal("a bound that is not positive is not the default")
	}
	if got := delayAfter(1 << 40); got != ThrottleMax {
		t.Fatalf("delayAfter(huge) = %v", got)
	}
}
