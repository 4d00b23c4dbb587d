package netpark

import (
	"fmt"
	"syscall"
)

// poller is an epoll instance (epoll(7)) and a pipe whose read end is
// registered with id 0, written to interrupt the wait.
type poller struct {
	epfd int
	pipe [2]int
}

// armEvents: input or the peer's close, level-triggered and one-shot: the
// registration stays after it fires, disabled until it is armed again
// (EPOLL_CTL_MOD), and goes when the socket is closed.
const armEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

func newPoller() (poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return poller{}, fmt.Errorf("netpark: epoll_create1: %w", err)
	}
	var pp [2]int
	if err := syscall.Pipe2(pp[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return poller{}, fmt.Errorf("netpark: pipe2: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, pp[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(pp[0])
		syscall.Close(pp[1])
		return poller{}, fmt.Errorf("netpark: epoll_ctl: %w", err)
	}
	return poller{epfd: epfd, pipe: pp}, nil
}

// arm registers fd under id, or re-arms its registration from an earlier
// park with the new id.
func (p poller) arm(fd int, id uint64) error {
	ev := syscall.EpollEvent{Events: armEvents, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
	err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, fd, &ev)
	if err == syscall.ENOENT {
		err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev)
	}
	if err != nil {
		return fmt.Errorf("netpark: epoll_ctl: %w", err)
	}
	return nil
}

// wait waits up to timeout milliseconds (-1: no limit) for events and
// calls ready with the id of each socket that fired; an interrupt ends the
// wait too. It blocks its thread in epoll_wait (the runtime lends the
// goroutine's processor to others meanwhile).
func (p poller) wait(timeout int, ready func(id uint64)) error {
	var events [64]syscall.EpollEvent
	n, err := syscall.EpollWait(p.epfd, events[:], timeout)
	if err == syscall.EINTR {
		return nil
	}
	if err != nil {
		return fmt.Errorf("netpark: epoll_wait: %w", err) // EBADF, EINVAL: the instance is unusable
	}
	for _, ev := range events[:n] {
		id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
		if id == 0 {
			p.drain()
			continue
		}
		ready(id)
	}
	return nil
}

// drain empties the interrupt pipe.
func (p poller) drain() {
	var b [64]byte
	for {
		if n, err := syscall.Read(p.pipe[0], b[:]); n <= 0 || err != nil {
			return
		}
	}
}

// interrupt makes wait return (a full pipe has an interrupt pending
// already).
func (p poller) interrupt() { syscall.Write(p.pipe[1], []byte{0}) }

func (p poller) close() {
	syscall.Close(p.epfd)
	syscall.Close(p.pipe[0])
	syscall.Close(p.pipe[1])
}
