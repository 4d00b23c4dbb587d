package relay

import (
	"errors"
	"os"
	"syscall"
	"time"

	"github.com/parley-im/parley/internal/netpark"
)

// Parking: a read loop waiting for input between messages holds a
// goroutine of 2 KiB and no buffer (readIdle); with a Parker
// (Config.Parker) a connection that stays quiet holds no goroutine at all
// (issue 20). Nothing is added to the path of a busy connection: a tick
// every Config.ParkTick (parkWaiting) asks every read loop it finds waiting for
// input since the previous tick to park, by moving its read deadline to
// the past (askPark); the loop, woken with a timeout, clears the deadline
// and parks the connection (park). The Parker resumes the loop on a new
// goroutine when input comes, the peer closes or this side closes the
// socket (cancelPark).
//
// The parked wait keeps the read loop's place in the WaitGroup that
// Shutdown waits for: Shutdown closes every connection, which resumes a
// parked loop, which then ends as a blocked one would.

// idleWait is where a read loop stands with respect to parking.
type idleWait uint8

const (
	idleRunning   idleWait = iota // reading or dispatching
	idleWaiting                   // waiting for input on a fresh goroutine, parkable
	idleParkAsked                 // the park tick moved the read deadline to the past
)

// pastDeadline wakes a blocked read at once (askPark).
var pastDeadline = time.Unix(1, 0)

// DefaultParkTick is how often waiting read loops are looked at
// (Config.ParkTick): one found waiting in the same wait as at the previous
// tick, quiet for a tick at least, parks. Short, so that a burst of joins
// does not leave a goroutine per connection waiting at once (the runtime
// keeps every goroutine descriptor it ever made); long enough that a
// connection in a conversation rarely parks between two of its messages.
const DefaultParkTick = 250 * time.Millisecond

// awaitInput reads the connection's next input between messages (readIdle
// on rc). When none is ready it hands the loop to a fresh goroutine and
// reports gone; on that goroutine it waits, and parks the connection when
// the park tick asks (gone too).
func (c *conn) awaitInput(rc syscall.RawConn) (data []byte, err error, gone bool) {
	for {
		if !c.handedOff {
			data, err = c.readIdle(rc, false)
			if err != errWouldBlock {
				return data, err, false
			}
			c.handedOff = true
			if c.srv.goFunc(c.readLoop) {
				return nil, nil, true
			}
			// Shutdown has begun: wait on this goroutine.
		}
		// Only a bound connection parks: an unbound one has the bind
		// deadline, which the park tick's would replace.
		parkable := c.srv.cfg.Parker != nil && c.rdBound
		if parkable {
			c.parkMu.Lock()
			c.idleWait = idleWaiting
			c.waits++
			c.parkMu.Unlock()
		}
		data, err = c.readIdle(rc, true)
		if parkable && c.setIdleWait(idleRunning) == idleParkAsked {
			if derr := c.nc.SetReadDeadline(time.Time{}); derr != nil && !errors.Is(derr, os.ErrClosed) {
				c.logger().Debug("msrp clear park deadline", "err", derr)
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if c.park(rc) {
					return nil, nil, true
				}
				continue // not parked: wait here
			}
		}
		c.handedOff = false
		return data, err, false
	}
}

// setIdleWait sets the read loop's idle state and returns the one before.
func (c *conn) setIdleWait(w idleWait) idleWait {
	c.parkMu.Lock()
	was := c.idleWait
	c.idleWait = w
	c.parkMu.Unlock()
	return was
}

// askPark asks the read loop to park the connection if it has been
// waiting for input since the previous call, and reports whether it asked.
// Only the park tick calls it.
func (c *conn) askPark() bool {
	c.parkMu.Lock()
	defer c.parkMu.Unlock()
	if c.idleWait != idleWaiting {
		return false
	}
	if c.seenWait != c.waits {
		c.seenWait = c.waits // a new wait: asked at the next tick if it lasts
		return false
	}
	c.idleWait = idleParkAsked
	if err := c.nc.SetReadDeadline(pastDeadline); err != nil {
		c.idleWait = idleWaiting // closed: the loop wakes anyway
		return false
	}
	return true
}

// park parks the connection and reports whether it did; the read loop's
// goroutine then ends, keeping its place in the WaitGroup for resume.
func (c *conn) park(rc syscall.RawConn) bool {
	// The Reader keeps nothing between messages but the stream offset
	// (and its header array): a parked connection holds none.
	rd := c.rd
	drop := rd != nil && !rd.InMessage() && rd.BufferSize() == 0
	if drop {
		c.rd, c.rdOff = nil, rd.Offset()
	}
	c.srv.wg.Add(1) // the counter is not 0: this goroutine holds a place
	// The ticket is published before it can fire: the resumed loop, the
	// only one to park next, then never finds a stale one there.
	t := c.srv.cfg.Parker.NewTicket(c.resume)
	c.ticket.Store(t)
	if !t.Park(rc, time.Time{}) {
		c.ticket.Store(nil)
		if drop {
			c.rd = rd
		}
		c.srv.wg.Done()
		return false
	}
	// A close sets stateClosed before it closes the socket, then cancels
	// the ticket it finds (cancelPark): one that came before the ticket
	// was published shows here.
	c.mu.Lock()
	closed := c.state == stateClosed
	c.mu.Unlock()
	if closed {
		t.Cancel()
	}
	return true
}

// resume runs the read loop again on the Parker's new goroutine, in the
// place park kept.
func (c *conn) resume(netpark.Wake) {
	defer c.srv.wg.Done()
	c.ticket.Store(nil)
	c.readLoop()
}

// cancelPark resumes a parked read loop after the socket is closed: a
// closed socket leaves the Parker's interest list without a word.
func (c *conn) cancelPark() {
	if t := c.ticket.Load(); t != nil {
		t.Cancel()
	}
}

// parkWaiting asks every connection waiting for input since the previous
// call to park; it returns how many it asked. One call at a time (the park
// tick, tests).
func (s *Server) parkWaiting() int {
	if !s.cfg.Parker.Open() {
		return 0 // woken, its loop would only wait again
	}
	s.mu.RLock()
	conns := s.parkScratch[:0]
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.RUnlock()
	n := 0
	for i, c := range conns {
		if c.askPark() {
			n++
		}
		conns[i] = nil
	}
	s.parkScratch = conns[:0]
	return n
}

// startParkTickLocked arms the park tick. s.mu is held.
func (s *Server) startParkTickLocked() {
	if s.cfg.Parker != nil && s.cfg.ParkTick > 0 && s.parkTicker == nil && !s.shutdown {
		s.parkTicker = time.AfterFunc(s.cfg.ParkTick, s.parkTick)
	}
}

// parkTick runs on the park timer's goroutine.
func (s *Server) parkTick() {
	if !s.enter() {
		return // shutting down
	}
	defer s.wg.Done()
	s.parkWaiting()
	s.mu.Lock()
	if !s.shutdown {
		s.parkTicker.Reset(s.cfg.ParkTick)
	}
	s.mu.Unlock()
}
