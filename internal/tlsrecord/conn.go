package tlsrecord

import (
	"crypto/tls"
	"net"
)

// Conn is the server side of TLS over a Reader: the tls.Conn, with a Read
// that notes whether tls.Conn kept decrypted input back, so that Quiet
// tells whether the socket shows all the input there is. Only the
// connection's read goroutine reads it.
type Conn struct {
	*tls.Conn
	Raw     net.Conn // the TCP connection under the tls.Conn
	Rec     Reader   // between the tls.Conn and Raw
	drained bool     // tls.Conn holds no decrypted input
}

// Server is the server side of TLS over raw, with a Reader that borrows
// its buffers (of size octets) from bufs.
func Server(raw net.Conn, cfg *tls.Config, bufs Buffers, size int) *Conn {
	c := &Conn{Raw: raw, drained: true}
	c.Rec = Reader{Conn: raw, Bufs: bufs, Size: size}
	c.Conn = tls.Server(&c.Rec, cfg)
	return c
}

// Read is tls.Conn's, noting whether it kept decrypted input back: it
// returns what one record holds at most, so less than asked means none.
func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.drained = n < len(p)
	return n, err
}

// Quiet reports whether the socket shows all the input there is: tls.Conn
// holds no decrypted octets, and the Reader none of a next record and no
// part of one. Only meaningful after the handshake.
func (c *Conn) Quiet() bool { return c.drained && !c.Rec.Pending() }
