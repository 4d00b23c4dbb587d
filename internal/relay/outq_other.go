//go:build !linux

package relay

import "syscall"

// unacked cannot tell on this system: linger waits for the time bound.
func unacked(syscall.RawConn) (int, bool) { return 0, false }
