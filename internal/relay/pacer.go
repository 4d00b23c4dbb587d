package relay

import (
	"sync"
	"time"
)

// DefaultCoalesceDelay is the default of Config.CoalesceDelay.
const DefaultCoalesceDelay = 250 * time.Microsecond

// pacer coalesces fan-out writes below saturation (issue 7). A copy that
// finds its connection's writer stopped would otherwise be written alone:
// one writev per copy, where at saturation one carries dozens. Instead the
// flush marks the connection writing and hands it to the pacer, which
// starts the writers of every connection handed to it CoalesceDelay after
// the first: copies that arrive meanwhile join the same writev. At
// saturation writers rarely stop, so the pacer is rarely involved; at low
// load it adds CoalesceDelay to a copy's way out.
//
// One goroutine per server (tracked, started by Serve), waiting on wake;
// it ends when Shutdown begins. Connections it holds keep writing = true
// until it starts their writers (or, once shut down, resets the flag: the
// connections are being closed anyway).
type pacer struct {
	mu      sync.Mutex
	conns   []*conn
	spare   []*conn
	wake    chan struct{} // capacity 1: the list became non-empty
	running bool          // the pacer goroutine is up (set by Serve)
}

// startPacerLocked starts the pacer goroutine. s.mu is held.
func (s *Server) startPacerLocked() {
	if s.cfg.CoalesceDelay <= 0 || s.shutdown {
		return
	}
	s.pace.wake = make(chan struct{}, 1)
	s.wg.Add(1)
	s.pace.mu.Lock()
	s.pace.running = true
	s.pace.mu.Unlock()
	go s.paceLoop()
}

// deferWriter hands c, whose c.writing the caller has just set, to the
// pacer; without one it starts c's writer at once. It reports false when
// the writer cannot start (shutdown), like startWriter.
func (s *Server) deferWriter(c *conn) bool {
	p := &s.pace
	p.mu.Lock()
	if !p.running {
		p.mu.Unlock()
		return c.startWriter()
	}
	p.conns = append(p.conns, c)
	first := len(p.conns) == 1
	p.mu.Unlock()
	if first {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	return true
}

func (s *Server) paceLoop() {
	defer s.wg.Done()
	p := &s.pace
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer func() {
		p.mu.Lock()
		p.running = false
		left := p.conns
		p.conns = nil
		p.mu.Unlock()
		for _, c := range left {
			c.abandonWriter()
		}
	}()
	for {
		select {
		case <-p.wake:
		case <-s.quit:
			return
		}
		t.Reset(s.cfg.CoalesceDelay)
		select {
		case <-t.C:
		case <-s.quit:
			return
		}
		p.mu.Lock()
		cs := p.conns
		p.conns = p.spare[:0]
		p.mu.Unlock()
		for _, c := range cs {
			if !c.startWriter() {
				c.abandonWriter()
			}
		}
		clear(cs)
		p.mu.Lock()
		p.spare = cs[:0]
		p.mu.Unlock()
	}
}

// abandonWriter undoes the writing flag of a connection whose writer will
// not start (shutdown closes it).
func (c *conn) abandonWriter() {
	c.mu.Lock()
	c.writing = false
	c.mu.Unlock()
}
