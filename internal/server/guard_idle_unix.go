//go:build unix

package server

import (
	"io"
	"net"
	"os"
	"syscall"

	"github.com/emiago/sipgo/sip"
)

// guardRaw returns the raw connection of a TCP connection, bare or in the
// trace's wrapper (returned too: readIdle traces what it reads as the
// wrapper would), on which the guard waits for input holding no buffer
// (readIdle); nil for anything else. For SIP over TLS the guard asks it
// for the TCP connection under the tls.Conn (siptls.go).
func guardRaw(c net.Conn) (syscall.RawConn, *traceConn) {
	tr, traced := c.(*traceConn)
	if traced {
		c = tr.Conn
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil, nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, nil
	}
	return rc, tr
}

// readIdle waits until the connection has input, holding no buffer while
// it waits (issue 20: an idle SIP connection costs no read buffer), then
// reads it into a pooled buffer that becomes c.buf (over TLS: that the
// Reader under the tls.Conn hands over next). Read deadlines and
// Close apply as to Conn.Read; the end of the stream is io.EOF. Unless
// wait is set, no input yet is sip.ErrReadWouldBlock.
func (c *guardConn) readIdle(wait bool) (int, error) {
	var n int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		b := getGuardBuf()
		for {
			k, err := syscall.Read(int(fd), b)
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				putGuardBuf(b)
				if !wait {
					rerr = sip.ErrReadWouldBlock
					return true
				}
				return false // wait for input, then call again
			case err != nil:
				putGuardBuf(b)
				rerr = os.NewSyscallError("read", err)
			case k == 0:
				putGuardBuf(b)
				rerr = io.EOF
			case c.tls != nil:
				c.tls.Rec.Give(b[:k]) // ciphertext: tls.Conn decrypts it (frame)
				n = k
			default:
				c.buf, c.pooled, n = b, true, k
				if c.trace != nil {
					c.trace.traced(b[:k])
				}
			}
			return true
		}
	})
	if err == nil {
		err = rerr
	}
	return n, err
}
