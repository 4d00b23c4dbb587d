package server

import (
	"log/slog"
	"net"
)

// The raw SIP trace (log.trace / -trace): every datagram and every TCP read
// and write on the SIP listeners, logged at debug level as text; over a
// WebSocket, every message (sipWSConn.trace). The MSRP trace is the
// relay's own (relay.Config.Trace).

type tracePacketConn struct {
	net.PacketConn
	log *slog.Logger
}

func (c *tracePacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(p)
	if n > 0 {
		c.log.Debug("SIP in", "peer", addr.String(), "raw", string(p[:n]))
	}
	return n, addr, err
}

func (c *tracePacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	c.log.Debug("SIP out", "peer", addr.String(), "raw", string(p))
	return c.PacketConn.WriteTo(p, addr)
}

type traceListener struct {
	net.Listener
	log *slog.Logger
}

func (l *traceListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &traceConn{Conn: c, log: l.log.With("peer", c.RemoteAddr().String())}, nil
}

type traceConn struct {
	net.Conn
	log *slog.Logger
}

func (c *traceConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.log.Debug("SIP in", "raw", string(p[:n]))
	}
	return n, err
}

func (c *traceConn) Write(p []byte) (int, error) {
	c.log.Debug("SIP out", "raw", string(p))
	return c.Conn.Write(p)
}
