package relay

import "net"

// The transport seam (issue 15). A connection's read loop, queue, batches,
// congestion and close reasons are the same whatever carries its bytes;
// what differs is how a batch of queued slices reaches the socket and how
// the socket is closed. That is a transport:
//
//   - raw TCP (tcpTransport) keeps the fast path of issue 7 unchanged: one
//     writev(2) of the batch's slices from a pooled iovec array
//     (writeBuffers, writev_linux.go), and the read loop waits for input on
//     the raw file descriptor without a buffer (readIdle).
//   - TLS (tlsTransport, transport_tls.go) cannot writev: every Write of a
//     tls.Conn is at least one TLS record, so net.Buffers would make one
//     record (with its 22 octets of header and tag, and its own write(2))
//     of every head, body and end-line. It copies the batch into pooled
//     64 KiB buffers and writes each as one Write: records of 16 KiB,
//     the most TLS allows (RFC 8446 §5.1). The read loop keeps its buffer:
//     tls.Conn may hold decrypted input the raw socket no longer shows, so
//     readIdle cannot wait on the descriptor.
//
// The switch never sees a transport: it queues slices on a Session as
// before. The only place the relay itself looks at the kind is binding: a
// session whose URI is msrps binds only over TLS, and an msrp one only
// over plain TCP (route, conn.go).
type transport interface {
	// write writes batch in order and returns the octets written. Only
	// the connection's writer calls it, under the batch's write deadline.
	// It may consume batch's elements (reslice them past what was written).
	write(c *conn, batch [][]byte) (int64, error)
	// close closes the socket. abort drops what the kernel still holds
	// for a peer that does not read (RST, SO_LINGER 0); graceful is a close
	// after the queue was written (stateDraining, on the writer, which may
	// block for it), where TLS says close_notify first.
	close(abort, graceful bool)
	// secure reports whether the connection is TLS: it may bind msrps
	// sessions only (RFC 4975 §14.3: an msrps URI means TLS on that hop).
	secure() bool
}

// tcpTransport is a plain TCP connection (or any net.Conn in tests): the
// conn itself, so that a connection stores its transport without an
// allocation (a pointer fits an interface value).
type tcpTransport conn

func (t *tcpTransport) write(c *conn, batch [][]byte) (int64, error) {
	return c.writeBuffers(batch)
}

func (t *tcpTransport) close(abort, _ bool) {
	if abort {
		if tc, ok := t.nc.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
	}
	t.nc.Close()
}

func (*tcpTransport) secure() bool { return false }
