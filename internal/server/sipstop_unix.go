//go:build unix

package server

import "syscall"

// shutdownSocket shuts a TCP socket down both ways (shutdown(2)): a
// connect in progress fails at once, and a connection made reads the end
// of its stream.
func shutdownSocket(fd uintptr) { _ = syscall.Shutdown(int(fd), syscall.SHUT_RDWR) }
