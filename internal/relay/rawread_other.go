//go:build !unix

package relay

import (
	"net"
	"syscall"
)

// rawConn: elsewhere the read loop keeps its buffer (readIdle is unused).
func rawConn(net.Conn) syscall.RawConn { return nil }

var errWouldBlock error

func (c *conn) readIdle(syscall.RawConn, bool) ([]byte, error) {
	panic("relay: readIdle without rawConn")
}
