package room

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-im/parley/cpim"
)

// check verifies, under the lock, that no two identities claim one compare
// key where they would collide, and that the indexes agree.
func (n *Nicknames) check() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	holders := 0
	for key, e := range n.keys {
		focus := 0
		for r, c := range e.rooms {
			if c.key != key || c.room != r {
				return fmt.Errorf("claim %q/%q filed under %q/%q", c.key, c.room, key, r)
			}
			if c.scope == ScopeFocus {
				focus++
			}
			for _, h := range c.holders {
				if n.held[h.p.ID] != h || !cpim.URIEqual(h.p.URI, c.uri) {
					return fmt.Errorf("holder %s of %q: bad index or identity", h.p.ID, key)
				}
			}
			holders += len(c.holders)
			for r2, c2 := range e.rooms {
				if (r == r2 || c.scope == ScopeFocus || c2.scope == ScopeFocus) && !cpim.URIEqual(c.uri, c2.uri) {
					return fmt.Errorf("%q held by %s and %s", key, c.uri, c2.uri)
				}
			}
		}
		if focus != e.focus {
			return fmt.Errorf("%q: focus count %d, want %d", key, e.focus, focus)
		}
	}
	if holders != len(n.held) {
		return fmt.Errorf("%d holders, %d held", holders, len(n.held))
	}
	return nil
}

func TestNicknamesConcurrent(t *testing.T) {
	n := NewNicknames()
	nicks := []string{"alice", "ALICE", "Bob", "bob ", "Σ", "σ", "ς", "x"}
	var clock atomic.Int64 // shared logical time, in ms
	var wg sync.WaitGroup
	done := make(chan struct{})
	var checks atomic.Int64
	checker := make(chan struct{})
	go func() {
		defer close(checker)
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := n.check(); err != nil {
				t.Error(err)
				return
			}
			checks.Add(1)
		}
	}()
	for g := range 16 {
		wg.Go(func() {
			// 4 identities, each on several sessions; two rooms, both scopes
			uri := fmt.Sprintf("sip:user%d@example.com", g%4)
			for i := range 300 {
				p := &Participant{ID: fmt.Sprintf("%d-%d", g, i/10), URI: uri}
				pol := NickPolicy{Allowed: true, Scope: NickScope(g % 2), Quarantine: 3 * time.Millisecond}
				now := t0.Add(time.Duration(clock.Add(1)) * time.Millisecond)
				room := fmt.Sprintf("r%d", (g+i/10)%2)
				got := n.Request(room, p, nicks[(g+i)%len(nicks)], pol, now)
				if got.Code != 200 && got.Code != 425 {
					t.Errorf("%+v", got)
				}
				if i%10 == 9 {
					n.Release(p, now)
				}
			}
		})
	}
	wg.Wait()
	close(done)
	<-checker
	if err := n.check(); err != nil {
		t.Fatal(err)
	}
	if len(n.held) != 0 {
		t.Errorf("%d sessions still hold nicknames", len(n.held))
	}
	t.Logf("%d concurrent checks", checks.Load())
}
