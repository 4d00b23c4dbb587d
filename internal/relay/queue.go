package relay

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/parley-im/parley/msrp"
)

// enqueue appends bufs to the outbound queue as one unit and makes sure a
// writer runs. It never blocks on I/O and is safe from any goroutine. Going
// over Config.MaxPendingBytes closes the connection (CloseSlowConsumer) and
// drops everything queued, as ergo's sendq and nats's max_pending do: a
// slow participant must never slow the room (RFC 7701 §6.4).
func (c *conn) enqueue(bufs ...[]byte) error {
	return c.push(false, false, bufs)
}

// offer is enqueue for droppable output (Session.Offer): refused with
// ErrCongested while the connection is congested.
func (c *conn) offer(bufs ...[]byte) error {
	return c.push(true, false, bufs)
}

// arenaSize is the size of the blocks frame heads and end-lines are copied
// into (Session.EnqueueFrame), with small bodies over TCP
// (queueFrameLocked): about 30 fan-out envelopes, or 25 chat copies.
const arenaSize = 16 << 10

// arenaLight: a writer that drains its queue with less than this of its
// arena used gives the arena back to the pool (writeLoop).
const arenaLight = arenaSize / 8

// push queues bufs as one unit. With frame set, bufs is head, body, end:
// head and end are copied into the connection's arena (so the caller may
// reuse its buffer, and what the queue holds is this connection's own
// memory), the body too when it is small (queueFrameLocked), else it is
// kept by reference.
func (c *conn) push(droppable, frame bool, bufs [][]byte) error {
	if c.srv.closing.Load() {
		return ErrServerClosed // Shutdown has begun: nothing more is queued
	}
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	code := 0 // a response's status code, counted once it is queued
	if !frame {
		code = unitResponseCode(bufs)
	}
	c.mu.Lock()
	if droppable && c.state == stateOpen && (c.congested || c.pending+n > c.srv.cfg.CongestedBytes) {
		began := c.congestLocked()
		pending := c.pending
		c.mu.Unlock()
		if began {
			c.logger().Info("msrp connection congested", "pending", pending)
		}
		c.srv.stats.offersDropped.Add(1)
		return ErrCongested // not wrapped: returned for every dropped copy, it must not allocate
	}
	if c.state != stateOpen {
		c.mu.Unlock()
		return fmt.Errorf("relay: conn %d: %w", c.id, ErrConnClosed)
	}
	if c.pending+n > c.srv.cfg.MaxPendingBytes {
		pending := c.pending
		c.mu.Unlock()
		c.close(CloseSlowConsumer, fmt.Errorf("%d bytes pending, %d more over the cap of %d", pending, n, c.srv.cfg.MaxPendingBytes))
		return fmt.Errorf("relay: conn %d: %w", c.id, ErrSlowConsumer)
	}
	if frame {
		c.queueFrameLocked(bufs[0], bufs[1], bufs[2])
	} else {
		for _, b := range bufs {
			if len(b) > 0 {
				c.q = append(c.q, b)
			}
		}
	}
	if c.units {
		c.q = append(c.q, nil) // the end of the unit: one WebSocket message
	}
	if code != 0 {
		c.countSentLocked(code)
	}
	c.pending += n
	c.active = true
	start := !c.writing && len(c.q) > 0
	if start {
		c.writing = true
	}
	c.mu.Unlock()

	if start && !c.startWriter() {
		c.mu.Lock()
		c.writing = false
		c.mu.Unlock()
		return ErrServerClosed // Shutdown closes the connection
	}
	return nil
}

// copyToArena copies b into the arena and returns the copy. Appending
// within the arena's capacity never moves what earlier copies alias; a full
// arena is replaced; the writer recycles the old one once the batch that
// holds its copies is written (blocks are pooled: at saturation a
// connection fills one every ~50 copies, and allocating them drove the GC).
// c.mu is held.
func (c *conn) copyToArena(b []byte) []byte {
	if cap(c.arena)-len(c.arena) < len(b) {
		c.newArena(len(b))
	}
	start := len(c.arena)
	c.arena = append(c.arena, b...)
	return c.arena[start:len(c.arena):len(c.arena)]
}

// inlineBody is the largest body a framed chunk's copy takes into the
// arena along with its head and end-line (queueFrameLocked): a chat
// message's copy is then one contiguous slice, and the copies queued one
// after another in an arena go out as one iovec. A body of up to 1 KiB
// costs less to copy than to write as iovecs of its own (the kernel's
// per-iovec work in writev(2) was more than the copy's).
const inlineBody = 1024

// queueFrameLocked queues one framed chunk, head, body and end: head and
// end are copied into the arena, and so is a body of at most inlineBody
// octets (one slice for the whole chunk) on a connection written with
// writev(2) (c.rc: plain TCP); a larger body is queued by reference, and
// so is any body over TLS and WebSocket, which copy the batch into their
// own buffers anyway (transport.go). c.mu is held.
func (c *conn) queueFrameLocked(head, body, end []byte) {
	if len(body) > inlineBody || c.rc == nil {
		c.q = append(c.q, c.copyToArena(head))
		if len(body) > 0 {
			// Never an empty slice: on a WebSocket connection one
			// ends the unit (conn.units), which would cut the chunk
			// into two messages (RFC 7977 §4.2: one chunk, one message).
			c.q = append(c.q, body)
		}
		c.q = append(c.q, c.copyToArena(end))
		return
	}
	if n := len(head) + len(body) + len(end); cap(c.arena)-len(c.arena) < n {
		c.newArena(n)
	}
	start := len(c.arena)
	c.arena = append(c.arena, head...)
	c.arena = append(c.arena, body...)
	c.arena = append(c.arena, end...)
	c.q = append(c.q, c.arena[start:len(c.arena):len(c.arena)])
}

// newArena replaces the arena with one of at least n octets: the full one
// is kept until the writer has written what aliases it. c.mu is held.
func (c *conn) newArena(n int) {
	if len(c.arena) > 0 {
		// Queued copies still alias it: the writer recycles it once they are written.
		c.full = append(c.full, c.arena)
	}
	c.arena = c.srv.pools.getArena(n)
}

// startWriter starts writeLoop on a goroutine tracked like goFunc's, but
// without goFunc's closures: a writer starts for every burst of output.
func (c *conn) startWriter() bool {
	if !c.srv.enter() {
		return false
	}
	go c.runWriter()
	return true
}

func (c *conn) runWriter() {
	defer c.srv.wg.Done()
	c.writeLoop()
}

// writeLoop is the connection's writer: at most one runs (c.writing), it is
// started by enqueue when the queue becomes non-empty, and it returns when
// the queue is empty or the connection closes. Each round takes the whole
// queue as one batch and writes it with one net.Buffers.WriteTo (writev)
// under a write deadline, without holding c.mu.
func (c *conn) writeLoop() {
	for {
		c.mu.Lock()
		if c.state == stateClosed || len(c.q) == 0 {
			c.writing = false
			drained := c.state == stateDraining
			if drained {
				c.state = stateClosed
			}
			c.mu.Unlock()
			if drained {
				c.tr.close(false, true)
				c.cancelPark()
			}
			return
		}
		batch := c.q
		c.q, c.spare = c.spare[:0], nil
		// Arena blocks replaced so far hold only copies in this batch or
		// in earlier ones: once it is written, they can be reused.
		full := c.full
		c.full, c.fullSpare = c.fullSpare[:0], nil
		c.mu.Unlock()

		n, err := c.writeBatch(batch)
		if err == nil {
			for _, b := range full {
				c.srv.pools.putArena(b)
			}
		}
		clear(full)

		c.mu.Lock()
		if c.state != stateClosed { // close reset pending
			c.pending -= int(n)
		}
		late := c.countWrittenLocked(n)
		uncongested := c.congested && c.pending <= c.srv.cfg.CongestedBytes/2
		if uncongested {
			c.uncongestLocked()
		}
		pending := c.pending
		switch {
		case len(c.q) > 0 || c.arena == nil:
		case len(c.arena) < arenaLight && err == nil:
			// Nothing queued refers to the arena any more, and this
			// burst used little of it (a notice, a few messages): back to
			// the pool, so that a quiet connection holds none (issue 20: a
			// notice to a room of 2,000 left a 16 KiB block with each
			// member until the idle sweep). The next burst takes one from
			// the pool, not from the allocator.
			c.srv.pools.putArena(c.arena)
			c.arena, c.lent = nil, true
		default:
			// A busy connection (fan-out at saturation drains its queue
			// often): keep the block for the next round.
			c.arena = c.arena[:0]
		}
		clear(batch)
		if c.spare == nil {
			c.spare = batch[:0]
		}
		if c.fullSpare == nil {
			c.fullSpare = full[:0]
		}
		if err != nil {
			c.writing = false
		}
		c.mu.Unlock()
		if late != 0 {
			c.srv.addLateBytesOut(late)
		}
		if uncongested {
			c.logger().Debug("msrp connection no longer congested", "pending", pending)
		}
		if err != nil {
			reason := CloseWriteError
			if errors.Is(err, os.ErrDeadlineExceeded) {
				reason = CloseWriteTimeout
			}
			c.close(reason, err) // keeps an earlier reason, e.g. after net.ErrClosed
			return
		}
	}
}

// congestLocked marks the connection congested and arms the congestion
// timer, once per episode; it reports whether an episode began, which the
// caller logs once c.mu is released. c.mu is held.
func (c *conn) congestLocked() bool {
	if c.congested {
		return false
	}
	c.congested = true
	c.episode++
	episode := c.episode
	c.srv.stats.congested.Add(1)
	c.congestion = time.AfterFunc(c.srv.cfg.CongestionTimeout, func() { c.congestionExpired(episode) })
	return true
}

// uncongestLocked ends a congestion episode (the caller logs it once c.mu
// is released). c.mu is held.
func (c *conn) uncongestLocked() {
	c.congested = false
	if c.congestion != nil {
		c.congestion.Stop()
		c.congestion = nil
	}
}

// congestionExpired runs on the congestion timer's goroutine: a connection
// still congested in the same episode is closed (RFC 7701 §6.4). (A timer
// that fired while its episode was ending finds a newer episode, or none.)
func (c *conn) congestionExpired(episode uint64) {
	if !c.srv.enter() {
		return // Shutdown closes the connection
	}
	defer c.srv.wg.Done()
	c.mu.Lock()
	still := c.congested && c.episode == episode && c.state == stateOpen
	pending := c.pending
	c.mu.Unlock()
	if still {
		c.close(CloseCongested, fmt.Errorf("congested for %s, %d bytes pending", c.srv.cfg.CongestionTimeout, pending))
	}
}

// writeBatch writes batch under the per-batch write deadline.
func (c *conn) writeBatch(batch [][]byte) (int64, error) {
	if c.srv.tracing() {
		var raw []byte
		for _, b := range batch {
			raw = append(raw, b...)
		}
		c.logger().Debug("msrp write", "bytes", len(raw), "raw", string(raw))
	}
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout)); err != nil {
		return 0, err
	}
	c.srv.stats.writes.Add(1)
	return c.tr.write(c, batch) // consumes batch's elements, not its length
}

// close closes the connection with reason; the first reason recorded wins
// and is counted and logged once. CloseNormal and ClosePeer let a running
// writer flush the queue first (stateDraining; bounded by the write
// deadline): a peer that half-closes after its requests still gets their
// responses (a 400, a 424), and one that has gone makes the write fail. Any other
// reason, or a second close, closes the socket at once; a slow consumer's
// socket is aborted (RST) so that the kernel drops its unsent data. The
// read loop then fails and ends the connection's sessions.
func (c *conn) close(reason CloseReason, cause error) {
	c.mu.Lock()
	first := c.state == stateOpen
	switch {
	case c.state == stateClosed, c.state == stateDraining && reason == CloseNormal:
		c.mu.Unlock()
		return
	case first:
		c.reason = reason
		if (reason == CloseNormal || reason == ClosePeer) && c.writing {
			c.state = stateDraining
			c.mu.Unlock()
			c.srv.stats.connClosed(reason)
			c.logClose(reason, cause)
			return
		}
	}
	c.state = stateClosed
	clear(c.q)
	c.q, c.pending = nil, 0
	c.full = nil
	if c.congestion != nil {
		c.congestion.Stop()
		c.congestion = nil
	}
	reason = c.reason
	c.mu.Unlock()
	if first {
		// Counted before the socket closes: whoever sees the close (the
		// read loop, the peer) then sees the count.
		c.srv.stats.connClosed(reason)
	}
	// Abort (RST) for a peer that does not read: drop what the kernel
	// still holds for it, instead of trickling it out after the close.
	c.tr.close(reason == CloseSlowConsumer || reason == CloseWriteTimeout || reason == CloseCongested, false)
	c.cancelPark()
	if first {
		c.logClose(reason, cause)
	}
}

func (c *conn) logClose(reason CloseReason, cause error) {
	if cause != nil && (errors.Is(cause, net.ErrClosed) || reason == ClosePeer) {
		cause = nil // not news
	}
	if cause != nil {
		c.logger().Log(context.Background(), reason.level(), "msrp connection closed", "reason", reason.String(), "err", cause)
	} else {
		c.logger().Log(context.Background(), reason.level(), "msrp connection closed", "reason", reason.String())
	}
}

// closeReason returns the reason the connection was closed with.
func (c *conn) closeReason() CloseReason {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// newTID draws a transaction id from the connection's IDSource.
func (c *conn) newTID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		c.ids = new(msrp.IDSource)
	}
	return c.ids.TID()
}

// isClosed reports whether the connection's socket is closed (or closing
// after its queue).
func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state != stateOpen
}
