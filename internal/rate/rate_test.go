package rate

import (
	"testing"
	"time"
)

// A bucket of 3 at 2 a second: three at once, then one every 500 ms; the
// wait says when the next token comes; idle, it fills up again.
func TestTake(t *testing.T) {
	l := New(2, 3)
	if !l.On() {
		t.Fatal("New(2, 3) is off")
	}
	var tat int64
	now := int64(time.Hour) // any origin
	for i := range 3 {
		var ok bool
		if tat, _, ok = l.Take(tat, now); !ok {
			t.Fatalf("event %d of the burst refused", i+1)
		}
	}
	_, wait, ok := l.Take(tat, now)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("4th at once: ok %v, wait %v; want refused, 500ms", ok, wait)
	}
	now += int64(200 * time.Millisecond)
	if _, wait, ok = l.Take(tat, now); ok || wait != 300*time.Millisecond {
		t.Fatalf("200ms later: ok %v, wait %v; want refused, 300ms", ok, wait)
	}
	now += int64(300 * time.Millisecond)
	if tat, _, ok = l.Take(tat, now); !ok {
		t.Fatal("refused once a token was there")
	}
	if _, _, ok = l.Take(tat, now); ok {
		t.Fatal("a second one allowed with one token")
	}
	if Full(tat, now) || l.AtLeastHalf(tat, now) {
		t.Fatal("an empty bucket is full or half full")
	}
	now += int64(time.Second) // 2 tokens of 3
	if !l.AtLeastHalf(tat, now) || Full(tat, now) {
		t.Fatal("two tokens of three: want at least half, not full")
	}
	now += int64(500 * time.Millisecond)
	if !Full(tat, now) {
		t.Fatal("not full after 1.5 s idle")
	}
	// Full means full: exactly Burst events pass again, no more.
	for i := range 3 {
		if tat, _, ok = l.Take(tat, now); !ok {
			t.Fatalf("event %d of the second burst refused", i+1)
		}
	}
	if _, _, ok = l.Take(tat, now); ok {
		t.Fatal("more than the burst after idling")
	}
}

// Over time the rate holds: a sender trying every millisecond for ten
// seconds gets the burst plus ten seconds' worth.
func TestSustained(t *testing.T) {
	l := New(50, 10)
	var tat int64
	got := 0
	for ms := range int64(10_000) {
		var ok bool
		if tat, _, ok = l.Take(tat, ms*int64(time.Millisecond)); ok {
			got++
		}
	}
	if want := 10 + 50*10; got < want-1 || got > want {
		t.Fatalf("%d events allowed in 10 s at 50/s, burst 10; want about %d", got, want)
	}
}

func TestOffAndEdges(t *testing.T) {
	if New(0, 10).On() || New(-1, 10).On() {
		t.Fatal("a rate of 0 or less is a limit")
	}
	l := New(1, 0) // burst 1
	tat, _, ok := l.Take(0, 0)
	if !ok {
		t.Fatal("first refused")
	}
	if _, wait, ok := l.Take(tat, 0); ok || wait != time.Second {
		t.Fatalf("second: ok %v wait %v", ok, wait)
	}
	if New(2_000_000_000, 1).interval != 1 {
		t.Fatal("an interval under 1 ns")
	}
	for _, tc := range []struct {
		d    time.Duration
		want int64
	}{{0, 1}, {time.Nanosecond, 1}, {time.Second, 1}, {time.Second + 1, 2}, {2500 * time.Millisecond, 3}} {
		if got := Seconds(tc.d); got != tc.want {
			t.Errorf("Seconds(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}
