package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// runFanout is the fanout mode (one room) and the rooms mode (cfg.rooms
// rooms): join every participant, send S×M messages per room within the
// window, wait for every delivery (or a stall, or the deadline), then leave.
func runFanout(ctx context.Context, cfg *config, j *joiner, res *result) {
	errs := &errCount{}
	t := &traffic{cfg: cfg, errs: errs, epoch: time.Now()}
	res.Rooms, res.Participants, res.Senders, res.Messages, res.Window = cfg.rooms, cfg.participants, cfg.senders, cfg.messages, cfg.window
	res.OfferedRate = cfg.rate
	if cfg.msgRate > 0 {
		res.OfferedRate = cfg.msgRate * float64(cfg.participants-1)
	}

	var all []*participant
	t.rooms = make([][]*participant, cfg.rooms)
	t.senders = make([][]*sender, cfg.rooms)
	byP := make(map[*participant]*receiver)
	for r := range cfg.rooms {
		uri := roomURI(fmt.Sprintf("%s-%d", cfg.runPrefix, r), cfg.server)
		t.senders[r] = make([]*sender, cfg.senders)
		for i := range cfg.participants {
			p := &participant{room: r, idx: i, roomURI: uri, from: fmt.Sprintf("sip:%s-%d-%d@parley-bench.invalid", cfg.runPrefix, r, i)}
			t.rooms[r] = append(t.rooms[r], p)
			all = append(all, p)
			rc := &receiver{room: r, idx: i, p: p, got: make([]atomic.Int64, cfg.senders), tracks: make([]seqTracker, cfg.senders)}
			for k := range rc.tracks {
				rc.tracks[k] = newSeqTracker()
			}
			byP[p] = rc
			t.recv = append(t.recv, rc)
		}
	}
	// Each participant's receiver starts right after its bind, so the
	// room's join notices never pile up.
	st, ok := runPool(ctx, all, cfg.conc, errs, "join", j.join, func(p *participant) {
		rc := byP[p]
		if p.idx < cfg.senders {
			s := newSender(p, p.room, p.idx, cfg.size)
			t.senders[p.room][p.idx] = s
			rc.snd = s
		}
		t.recvWG.Add(1)
		go t.receive(rc)
	})
	res.Joins, res.JoinsPerSec = i64(st.done), f64(round3(st.perSec()))
	cleanup := func() {
		t.stopping.Store(true)
		t.sendWG.Wait()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout(cfg))
		defer cancel()
		var joined []*participant
		for i, p := range all {
			if ok[i] {
				joined = append(joined, p)
			}
		}
		runPool(cctx, joined, cfg.conc, errs, "leave", j.leave, nil)
		t.recvWG.Wait()
	}
	if st.done != int64(len(all)) {
		errs.add(fmt.Errorf("%d of %d participants joined", st.done, len(all)))
		res.TimedOut = ctx.Err() != nil
		cleanup()
		res.Errors, res.Error = errs.n.Load(), errs.firstErr()
		return
	}
	for _, rc := range t.recv {
		for _, sd := range t.senders[rc.room] {
			if sd != rc.snd {
				sd.peers = append(sd.peers, rc)
			}
		}
	}
	t.settle(ctx)

	// Measure.
	probe := serverProbe{pid: cfg.pid}
	probe.start()
	cpu0 := selfCPU()
	start := time.Since(t.epoch)
	var deadline time.Time
	if cfg.duration > 0 {
		deadline = time.Now().Add(cfg.duration)
	}
	var interval time.Duration
	nSenders := cfg.rooms * cfg.senders
	msgRate := cfg.msgRate
	if cfg.rate > 0 {
		msgRate = cfg.rate / float64(cfg.participants-1)
	}
	if msgRate > 0 {
		interval = time.Duration(float64(nSenders) / msgRate * float64(time.Second))
	}
	k := 0
	for _, ss := range t.senders {
		for _, s := range ss {
			offset := start + time.Duration(k)*interval/time.Duration(nSenders)
			k++
			t.sendWG.Add(1)
			go t.send(ctx, s, int64(cfg.messages), offset, interval, deadline)
		}
	}
	sendersDone := make(chan struct{})
	go func() { t.sendWG.Wait(); close(sendersDone) }()
	t.waitDeliveries(ctx, sendersDone, res)
	serverCPU, perr := probe.elapsed()
	selfUsed := selfCPU() - cpu0
	t.stopping.Store(true)
	<-sendersDone
	var delivered int64
	for _, rc := range t.recv {
		delivered += rc.total.Load()
	}
	t.serverFigures(res, serverCPU, perr, float64(delivered))
	if delivered > 0 {
		res.BenchCPUPer = f64(round3(float64(selfUsed.Microseconds()) / float64(delivered)))
	}

	// Leave; the leaves close the connections, which ends the receivers.
	cleanup()

	// Account.
	var (
		sent, expected int64
		c              counts
		h              hist
		notices, unexp int64
		last           int64
	)
	for _, ss := range t.senders {
		for _, s := range ss {
			sent += s.sent.Load()
			expected += s.sent.Load() * int64(cfg.participants-1)
		}
	}
	for _, rc := range t.recv {
		for k := range rc.tracks {
			if k == rc.idx {
				continue
			}
			tr := &rc.tracks[k]
			c.lost += tr.lost(uint64(t.senders[rc.room][k].sent.Load()))
			c.dup += tr.dup
			c.reordered += tr.reordered
		}
		c.deliveries += uint64(rc.total.Load())
		h.merge(&rc.hist)
		notices += rc.noticeCount.Load()
		unexp += rc.unexp
		last = max(last, rc.last)
	}
	res.Sent, res.Expected, res.Deliveries = i64(sent), i64(expected), i64(int64(c.deliveries))
	res.Lost, res.Duplicated, res.Reordered = i64(int64(c.lost)), i64(int64(c.dup)), i64(int64(c.reordered))
	res.Notices, res.Unexpected = i64(notices), i64(unexp)
	res.BodyBytes = t.senders[0][0].bodyLen
	secs := time.Duration(last - int64(start)).Seconds()
	res.Seconds = f64(round3(secs))
	if secs > 0 {
		res.DeliveriesPerSec = f64(round3(float64(c.deliveries) / secs))
		res.MessagesPerSec = f64(round3(float64(sent) / secs))
	}
	res.Latency = latencyOf(&h)
	res.Errors, res.Error = errs.n.Load(), errs.firstErr()
	res.OK = c.lost == 0 && c.dup == 0 && c.reordered == 0 && unexp == 0 && res.Errors == 0 && !res.TimedOut
	res.checkTargets()
}

// serverFigures fills the --pid figures.
func (t *traffic) serverFigures(res *result, cpu time.Duration, err error, deliveries float64) {
	if t.cfg.pid == 0 {
		return
	}
	res.ServerPID = t.cfg.pid
	if err != nil {
		t.errs.add(fmt.Errorf("server CPU: %w", err))
		return
	}
	res.ServerCPUms = f64(float64(cpu.Milliseconds()))
	if deliveries > 0 {
		res.ServerCPUPer = f64(round3(float64(cpu.Microseconds()) / deliveries))
	}
	if rss, hwm, err := procMem(t.cfg.pid); err == nil {
		res.ServerRSS, res.ServerHWM = i64(rss), i64(hwm)
	} else {
		t.errs.add(fmt.Errorf("server RSS: %w", err))
	}
}

// settle waits until the room's join notices have stopped arriving (no
// receiver counted one for 100 ms), at most 5 s.
func (t *traffic) settle(ctx context.Context) {
	end := time.Now().Add(5 * time.Second)
	last := int64(-1)
	for time.Now().Before(end) && ctx.Err() == nil {
		var n int64
		for _, rc := range t.recv {
			n += rc.noticeCount.Load()
		}
		if n == last {
			return
		}
		last = n
		time.Sleep(100 * time.Millisecond)
	}
}

// waitDeliveries waits until the senders are done and every message sent
// has reached every other participant of its room, or the deliveries stall
// for cfg.stall, or ctx ends.
func (t *traffic) waitDeliveries(ctx context.Context, sendersDone <-chan struct{}, res *result) {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	lastSum, lastSent, lastChange := int64(-1), int64(-1), time.Now()
	for {
		select {
		case <-ctx.Done():
			res.TimedOut = true
			t.errs.add(fmt.Errorf("deadline reached while waiting for deliveries"))
			return
		case <-tick.C:
		}
		var sum, sent, expected int64
		for _, rc := range t.recv {
			sum += rc.total.Load()
		}
		for _, ss := range t.senders {
			for _, s := range ss {
				sent += s.sent.Load()
				expected += s.sent.Load() * int64(t.cfg.participants-1)
			}
		}
		select {
		case <-sendersDone:
			if sum >= expected {
				return
			}
		default:
		}
		if sum != lastSum || sent != lastSent {
			lastSum, lastSent, lastChange = sum, sent, time.Now()
		} else if time.Since(lastChange) > t.cfg.stall {
			t.errs.add(fmt.Errorf("no progress for %v: %d of %d deliveries", t.cfg.stall, sum, expected))
			return
		}
	}
}
