package conference

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/room"
)

// TestRandomized runs random joins, binds, nickname changes and leaves in
// a few rooms from several goroutines, with subscribers coming, refreshing
// and going, and NOTIFYs done at once or after random delays. Once the
// roster is quiet, every live subscriber's merged view (RFC 4575 §4.6)
// must equal a fresh full document; the fake checks every NOTIFY on the
// way (validity, round trip, consecutive versions, one in flight, nothing
// after the final one).
func TestRandomized(t *testing.T) {
	for round := range 4 {
		seed := uint64(time.Now().UnixNano()) + uint64(round)
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { randomRun(t, seed) })
	}
}

func randomRun(t *testing.T, seed uint64) {
	rnd := rand.New(rand.NewPCG(seed, 0))
	interval := time.Duration(1+rnd.IntN(8)) * time.Millisecond
	n, f := newTest(t, interval)
	var delayMu sync.Mutex
	f.delay = func() time.Duration {
		delayMu.Lock()
		defer delayMu.Unlock()
		if rnd.IntN(3) == 0 {
			return 0
		}
		return time.Duration(rnd.IntN(3000)) * time.Microsecond
	}

	const rooms, workers, subscribers = 3, 3, 4
	type sub struct {
		s      *Subscription
		handle string
		entity string
	}
	var (
		mu   sync.Mutex
		live []sub // subscriptions expected alive at the end
	)
	var wg sync.WaitGroup
	for ri := range rooms {
		rm := newRoom(fmt.Sprint("room", ri), []string{"", "Subject"}[ri%2])
		entity := fmt.Sprintf("sip:room%d@chat.example.com", ri)
		for w := range workers {
			r := rand.New(rand.NewPCG(seed, uint64(ri*100+w+1)))
			wg.Go(func() { randomParticipants(rm, n, r, ri, w) })
		}
		r := rand.New(rand.NewPCG(seed, uint64(ri*100+99)))
		wg.Go(func() {
			var mine []sub
			for k := range 12 {
				time.Sleep(time.Duration(r.IntN(2000)) * time.Microsecond)
				switch {
				case len(mine) < subscribers || r.IntN(4) == 0:
					h := fmt.Sprintf("r%d-s%d", ri, k)
					mine = append(mine, sub{n.Subscribe(rm, entity, h, time.Hour), h, entity})
				case r.IntN(3) == 0:
					i := r.IntN(len(mine))
					mine[i].s.Unsubscribe()
					mine = append(mine[:i], mine[i+1:]...)
				default:
					mine[r.IntN(len(mine))].s.Refresh(time.Duration(1+r.IntN(3)) * time.Hour)
				}
			}
			mu.Lock()
			live = append(live, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, s := range live {
		waitConverged(t, n, f, s.s.Room(), s.entity, s.handle)
	}
	f.verify(t)
	if st := n.Stats(); st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

// randomParticipants plays a few participants of rm, each session in the
// order Joined → (Bound | NicknameChanged)* → Left (or staying).
func randomParticipants(rm *room.Room, n *Notifier, r *rand.Rand, ri, w int) {
	const users = 4 // per worker; two sessions of one user share its URI
	var ids int
	var in []*room.Participant
	for range 60 {
		if r.IntN(4) == 0 {
			time.Sleep(time.Duration(r.IntN(1500)) * time.Microsecond)
		}
		switch op := r.IntN(10); {
		case op < 3 || len(in) == 0:
			u := r.IntN(users)
			ids++
			p := participant(fmt.Sprintf("r%d-w%d-%d", ri, w, ids),
				fmt.Sprintf("sip:u%d-%d@example.com", w, u),
				fmt.Sprintf("sip:u%d-%d@dev%d.example.com", w, u, ids),
				[]string{"", "User " + fmt.Sprint(u)}[r.IntN(2)])
			if u == 0 {
				p.URI = fmt.Sprintf("sip:anonymous-w%dr%d@chat.example.com", w, ri)
				p.Endpoint, p.Display, p.Anonymous = p.URI, "", true
			}
			n.Joined(rm, p)
			in = append(in, p)
		case op < 5:
			n.Bound(rm, in[r.IntN(len(in))])
		case op < 8:
			nick := []string{"", "Nick", "Other", fmt.Sprint("N", r.IntN(5))}[r.IntN(4)]
			n.NicknameChanged(rm, in[r.IntN(len(in))], nick)
		default:
			i := r.IntN(len(in))
			n.Left(rm, in[i])
			in = append(in[:i], in[i+1:]...)
		}
	}
}

// TestChaos runs every operation, RoomDeleted and finally Shutdown
// concurrently. Besides the fake's checks, every subscriber that got a
// NOTIFY must have got a final one once Shutdown returns.
func TestChaos(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	f := newFake()
	var delayMu sync.Mutex
	dr := rand.New(rand.NewPCG(seed, 1))
	f.delay = func() time.Duration {
		delayMu.Lock()
		defer delayMu.Unlock()
		return time.Duration(dr.IntN(1000)) * time.Microsecond
	}
	n := New(Config{Sender: f, Interval: 2 * time.Millisecond})
	rooms := []*room.Room{newRoom("a", ""), newRoom("b", ""), newRoom("c", "")}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 6 {
		r := rand.New(rand.NewPCG(seed, uint64(g+2)))
		wg.Go(func() {
			var subs []*Subscription
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				rm := rooms[r.IntN(len(rooms))]
				p := participant(fmt.Sprintf("g%d-%d", g, k), fmt.Sprintf("sip:u%d@example.com", r.IntN(5)), "", "")
				switch r.IntN(8) {
				case 0, 1, 2:
					n.Joined(rm, p)
					n.Bound(rm, p)
					n.NicknameChanged(rm, p, "n")
					if r.IntN(2) == 0 {
						n.Left(rm, p)
					}
				case 3:
					subs = append(subs, n.Subscribe(rm, "sip:"+rm.Name+"@x", fmt.Sprintf("g%d-%d", g, k), time.Duration(r.IntN(400))*time.Millisecond))
				case 4:
					if len(subs) > 0 {
						subs[r.IntN(len(subs))].Refresh(time.Duration(r.IntN(400)) * time.Millisecond)
					}
				case 5:
					if len(subs) > 0 {
						subs[r.IntN(len(subs))].Unsubscribe()
					}
				case 6:
					if r.IntN(40) == 0 {
						n.RoomDeleted(rm)
					}
				default:
					runtime.Gosched()
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n.Shutdown(ctx)
	close(stop)
	wg.Wait()
	if ctx.Err() != nil {
		t.Error("Shutdown timed out")
	}
	f.mu.Lock()
	for h, s := range f.subs {
		if len(s.notifies) > 0 && !s.notifies[len(s.notifies)-1].Terminated {
			t.Errorf("%v: no final NOTIFY after Shutdown", h)
		}
	}
	f.mu.Unlock()
	f.verify(t)
	st := n.Stats()
	if st.Subscriptions != 0 {
		t.Errorf("stats %+v", st)
	}
	t.Logf("stats %+v", st)
	waitFor(t, "the last done", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, s := range f.subs {
			if s.inFlight > 0 {
				return false
			}
		}
		return true
	})
}
