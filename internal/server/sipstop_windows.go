package server

import "syscall"

// shutdownSocket shuts a TCP socket down both ways (shutdown): a connect
// in progress fails, and a connection made reads the end of its stream.
func shutdownSocket(fd uintptr) { _ = syscall.Shutdown(syscall.Handle(fd), syscall.SHUT_RDWR) }
