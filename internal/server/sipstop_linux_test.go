package server

import (
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// stalledListener is a TCP address where a connect stays in progress: a
// socket listening with a backlog of 0 whose queue is full and that never
// accepts (Linux drops the SYNs, the client retransmits them for minutes).
func stalledListener(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr // the queue is full
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("cannot fill a listen queue here")
	return ""
}

// TestShutdownAbortsDialInProgress: a TCP connection sipgo is still
// making when the server shuts down (the focus's BYE to a Contact that
// does not answer, say) fails at once, instead of being made after the
// server closed everything and kept with its reader goroutine.
func TestShutdownAbortsDialInProgress(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	addr := stalledListener(t)
	s := startStopServer(t, stopConfig(t, false))
	errc := make(chan error, 1)
	go func() { errc <- lateLookup(t, s, "TCP", addr, nil, time.Minute) }()
	// Wait until sipgo's dial has reached our dialer.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		s.sipStop.mu.Lock()
		n := len(s.sipStop.dials)
		s.sipStop.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sipgo did not dial")
		}
	}
	select {
	case err := <-errc:
		t.Fatalf("the dial ended before Shutdown: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	shutdownServer(t, s)
	select {
	case err := <-errc:
		if err == nil {
			t.Error("a dial in progress at Shutdown made a connection")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a dial in progress at Shutdown still goes on")
	}
}
