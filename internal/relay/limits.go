package relay

import (
	"net"
	"net/netip"
	"time"

	"github.com/parley-im/parley/internal/source"
)

// The connection limits of issue 14 ("limits that hold"): what one peer can
// make the relay hold, whatever it sends.
//
//   - Unbound connections per source IP address (Config.MaxUnboundPerSource):
//     a connection counts from its accept until it binds its first session
//     or closes. One more from the same address is closed at once
//     (CloseSourceLimit), before anything is read from it. The bind timeout
//     still bounds how long each counted one stays.
//   - Sessions per connection (Config.MaxSessionsPerConn): the request that
//     would bind one more is answered 403 with a reason phrase (RFC 4975
//     §7.3.1: "the action is not allowed"; no other RFC 4975 code fits a
//     limit), and the session stays unbound: bound on another connection
//     within the bind timeout, it works.
//   - Progress (Config.ProgressTimeout): on a connection that has bound a
//     session, a message must arrive whole within ProgressTimeout of the
//     moment the read loop first had to wait for more of it; otherwise the
//     connection is closed with CloseStalled. The bound is a read deadline
//     (the runtime poller's timer: no goroutine), set when the read loop
//     blocks in the middle of a message and cleared when it waits between
//     messages; a message that arrives in one read sets none. RFC 4975 has
//     no such bound, and a peer trickling one byte a second would otherwise
//     hold its connection and its read buffer (up to max_chunk) for ever.
//     At the default 30 s, a 1 MiB chunk needs 35 KB/s.

// reasonTooManySessions is the reason phrase of the 403 that refuses a
// binding over Config.MaxSessionsPerConn.
const reasonTooManySessions = "Too many sessions on this connection"

// sourceOf is the IP address a connection comes from (the zero Addr when
// it is not IP: such connections are not counted).
func sourceOf(nc net.Conn) netip.Addr {
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		if ap := ta.AddrPort(); ap.IsValid() {
			return source.Key(ap.Addr())
		}
	}
	return netip.Addr{}
}

// countUnboundLocked counts the new connection c against its source's
// unbound connections, or reports false when the source already has
// MaxUnboundPerSource of them. s.mu is held.
func (s *Server) countUnboundLocked(c *conn) bool {
	src := sourceOf(c.nc)
	if !src.IsValid() {
		return true
	}
	n := s.unbound[src]
	if n >= s.cfg.MaxUnboundPerSource {
		return false
	}
	s.unbound[src] = n + 1
	c.src, c.srcCounted = src, true
	return true
}

// uncountUnboundLocked takes c out of its source's unbound connections
// (at its first bind, or when it closes without binding). s.mu is held.
func (s *Server) uncountUnboundLocked(c *conn) {
	if !c.srcCounted {
		return
	}
	c.srcCounted = false
	if n := s.unbound[c.src] - 1; n > 0 {
		s.unbound[c.src] = n
	} else {
		delete(s.unbound, c.src)
	}
}

// refuseConn closes a connection over its source's limit of unbound
// connections, unregistered and unread.
func (s *Server) refuseConn(c *conn) {
	c.close(CloseSourceLimit, nil)
	if c.debugging() {
		c.logger().Debug("msrp connection refused: too many unbound connections from its address",
			"remote", c.nc.RemoteAddr().String(), "limit", s.cfg.MaxUnboundPerSource)
	}
}

// waitingForMore runs on the read goroutine each time the Reader is about
// to block for input (flushingReader.Read): in the middle of a message on
// a bound connection, it sets the progress deadline once per message;
// between messages it clears one that is set.
func (c *conn) waitingForMore() {
	if !c.rdBound {
		return // the bind deadline applies
	}
	if c.rd != nil && c.rd.InMessage() {
		if c.armedFor != c.msgs+1 {
			c.armedFor = c.msgs + 1
			if err := c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.ProgressTimeout)); err != nil {
				c.logger().Debug("msrp set progress deadline", "err", err)
			}
		}
		return
	}
	c.disarmProgress()
}

// disarmProgress clears the progress deadline if one is set: the read
// loop waits between messages. Only on the read goroutine.
func (c *conn) disarmProgress() {
	if c.armedFor == 0 {
		return
	}
	c.armedFor = 0
	if err := c.nc.SetReadDeadline(time.Time{}); err != nil {
		c.logger().Debug("msrp clear progress deadline", "err", err)
	}
}
