package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

// members makes n participants, perRoom to a room.
func members(cfg *config, n, perRoom int) []*participant {
	ps := make([]*participant, n)
	for i := range ps {
		r := i / perRoom
		ps[i] = &participant{room: r, idx: i % perRoom,
			roomURI: roomURI(fmt.Sprintf("%s-%d", cfg.runPrefix, r), cfg.server),
			from:    fmt.Sprintf("sip:%s-%d-%d@parley-bench.invalid", cfg.runPrefix, r, i%perRoom)}
	}
	return ps
}

// drainer reads and discards what lean participants receive (the rooms'
// notices) after their bind, so that nothing piles up in the server; each
// reuses its frameReader's buffer. client.Sessions read for themselves.
type drainer struct{ wg sync.WaitGroup }

func (d *drainer) start(p *participant) {
	if p.nc == nil {
		return
	}
	d.wg.Go(func() {
		buf := p.fr.buf
		for {
			if _, err := p.nc.Read(buf); err != nil {
				return
			}
		}
	})
}

// benchFootprint is this process's RSS and goroutine count.
func benchFootprint() (rss int64, goroutines int) {
	rss, _, _ = procMem(os.Getpid())
	return rss, runtime.NumGoroutine()
}

// runJoin is the join mode: J joins with C in flight (INVITE → 200 → ACK →
// MSRP connect → bind 200), timed from the first INVITE to the last bind;
// then J leaves (BYE → 200) the same way.
func runJoin(ctx context.Context, cfg *config, j *joiner, res *result) {
	errs := &errCount{}
	ps := members(cfg, cfg.joins, cfg.perRoom)
	res.Participants, res.InFlight = cfg.joins, cfg.conc
	res.Rooms = (cfg.joins + cfg.perRoom - 1) / cfg.perRoom
	var dr drainer
	probe := serverProbe{pid: cfg.pid}
	probe.start()
	rss0, gor0 := benchFootprint()
	st, ok := runPool(ctx, ps, cfg.conc, errs, "join", j.join, dr.start)
	cpu, perr := probe.elapsed()
	rss1, gor1 := benchFootprint()
	res.Joins, res.JoinsPerSec, res.JoinLatency = i64(st.done), f64(round3(st.perSec())), latencyOf(&st.lat)
	if st.done > 0 {
		res.BenchRSSPer = f64(round3(float64(rss1-rss0) / float64(st.done)))
		res.BenchGorPer = f64(round3(float64(gor1-gor0) / float64(st.done)))
	}
	if cfg.pid != 0 {
		if perr != nil {
			errs.add(fmt.Errorf("server CPU: %w", perr))
		} else {
			res.ServerCPUms = f64(float64(cpu.Milliseconds()))
			if st.done > 0 {
				res.ServerCPUJoin = f64(round3(float64(cpu.Microseconds()) / float64(st.done)))
			}
		}
		if rss, hwm, err := procMem(cfg.pid); err == nil {
			res.ServerRSS, res.ServerHWM = i64(rss), i64(hwm)
		}
	}

	var joined []*participant
	for i, p := range ps {
		if ok[i] {
			joined = append(joined, p)
		}
	}
	lctx := ctx
	if ctx.Err() != nil { // still leave, bounded, so that the server is left clean
		var cancel context.CancelFunc
		lctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout(cfg))
		defer cancel()
	}
	lst, _ := runPool(lctx, joined, cfg.conc, errs, "leave", j.leave, nil)
	if ctx.Err() == nil {
		res.Leaves, res.LeavesPerSec, res.LeaveLatency = i64(lst.done), f64(round3(lst.perSec())), latencyOf(&lst.lat)
	}
	waitDrained(&dr, joined, time.Second)
	if j.ua != nil {
		res.FocusByes = i64(j.ua.focusByes.Load())
	}
	res.Errors, res.Error = errs.n.Load(), errs.firstErr()
	res.OK = res.Errors == 0 && st.done == int64(len(ps)) && lst.done == int64(len(joined)) && ctx.Err() == nil
	res.checkTargets()
}

// waitDrained waits for the drainers, closing what is left after grace.
func waitDrained(d *drainer, ps []*participant, grace time.Duration) {
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(grace):
	}
	for _, p := range ps {
		if p.nc != nil {
			p.nc.Close()
		}
	}
	<-done
}
