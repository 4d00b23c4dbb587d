//go:build !unix

package server

import (
	"net"
	"syscall"
)

// guardRaw: elsewhere an idle connection keeps its read buffer.
func guardRaw(net.Conn) (syscall.RawConn, *traceConn) { return nil, nil }

func (c *guardConn) readIdle(bool) (int, error) { panic("server: readIdle without guardRaw") }
