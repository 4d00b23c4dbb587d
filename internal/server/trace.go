package server

import (
	"log/slog"
	"net"
	"sync/atomic"
)

// The raw SIP trace (log.trace / -trace): every datagram and every TCP read
// and write on the SIP listeners, logged at debug level as text; over a
// WebSocket, every message (sipWSConn.trace). The MSRP trace is the
// relay's own (relay.Config.Trace). The wrappers are always in place and
// log only while on is set: the admin API switches the trace at run time
// (Server.SetTrace), at the cost of one atomic load per SIP read or write.

type tracePacketConn struct {
	net.PacketConn
	on  *atomic.Bool
	log *slog.Logger
}

func (c *tracePacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(p)
	if n > 0 && c.on.Load() {
		c.log.Debug("SIP in", "peer", addr.String(), "raw", string(p[:n]))
	}
	return n, addr, err
}

func (c *tracePacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if !c.on.Load() {
		return c.PacketConn.WriteTo(p, addr)
	}
	c.log.Debug("SIP out", "peer", addr.String(), "raw", string(p))
	return c.PacketConn.WriteTo(p, addr)
}

type traceListener struct {
	net.Listener
	on  *atomic.Bool
	log *slog.Logger
}

func (l *traceListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &traceConn{Conn: c, on: l.on, log: l.log}, nil
}

type traceConn struct {
	net.Conn
	on  *atomic.Bool
	log *slog.Logger
}

func (c *traceConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.traced(p[:n])
	}
	return n, err
}

// traced logs what was read, when the trace is on; the guard calls it for
// what it reads around the wrapper (readIdle).
func (c *traceConn) traced(p []byte) {
	if c.on.Load() {
		c.log.Debug("SIP in", "peer", c.RemoteAddr().String(), "raw", string(p))
	}
}

func (c *traceConn) Write(p []byte) (int, error) {
	if !c.on.Load() {
		return c.Conn.Write(p)
	}
	c.log.Debug("SIP out", "peer", c.RemoteAddr().String(), "raw", string(p))
	return c.Conn.Write(p)
}
