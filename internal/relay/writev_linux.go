package relay

import (
	"net"
	"os"
	"syscall"
	"unsafe"
)

// maxIovecs is the most buffers one writev(2) takes (Linux's IOV_MAX).
const maxIovecs = 1024

// iovecs is a writev(2) argument array, pooled by the server.
type iovecs [maxIovecs]syscall.Iovec

// writeBuffers writes batch to nc with writev(2), as net.Buffers.WriteTo
// does, but with an iovec array borrowed from the server's pool for the
// call: net.Buffers keeps one per socket for good, grown to the largest
// batch written (up to 16 KiB), which an idle connection would hold.
// Deadlines and Close apply as to nc.Write. Elements of batch are
// consumed (resliced past what was written). Only on the writer.
func (c *conn) writeBuffers(batch [][]byte) (int64, error) {
	if c.rc == nil {
		b := net.Buffers(batch)
		return b.WriteTo(c.nc)
	}
	if c.wfn == nil {
		c.wfn = c.writev
	}
	c.wiov = c.srv.pools.getIovecs()
	defer func() {
		c.srv.pools.putIovecs(c.wiov)
		c.wiov = nil
	}()
	var total int64
	for {
		n := c.fillIovecs(batch)
		if n == 0 {
			return total, nil
		}
		c.wcnt, c.wdone, c.werr = n, 0, nil
		err := c.rc.Write(c.wfn)
		clear(c.wiov[:n])
		if err == nil {
			err = c.werr
		}
		wrote := c.wdone
		total += int64(wrote)
		for wrote > 0 {
			k := min(uintptr(len(batch[0])), wrote)
			batch[0] = batch[0][k:]
			wrote -= k
			if len(batch[0]) == 0 {
				batch = batch[1:]
			}
		}
		if err != nil {
			return total, err
		}
	}
}

// fillIovecs sets c.wiov to the start of batch, at most maxIovecs iovecs,
// and returns how many. A buffer that starts where the previous one ends
// (copies framed one after another into an arena, queueFrameLocked) joins
// its iovec: a batch of chat copies is one iovec per arena block rather
// than three per copy.
func (c *conn) fillIovecs(batch [][]byte) int {
	n := 0
	var next uintptr // the address just past the last iovec (a number only)
	for _, b := range batch {
		if len(b) == 0 {
			continue
		}
		at := uintptr(unsafe.Pointer(&b[0]))
		if at == next && n > 0 {
			c.wiov[n-1].SetLen(int(c.wiov[n-1].Len) + len(b))
			next += uintptr(len(b))
			continue
		}
		if n == maxIovecs {
			break
		}
		c.wiov[n] = syscall.Iovec{Base: &b[0]}
		c.wiov[n].SetLen(len(b))
		next = at + uintptr(len(b))
		n++
	}
	return n
}

// writev is writeBuffers' rc.Write callback: one writev(2) of the first
// wcnt iovecs. It reports false (wait until writable) on EAGAIN.
func (c *conn) writev(fd uintptr) bool {
	for {
		r, _, e := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&c.wiov[0])), uintptr(c.wcnt))
		switch e {
		case 0:
			c.wdone = r
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			c.werr = os.NewSyscallError("writev", e)
		}
		return true
	}
}
