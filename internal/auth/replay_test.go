package auth

import (
	"encoding/binary"
	"runtime"
	"testing"
	"time"
)

// testID makes a nonceID issued at t with serial n as its random part.
func testID(t time.Time, n uint64) nonceID {
	var id nonceID
	binary.BigEndian.PutUint64(id[:8], uint64(t.UnixNano()))
	binary.BigEndian.PutUint64(id[8:16], n)
	return id
}

func TestReplayTableRing(t *testing.T) {
	t0 := newFakeClock().Now()
	tab := newReplayTable(100, time.Hour)
	// Past the initial 64 slots, then wrapping around many times: the
	// table keeps the last 100, in order.
	for i := range uint64(1000) {
		tab.add(testID(t0, i), t0)
		if i == 70 {
			if got := tab.accept(testID(t0, 3), true, 1); got != OK {
				t.Fatalf("nonce 3 after growth: %v", got)
			}
			if got := tab.accept(testID(t0, 3), true, 1); got != Replayed {
				t.Fatalf("nonce 3 again: %v", got)
			}
		}
	}
	if tab.len() != 100 || len(tab.states) != 100 || len(tab.ring) != 100 {
		t.Fatalf("len %d, states %d, ring %d; want 100", tab.len(), len(tab.states), len(tab.ring))
	}
	for i := range uint64(1000) {
		want := Stale
		if i >= 900 {
			want = OK
		}
		if got := tab.accept(testID(t0, i), true, 1); got != want {
			t.Fatalf("nonce %d: %v, want %v", i, got, want)
		}
	}
}

func TestReplayTableExpiry(t *testing.T) {
	clk := newFakeClock()
	tab := newReplayTable(10, 5*time.Second)
	for i := range uint64(4) {
		tab.add(testID(clk.Now(), i), clk.Now())
		clk.Advance(2 * time.Second)
	}
	// Issued at 0, 2, 4, 6 s; now 8 s: the first two are over 5 s old.
	tab.add(testID(clk.Now(), 4), clk.Now())
	if tab.len() != 3 {
		t.Fatalf("len %d, want 3", tab.len())
	}
	// The clock steps back: nothing is dropped, and what is new is kept.
	clk.Advance(-time.Hour)
	tab.add(testID(clk.Now(), 5), clk.Now())
	if tab.len() != 4 {
		t.Fatalf("len %d after a step back, want 4", tab.len())
	}
}

func TestReplayTableMaxOne(t *testing.T) {
	t0 := newFakeClock().Now()
	tab := newReplayTable(1, time.Hour)
	tab.add(testID(t0, 1), t0)
	tab.add(testID(t0, 2), t0)
	if tab.accept(testID(t0, 1), true, 1) != Stale || tab.accept(testID(t0, 2), true, 1) != OK {
		t.Fatal("a table of one keeps the last nonce only")
	}
}

// TestReplayTableMemory measures the bytes per remembered nonce that
// doc.go bounds (at most 90).
func TestReplayTableMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 100,000 entries")
	}
	const n = DefaultMaxNonces
	t0 := newFakeClock().Now()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tab := newReplayTable(n, time.Hour)
	for i := range uint64(n) {
		tab.add(testID(t0, i), t0)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.1f bytes per remembered nonce (%d nonces: %.1f MB)", per, n, per*n/1e6)
	if per > 90 {
		t.Errorf("%.1f bytes per nonce: doc.go says at most 90", per)
	}
	runtime.KeepAlive(tab)
}

func TestNonceFormat(t *testing.T) {
	key := []byte("key")
	now := newFakeClock().Now()
	id, s := newNonce(key, now)
	if len(s) != 48 || nonceLen != 48 {
		t.Fatalf("nonce %q: %d characters, want 48", s, len(s))
	}
	got, ok := openNonce(key, s)
	if !ok || got != id {
		t.Fatalf("openNonce = %x, %v; want %x", got, ok, id)
	}
	if !got.issued().Equal(now) {
		t.Fatalf("issued %v, want %v", got.issued(), now)
	}
	if _, ok := openNonce([]byte("other"), s); ok {
		t.Fatal("a nonce opens under another key")
	}
	for _, bad := range []string{"", s[:47], s + "A", s[:47] + "=", s[:20] + "+" + s[21:]} {
		if _, ok := openNonce(key, bad); ok {
			t.Errorf("openNonce(%q) ok", bad)
		}
	}
}
