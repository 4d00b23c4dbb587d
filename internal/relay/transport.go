package relay

import (
	"net"
	"strings"

	"github.com/parley-im/parley/msrp"
)

// The transport seam (issue 15). A connection's read loop, queue, batches,
// congestion and close reasons are the same whatever carries its bytes;
// what differs is how a batch of queued slices reaches the socket and how
// the socket is closed. That is a transport:
//
//   - raw TCP (tcpTransport) keeps the fast path of issue 7 unchanged: one
//     writev(2) of the batch's slices from a pooled iovec array
//     (writeBuffers, writev_linux.go), and the read loop waits for input on
//     the raw file descriptor without a buffer (readIdle).
//
//   - TLS (tlsTransport, transport_tls.go) cannot writev: every Write of a
//     tls.Conn is at least one TLS record, so net.Buffers would make one
//     record (with its 22 octets of header and tag, and its own write(2))
//     of every head, body and end-line. It copies the batch into pooled
//     64 KiB buffers and writes each as one Write: records of 16 KiB,
//     the most TLS allows (RFC 8446 §5.1). Between messages the read loop
//     waits on the descriptor as over TCP (readIdle) when tls.Conn holds no
//     input the socket no longer shows: its last Read returned less than
//     asked, and a tlsrecord.Reader, the connection under it, hands it
//     no octets past the end of the record it reads (tlsTransport.quiet).
//
//   - WebSocket (wsTransport, transport_ws.go; RFC 7977) writes each
//     queued unit as one WebSocket message: the queue of a WebSocket
//     connection marks where each unit ends (conn.units).
//
// The switch never sees a transport: it queues slices on a Session as
// before. The only place the relay itself looks at the kind is binding: a
// session whose URI is msrps binds only over TLS, an msrp one only over
// plain TCP, a ;ws one only over WebSocket (route, conn.go).
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
	// kind is what the connection is: the one session URI kind it may
	// bind (RFC 4975 §14.3: an msrps URI means TLS on that hop; RFC 7977
	// §5.2: a ;ws URI, WebSocket).
	kind() uriKind
}

// uriKind is the transport an MSRP URI of ours names, and so the kind of
// connection its session binds over.
type uriKind uint8

const (
	kindTCP uriKind = iota // msrp://…;tcp
	kindTLS                // msrps://…;tcp
	kindWS                 // msrp://…;ws (WebSocket over plain HTTP)
	kindWSS                // msrps://…;ws (WebSocket over HTTPS)
)

// kindOf is the kind of a URI.
func kindOf(u msrp.URI) uriKind {
	switch ws := isWS(u); {
	case ws && u.Secure:
		return kindWSS
	case ws:
		return kindWS
	case u.Secure:
		return kindTLS
	}
	return kindTCP
}

// isWS reports whether u names the WebSocket transport (RFC 7977 §5.2.1).
func isWS(u msrp.URI) bool { return strings.EqualFold(u.Transport, "ws") }

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

func (*tcpTransport) kind() uriKind { return kindTCP }
