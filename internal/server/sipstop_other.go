//go:build !unix && !windows

package server

// shutdownSocket does nothing here: a TCP connection the focus was still
// making when the server shut down is refused by nothing but its peer or
// its timeout.
func shutdownSocket(uintptr) {}
