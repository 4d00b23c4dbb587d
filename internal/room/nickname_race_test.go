package room

import (
	"fmt"
	"slices"
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
				if h.p.nick.load() != c.alias || c.alias == nil {
					return fmt.Errorf("holder %s of %q: IM URI %q, want %q", h.p.ID, key, h.p.NicknameURI(), c.alias.uri)
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

// Route reads nickname URIs while Nicknames changes them (go test -race):
// a private message to a nickname reaches sessions that held it while Route
// looked (one at a time, but Route's pass over the room is no snapshot of
// the table), or nobody (404), never another one.
func TestRouteNicknameConcurrent(t *testing.T) {
	n := NewNicknames()
	members := bigRoom(20)
	target := "im:" + imLocal("shared") + "@parley.invalid"
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := members[1+g] // distinct identities: at most one holds "shared" at a time
				if i%2 == 0 {
					n.Request("r", p, "Shared", allow, t0)
				} else {
					n.Request("r", p, "", allow, t0)
				}
			}
		})
	}
	sender := members[0]
	for range 2000 {
		d := Route(members, roomURI, sender, sender.URI, []string{target}, "text/plain", RoutePolicy{PrivateMessages: true})
		switch {
		case d.Code == 404:
		case d.Code == 0 && len(d.Recipients) >= 1 && !slices.ContainsFunc(d.Recipients, func(p *Participant) bool {
			return p != members[1] && p != members[2] && p != members[3] && p != members[4]
		}):
		default:
			t.Fatalf("%d [%s]", d.Code, ids(d.Recipients))
		}
	}
	close(stop)
	wg.Wait()
	if err := n.check(); err != nil {
		t.Fatal(err)
	}
}
