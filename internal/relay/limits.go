package relay

import (
	"net"
	"net/netip"
	"time"

	"github.com/parley-im/parley/internal/source"
	"github.com/parley-im/parley/internal/tlsrecord"
)

// The connection limits of issue 14 ("limits that hold"): what one peer can
// make the relay hold, whatever it sends.
//
//   - Unbound connections per source IP address (Config.MaxUnboundPerSource):
//     a connection counts from its accept until it binds its first session
//     or closes. One more from the same address is closed at once
//     (CloseSourceLimit), before anything is read from it. The bind timeout
//     still bounds how long each counted one stays.
//   - Connections per source IP address (Config.MaxConnsPerSource), bound
//     or not (issue 17): a connection counts from its accept until its read
//     loop has ended. One more is closed at once (CloseConnLimit), as above.
//     Sources in Config.Exempt (a gateway carrying many users) are held to
//     neither per-source limit.
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

// remoteIP is the IP address a connection comes from, an IPv4-mapped
// address as IPv4 (the zero Addr when it is not IP).
func remoteIP(nc net.Conn) netip.Addr {
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		if ap := ta.AddrPort(); ap.IsValid() {
			return ap.Addr().Unmap()
		}
	}
	return netip.Addr{}
}

// exempt reports whether a is a source the per-source limits do not hold
// (Config.Exempt).
func (s *Server) exempt(a netip.Addr) bool {
	for _, p := range s.cfg.Exempt {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// countSourceLocked counts the new connection c against its source's
// connections and unbound connections, or reports which limit the source
// has reached (nothing is counted then). A connection that is not over IP,
// or from an exempt source, is not counted. s.mu is held.
func (s *Server) countSourceLocked(c *conn) (CloseReason, bool) {
	ip := remoteIP(c.nc)
	if !ip.IsValid() || s.exempt(ip) {
		return 0, true
	}
	src := source.Key(ip)
	if s.open[src] >= s.cfg.MaxConnsPerSource {
		return CloseConnLimit, false
	}
	n := s.unbound[src]
	if n >= s.cfg.MaxUnboundPerSource {
		return CloseSourceLimit, false
	}
	s.unbound[src] = n + 1
	s.open[src]++
	c.src, c.srcCounted, c.openCounted = src, true, true
	return 0, true
}

// uncountUnboundLocked takes c out of its source's unbound connections
// (at its first bind, or when it is forgotten without binding). s.mu is
// held.
func (s *Server) uncountUnboundLocked(c *conn) {
	if !c.srcCounted {
		return
	}
	c.srcCounted = false
	decrementSource(s.unbound, c.src)
}

// uncountSourceLocked takes c out of everything its source counts, when
// the connection is forgotten. s.mu is held.
func (s *Server) uncountSourceLocked(c *conn) {
	s.uncountUnboundLocked(c)
	if c.openCounted {
		c.openCounted = false
		decrementSource(s.open, c.src)
	}
}

func decrementSource(m map[netip.Addr]int, src netip.Addr) {
	if n := m[src] - 1; n > 0 {
		m[src] = n
	} else {
		delete(m, src)
	}
}

// refuseConn closes a connection over one of its source's limits
// (CloseConnLimit or CloseSourceLimit), unregistered and unread.
func (s *Server) refuseConn(c *conn, reason CloseReason) {
	c.close(reason, nil)
	if c.debugging() {
		limit, what := s.cfg.MaxUnboundPerSource, "too many unbound connections from its address"
		if reason == CloseConnLimit {
			limit, what = s.cfg.MaxConnsPerSource, "too many connections from its address"
		}
		c.logger().Debug("msrp connection refused: "+what, "remote", c.nc.RemoteAddr().String(), "limit", limit)
	}
}

// waitingForMore runs on the read goroutine each time the Reader is about
// to block for input (flushingReader.Read): in the middle of a message on
// a bound connection, it sets the progress deadline once per message;
// between messages it clears one that is set (over TLS recordRead may
// set it again, inside a record).
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

// recordRead runs before the tlsrecord.Reader under a TLS connection's
// tls.Conn reads the socket (its BeforeRead), on the read goroutine. On a
// bound connection between messages, a record begun (mid) counts as a
// message begun: the progress deadline is set, so that a peer that sends
// part of a record and stops is closed as stalled. At a record boundary
// between messages (tls.Conn read a record that carried no data, such as
// a KeyUpdate or an empty record, or holds no more input after a read
// that filled the buffer) the read loop would rather wait on the socket
// (awaitInput, parked when quiet): the Reader returns
// tlsrecord.ErrBoundary, and the loop goes back to waiting. Only on a
// bound connection, whose handshake is done (a message came through it),
// and not with a grown read buffer, which the loop reads through
// tls.Conn.
func (c *conn) recordRead(mid bool) error {
	tt := c.tr.(*tlsTransport)
	if !c.rdBound || c.rd == nil || c.rd.InMessage() {
		return nil // the bind deadline (and the handshake's), or the progress deadline of the message
	}
	if mid {
		if c.armedFor != c.msgs+1 || tt.armedRec != tt.Rec.Records() {
			c.armedFor, tt.armedRec = c.msgs+1, tt.Rec.Records() // this record's first wait
			if err := c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.ProgressTimeout)); err != nil {
				c.logger().Debug("msrp set progress deadline", "err", err)
			}
		}
		return nil
	}
	c.disarmProgress()
	if tt.rc == nil || c.rd.BufferSize() > readBufSize {
		return nil
	}
	return tlsrecord.ErrBoundary
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
