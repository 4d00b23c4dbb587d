package relay

import (
	"syscall"
	"unsafe"
)

// unacked is the number of octets the kernel holds for the peer that it
// has not acknowledged (SIOCOUTQ, tcp(7)); ok is false when it cannot
// tell.
func unacked(rc syscall.RawConn) (n int, ok bool) {
	var errno syscall.Errno
	err := rc.Control(func(fd uintptr) {
		var v int32
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, uintptr(syscall.TIOCOUTQ), uintptr(unsafe.Pointer(&v)))
		n = int(v)
	})
	return n, err == nil && errno == 0
}
