//go:build !linux

package relay

import "net"

type iovecs struct{}

// writeBuffers writes batch to nc (net.Buffers: writev where supported).
func (c *conn) writeBuffers(batch [][]byte) (int64, error) {
	b := net.Buffers(batch)
	return b.WriteTo(c.nc)
}
