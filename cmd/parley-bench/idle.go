package main

import (
	"context"
	"fmt"
	"time"
)

// runIdle is the idle mode: read the server's RSS, join K participants
// (perRoom to a room) with C in flight, let them sit for -settle, read the
// RSS again: (after − before) / K is the server's RSS per participant.
// Then everyone leaves.
func runIdle(ctx context.Context, cfg *config, j *joiner, res *result) {
	errs := &errCount{}
	ps := members(cfg, cfg.participants, cfg.perRoom)
	res.Participants, res.InFlight = cfg.participants, cfg.conc
	res.Rooms = (cfg.participants + cfg.perRoom - 1) / cfg.perRoom
	var before int64
	if cfg.pid != 0 {
		rss, _, err := procMem(cfg.pid)
		if err != nil {
			errs.add(fmt.Errorf("server RSS: %w", err))
		}
		before = rss
		res.RSSBefore = i64(rss)
	}
	var dr drainer
	rss0, gor0 := benchFootprint()
	st, ok := runPool(ctx, ps, cfg.conc, errs, "join", j.join, dr.start)
	res.Joins, res.JoinsPerSec, res.JoinLatency = i64(st.done), f64(round3(st.perSec())), latencyOf(&st.lat)
	select {
	case <-ctx.Done():
	case <-time.After(cfg.settle):
	}
	rss1, gor1 := benchFootprint()
	if st.done > 0 {
		res.BenchRSSPer = f64(round3(float64(rss1-rss0) / float64(st.done)))
		res.BenchGorPer = f64(round3(float64(gor1-gor0) / float64(st.done)))
	}
	if cfg.pid != 0 {
		if rss, hwm, err := procMem(cfg.pid); err == nil {
			res.ServerRSS, res.ServerHWM = i64(rss), i64(hwm)
			if st.done > 0 {
				res.RSSPerPart = f64(round3(float64(rss-before) / float64(st.done)))
			}
		} else {
			errs.add(fmt.Errorf("server RSS: %w", err))
		}
	}
	var joined []*participant
	for i, p := range ps {
		if ok[i] {
			joined = append(joined, p)
		}
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout(cfg))
	defer cancel()
	lst, _ := runPool(lctx, joined, cfg.conc, errs, "leave", j.leave, nil)
	res.Leaves, res.LeavesPerSec = i64(lst.done), f64(round3(lst.perSec()))
	waitDrained(&dr, joined, time.Second)
	if j.ua != nil {
		res.FocusByes = i64(j.ua.focusByes.Load())
	}
	res.Errors, res.Error = errs.n.Load(), errs.firstErr()
	res.OK = res.Errors == 0 && st.done == int64(len(ps)) && lst.done == int64(len(joined)) && ctx.Err() == nil
	res.checkTargets()
}
