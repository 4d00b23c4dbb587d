//go:build unix

package relay

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// rawConn returns nc's raw connection when the read loop can wait for
// input without a buffer (readIdle), or nil.
func rawConn(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// errWouldBlock: readIdle without waiting found no input.
var errWouldBlock = errors.New("relay: no input yet")

// readIdle waits until the connection has input, holding no buffer while
// it waits, then reads it into a buffer from the server's pool and returns
// what was read. Read deadlines (the bind timeout) and Close apply as to
// nc.Read. The end of the stream is io.EOF.
func (c *conn) readIdle(rc syscall.RawConn, wait bool) ([]byte, error) {
	var data []byte
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		b := c.srv.pools.getRead()
		for {
			n, err := syscall.Read(int(fd), b)
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				c.srv.pools.putRead(b)
				if !wait {
					rerr = errWouldBlock
					return true
				}
				return false // wait for input, then call again
			case err != nil:
				c.srv.pools.putRead(b)
				rerr = os.NewSyscallError("read", err)
			case n == 0:
				c.srv.pools.putRead(b)
				rerr = io.EOF
			default:
				data = b[:n]
			}
			return true
		}
	})
	if err == nil {
		err = rerr
	}
	return data, err
}
