package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-im/parley/client"
)

// The roster mode (issue 19): -watchers members of one room keep its roster
// (client.Join, roster on) while -visits visitors (client.Join, NoRoster)
// come at -rate a second, each stays -stay and leaves. For every pair of
// watcher and visitor it times the visitor's Join returning → the watcher's
// MemberJoined, and the visitor's Leave call → the watcher's MemberLeft.

const (
	// rosterSettle bounds the wait for every watcher's first roster with
	// every watcher in it.
	rosterSettle = 30 * time.Second
	// rosterDupGrace is how long the mode keeps listening once every
	// expected event has arrived, so that late duplicates are counted.
	rosterDupGrace = time.Second
	// rosterPoll is how often the mode looks whether everything arrived.
	rosterPoll = 20 * time.Millisecond
	// rosterTogether: a visitor's MemberJoined and MemberLeft that arrive
	// closer than this came from one NOTIFY (the client emits them one
	// after the other): the visit fell inside one notify window.
	rosterTogether = time.Millisecond
)

// parseStay parses -stay: a duration ("2s"), or a range LO-HI ("0-2s",
// "500ms-2s"; a bare number LO takes HI's unit) of uniformly random stays.
func parseStay(s string) (lo, hi time.Duration, err error) {
	bad := fmt.Errorf("-stay %q: want a duration (2s) or a range LO-HI (0-2s)", s)
	los, his, isRange := strings.Cut(s, "-")
	if !isRange {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return 0, 0, bad
		}
		return d, d, nil
	}
	if hi, err = time.ParseDuration(his); err != nil {
		return 0, 0, bad
	}
	if lo, err = time.ParseDuration(los); err != nil {
		if lo, err = time.ParseDuration(los + strings.TrimLeft(his, "0123456789.")); err != nil {
			return 0, 0, bad
		}
	}
	if lo < 0 || hi < lo {
		return 0, 0, fmt.Errorf("-stay %q: want 0 ≤ LO ≤ HI", s)
	}
	return lo, hi, nil
}

// visit is one visitor's stay in the room. joined and leaving are
// nanoseconds since the run's epoch (0: not yet); ok and called are written
// by the visit's goroutine and read once it has ended.
type visit struct {
	p       *participant
	at      time.Duration // planned arrival, from the first one
	stay    time.Duration
	joined  atomic.Int64 // Join returned
	leaving atomic.Int64 // Leave called
	ok      bool         // Join succeeded
	called  bool         // Leave was called before the run's deadline
}

// watcher is a member reading its roster's events. For each visitor it
// keeps when its first MemberJoined and MemberLeft arrived (ns since the
// epoch, 0: none) and how many of each.
type watcher struct {
	p     *participant
	ready chan struct{} // closed on the first RosterReset
	done  chan struct{} // closed when RosterEvents is

	mu         sync.Mutex
	joinAt     []int64
	leftAt     []int64
	joinN      []uint32
	leftN      []uint32
	outOfOrder int64 // a visitor's MemberJoined after its MemberLeft
	ended      int64 // RosterReset after the first: the roster ended
}

// rosterRun is one run of the roster mode.
type rosterRun struct {
	cfg    *config
	epoch  time.Time
	visits []*visit
	byUser map[string]int // a visitor's user part → its index in visits
}

// now is the time since the epoch, in ns, never 0.
func (rr *rosterRun) now() int64 { return max(int64(time.Since(rr.epoch)), 1) }

// userOf returns the user part of a SIP URI ("sip:user@host;params").
func userOf(uri string) string {
	uri = strings.Trim(uri, "<>")
	if _, rest, ok := strings.Cut(uri, ":"); ok {
		uri = rest
	}
	u, _, _ := strings.Cut(uri, "@")
	return u
}

// read records w's roster events until the channel is closed (the Session
// has ended). The time of an event is when this goroutine receives it.
func (rr *rosterRun) read(w *watcher) {
	defer close(w.done)
	first := true
	for ev := range w.p.sess.RosterEvents() {
		t := rr.now()
		if ev.Kind == client.RosterReset {
			if first {
				first = false
				close(w.ready)
				continue
			}
			w.mu.Lock()
			w.ended++
			w.mu.Unlock()
			continue
		}
		v, ok := rr.byUser[userOf(ev.Member.URI)]
		if !ok || ev.Kind == client.MemberChanged {
			continue // a watcher; a visitor's bind
		}
		w.mu.Lock()
		if ev.Kind == client.MemberJoined {
			if w.joinN[v] == 0 {
				w.joinAt[v] = t
			}
			if w.leftN[v] > 0 {
				w.outOfOrder++
			}
			w.joinN[v]++
		} else {
			if w.leftN[v] == 0 {
				w.leftAt[v] = t
			}
			w.leftN[v]++
		}
		w.mu.Unlock()
	}
}

// plan makes the visits: arrivals at -rate (Poisson, or evenly spaced) and
// stays uniform in [-stay LO, HI].
func (rr *rosterRun) plan(rng *rand.Rand) {
	cfg := rr.cfg
	var at time.Duration
	for i := range cfg.visits {
		stay := cfg.stayLo
		if cfg.stayHi > cfg.stayLo {
			stay += time.Duration(rng.Int64N(int64(cfg.stayHi-cfg.stayLo) + 1))
		}
		user := fmt.Sprintf("%s-v%d", cfg.runPrefix, i)
		rr.visits = append(rr.visits, &visit{at: at, stay: stay, p: &participant{idx: i,
			roomURI: roomURI(cfg.runPrefix, cfg.server), from: "sip:" + user + "@parley-bench.invalid"}})
		rr.byUser[user] = i
		gap := 1 / cfg.rate
		if cfg.arrivals == "poisson" {
			gap = rng.ExpFloat64() / cfg.rate
		}
		at += time.Duration(gap * float64(time.Second))
	}
}

// settle waits until every watcher has its first roster with every watcher
// in it, so that the visits start on a quiet room. It returns the watchers
// that have, an error for each of the others.
func (rr *rosterRun) settle(ctx context.Context, ws []*watcher, errs *errCount) []*watcher {
	deadline := time.Now().Add(rosterSettle)
	pending := ws
	for len(pending) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		var still []*watcher
		for _, w := range pending {
			select {
			case <-w.ready:
				if len(w.p.sess.Roster()) >= len(ws) {
					continue
				}
			default:
			}
			still = append(still, w)
		}
		pending = still
		if len(pending) > 0 {
			sleepCtx(ctx, rosterPoll)
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	var out []*watcher
	for _, w := range ws {
		if !containsWatcher(pending, w) {
			out = append(out, w)
			continue
		}
		errs.add(fmt.Errorf("watcher %s: no roster of %d members within %v (roster %d, RosterErr %v)",
			w.p.from, len(ws), rosterSettle, len(w.p.sess.Roster()), w.p.sess.RosterErr()))
	}
	return out
}

func containsWatcher(ws []*watcher, w *watcher) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}

// sleepCtx sleeps for d or until ctx is done; false when ctx is.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// runVisits makes the visits at their planned times; it returns when every
// visitor has left (or given up), with the visitors' own Join and Leave
// durations.
func (rr *rosterRun) runVisits(ctx context.Context, j *joiner, errs *errCount) (joins, leaves hist) {
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	t0 := time.Now()
	for _, v := range rr.visits {
		if !sleepCtx(ctx, time.Until(t0.Add(v.at))) {
			break
		}
		wg.Go(func() {
			p := v.p
			start := time.Now()
			s, err := client.Join(ctx, p.roomURI, client.Options{From: p.from, NoRoster: true, Transport: j.transport,
				Timeout: j.timeout, MessageBuffer: clientMessageBuffer, LocalAddr: j.srcIP().String() + ":0"})
			if err != nil {
				if ctx.Err() == nil {
					errs.add(fmt.Errorf("visit %s: join: %w", p.from, err))
				}
				return
			}
			v.joined.Store(rr.now())
			v.ok = true
			joinDur := time.Since(start)
			lctx := ctx
			if sleepCtx(ctx, v.stay) {
				v.called = true
			} else { // still leave, bounded, so that the server is left clean
				var cancel context.CancelFunc
				lctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout(rr.cfg))
				defer cancel()
			}
			start = time.Now()
			v.leaving.Store(rr.now())
			err = s.Leave(lctx)
			leaveDur := time.Since(start)
			if err != nil {
				errs.add(fmt.Errorf("visit %s: leave: %w", p.from, err))
			}
			mu.Lock()
			defer mu.Unlock()
			joins.add(int64(joinDur))
			if err == nil {
				leaves.add(int64(leaveDur))
			}
		})
	}
	wg.Wait()
	return joins, leaves
}

// rosterTally is what the watchers saw of the visits.
type rosterTally struct {
	expected, seen    int64
	missedJ, missedL  int64
	dup, outOfOrder   int64
	earlyJ, earlyL    int64
	ended, brief      int64 // rosters ended; pairs told in one NOTIFY
	joinLat, leaveLat hist
}

// tally counts what ws saw of the visits that were measured.
func (rr *rosterRun) tally(ws []*watcher) *rosterTally {
	t := &rosterTally{}
	for _, w := range ws {
		w.mu.Lock()
		for i, v := range rr.visits {
			if !v.ok {
				continue
			}
			t.expected++
			if w.joinN[i] == 0 {
				t.missedJ++
			} else {
				t.seen++
				t.dup += int64(w.joinN[i] - 1)
				d := w.joinAt[i] - v.joined.Load()
				if d < 0 {
					t.earlyJ++
				}
				t.joinLat.add(d)
			}
			if !v.called {
				continue
			}
			t.expected++
			if w.leftN[i] == 0 {
				t.missedL++
			} else {
				t.seen++
				t.dup += int64(w.leftN[i] - 1)
				d := w.leftAt[i] - v.leaving.Load()
				if d < 0 {
					t.earlyL++
				}
				t.leaveLat.add(d)
				if w.joinN[i] > 0 && w.leftAt[i]-w.joinAt[i] < int64(rosterTogether) {
					t.brief++
				}
			}
		}
		t.outOfOrder += w.outOfOrder
		t.ended += w.ended
		w.mu.Unlock()
	}
	return t
}

// missing counts the events ws still wait for.
func (rr *rosterRun) missing(ws []*watcher) int64 {
	var n int64
	for _, w := range ws {
		w.mu.Lock()
		for i, v := range rr.visits {
			if v.ok && w.joinN[i] == 0 {
				n++
			}
			if v.called && w.leftN[i] == 0 {
				n++
			}
		}
		w.mu.Unlock()
	}
	return n
}

// runRoster is the roster mode: join the watchers, wait for their rosters,
// run the visits, wait up to -deadline for every watcher's events, report,
// and let the watchers leave.
func runRoster(ctx context.Context, cfg *config, j *joiner, res *result) {
	errs := &errCount{}
	seed := cfg.seed
	if seed == 0 {
		seed = rand.Int64N(1 << 53)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
	rr := &rosterRun{cfg: cfg, epoch: time.Now(), byUser: make(map[string]int, cfg.visits)}
	rr.plan(rng)
	res.Rooms, res.Participants, res.InFlight = 1, cfg.watchers, cfg.conc
	res.Watchers, res.Visits, res.VisitRate, res.Arrivals, res.Seed = cfg.watchers, cfg.visits, cfg.rate, cfg.arrivals, seed
	res.Stay = cfg.stayLo.String()
	if cfg.stayHi != cfg.stayLo {
		res.Stay += "-" + cfg.stayHi.String()
	}

	// The watchers, each reading its roster from its first event on.
	ps := make([]*participant, cfg.watchers)
	ws := make([]*watcher, cfg.watchers)
	for i := range ps {
		ps[i] = &participant{idx: i, roomURI: roomURI(cfg.runPrefix, cfg.server),
			from: fmt.Sprintf("sip:%s-w%d@parley-bench.invalid", cfg.runPrefix, i)}
		ws[i] = &watcher{p: ps[i], ready: make(chan struct{}), done: make(chan struct{}),
			joinAt: make([]int64, cfg.visits), leftAt: make([]int64, cfg.visits),
			joinN: make([]uint32, cfg.visits), leftN: make([]uint32, cfg.visits)}
	}
	byP := make(map[*participant]*watcher, len(ps))
	for i, p := range ps {
		byP[p] = ws[i]
	}
	joinWatcher := func(ctx context.Context, p *participant) error {
		s, err := client.Join(ctx, p.roomURI, client.Options{From: p.from, Transport: j.transport,
			Timeout: j.timeout, MessageBuffer: clientMessageBuffer, LocalAddr: j.srcIP().String() + ":0",
			RosterBuffer: max(client.DefaultRosterBuffer, 2*cfg.watchers+4*cfg.visits)})
		if err != nil {
			return err
		}
		p.sess = s
		return nil
	}
	st, ok := runPool(ctx, ps, cfg.conc, errs, "join watcher", joinWatcher, func(p *participant) {
		go rr.read(byP[p])
	})
	res.WatcherJoinSecs = f64(round3(st.end.Sub(st.start).Seconds()))
	var joinedPs []*participant
	var joinedWs []*watcher
	for i, p := range ps {
		if ok[i] {
			joinedPs, joinedWs = append(joinedPs, p), append(joinedWs, ws[i])
		}
	}
	defer func() {
		// The watchers leave, bounded, whatever happened; their readers end
		// with their Sessions.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout(cfg))
		defer cancel()
		runPool(lctx, joinedPs, cfg.conc, errs, "leave watcher", j.leave, nil)
		for _, w := range joinedWs {
			select {
			case <-w.done:
			case <-lctx.Done():
			}
		}
		res.Errors, res.Error = errs.n.Load(), errs.firstErr()
		res.OK = res.OK && res.Errors == 0 && ctx.Err() == nil
	}()
	measured := rr.settle(ctx, joinedWs, errs)
	if ctx.Err() != nil || len(measured) == 0 {
		return // nothing to measure: the errors say why
	}

	// The visits, then the wait for the last events.
	probe := serverProbe{pid: cfg.pid}
	probe.start()
	t0 := time.Now()
	vj, vl := rr.runVisits(ctx, j, errs)
	res.Joins, res.JoinLatency = i64(int64(vj.n)), latencyOf(&vj)
	res.Leaves, res.LeaveLatency = i64(int64(vl.n)), latencyOf(&vl)
	if ctx.Err() == nil {
		dctx, cancel := context.WithTimeout(ctx, cfg.deadline)
		for rr.missing(measured) > 0 && sleepCtx(dctx, rosterPoll) {
		}
		cancel()
		if rr.missing(measured) == 0 {
			sleepCtx(ctx, rosterDupGrace)
		}
	}
	res.Seconds = f64(round3(time.Since(t0).Seconds()))
	if cpu, err := probe.elapsed(); err != nil {
		errs.add(fmt.Errorf("server CPU: %w", err))
	} else if cfg.pid != 0 {
		res.ServerCPUms = f64(float64(cpu.Milliseconds()))
		if rss, hwm, err := procMem(cfg.pid); err == nil {
			res.ServerRSS, res.ServerHWM = i64(rss), i64(hwm)
		}
	}

	t := rr.tally(measured)
	var dropped int64
	for _, w := range measured {
		dropped += int64(w.p.sess.RosterDropped())
	}
	res.Measured = len(measured)
	res.ExpectedEvents, res.RosterEvents = i64(t.expected), i64(t.seen)
	res.MissedJoins, res.MissedLeaves, res.Missed = i64(t.missedJ), i64(t.missedL), i64(t.missedJ+t.missedL)
	res.Duplicated, res.OutOfOrder = i64(t.dup), i64(t.outOfOrder)
	res.EarlyJoins, res.EarlyLeaves = i64(t.earlyJ), i64(t.earlyL)
	res.RosterDropped, res.RosterEnded, res.BriefPairs = i64(dropped), i64(t.ended), i64(t.brief)
	res.RosterJoinLatency, res.RosterLeaveLatency = latencyIn(&t.joinLat, time.Millisecond), latencyIn(&t.leaveLat, time.Millisecond)
	res.OK = t.missedJ+t.missedL == 0 && t.dup == 0 && t.outOfOrder == 0 && t.ended == 0 &&
		len(measured) == cfg.watchers && vj.n == uint64(cfg.visits)
	res.checkTargets()
}
