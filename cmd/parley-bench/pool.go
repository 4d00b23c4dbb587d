package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// errCount counts errors and keeps the first.
type errCount struct {
	n     atomic.Int64
	first atomic.Pointer[string]
}

func (e *errCount) add(err error) {
	if err == nil {
		return
	}
	e.n.Add(1)
	s := err.Error()
	e.first.CompareAndSwap(nil, &s)
}

func (e *errCount) firstErr() string {
	if p := e.first.Load(); p != nil {
		return *p
	}
	return ""
}

// poolStats is what joinAll and leaveAll measured.
type poolStats struct {
	done    int64 // successful operations
	start   time.Time
	end     time.Time // when the last operation finished
	lat     hist      // latency of each successful operation, ns
	stopped bool      // ctx ended first
}

func (s *poolStats) perSec() float64 {
	d := s.end.Sub(s.start).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(s.done) / d
}

// runPool runs op on every participant with conc of them in flight, until
// all are done or ctx ends. ok reports which succeeded.
func runPool(ctx context.Context, ps []*participant, conc int, errs *errCount, what string,
	op func(context.Context, *participant) error, after func(*participant)) (st poolStats, ok []bool) {
	ok = make([]bool, len(ps))
	var (
		next  atomic.Int64
		mu    sync.Mutex
		wg    sync.WaitGroup
		done  atomic.Int64
		endNs atomic.Int64
	)
	st.start = time.Now()
	for range max(1, min(conc, len(ps))) {
		wg.Go(func() {
			var local hist
			defer func() { mu.Lock(); st.lat.merge(&local); mu.Unlock() }()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ps) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := op(ctx, ps[i]); err != nil {
					if ctx.Err() == nil {
						errs.add(fmt.Errorf("%s %s: %w", what, ps[i].from, err))
					}
					continue
				}
				t1 := time.Now()
				local.add(int64(t1.Sub(t0)))
				ok[i] = true
				done.Add(1)
				storeMax(&endNs, int64(t1.Sub(st.start)))
				if after != nil {
					after(ps[i])
				}
			}
		})
	}
	wg.Wait()
	st.done = done.Load()
	st.end = st.start.Add(time.Duration(endNs.Load()))
	st.stopped = ctx.Err() != nil
	return st, ok
}

// storeMax raises a to v if v is larger.
func storeMax(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}
