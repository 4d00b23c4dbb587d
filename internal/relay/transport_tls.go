package relay

import (
	"crypto/tls"
	"net"
)

// tlsWriteSize is the most a TLS connection hands tls.Conn.Write at once:
// four records of 16 KiB, the largest plaintext a record carries (RFC 8446
// §5.1, RFC 5246 §6.2.1). Larger buffers would not make fewer records,
// only hold more memory per writing connection.
const tlsWriteSize = 64 << 10

// tlsDirect: a slice at least this long is written as it is, not copied:
// it fills whole records by itself (a large chunk's body).
const tlsDirect = 16 << 10

// tlsTransport is an MSRP connection over TLS (msrps, RFC 4975 §14.3).
type tlsTransport struct {
	tc  *tls.Conn
	raw net.Conn // the TCP connection under tc
}

// write coalesces batch into as few Writes, and so as few TLS records, as
// possible: the slices are copied into a 64 KiB buffer borrowed from the
// server's pool for this batch, and each full buffer is one Write (four
// full records). Writing the slices one by one (net.Buffers on a tls.Conn)
// would make a record and a write(2) of each head, body and end-line of
// every copy: three records of a few dozen to a few hundred octets per
// fan-out copy, each with 22 octets of overhead and its own AEAD call.
func (t *tlsTransport) write(c *conn, batch [][]byte) (int64, error) {
	bp := c.srv.pools.getCoalesce()
	defer c.srv.pools.putCoalesce(bp)
	k := coalescer{w: t.tc, buf: bp[:0]}
	for _, b := range batch {
		if err := k.add(b); err != nil {
			return k.wrote, err
		}
	}
	err := k.flush()
	return k.wrote, err
}

// close: after the queue was written (graceful, on the writer) the peer is
// told close_notify (RFC 8446 §6.1); tls.Conn.Close bounds that write by 5
// s itself. Every other close shuts the TCP connection without it: those
// run on goroutines that must not block (a sender's fan-out finding a slow
// consumer, Shutdown closing every connection in turn), and a tls.Conn
// whose peer does not read would block them for those 5 s. MSRP frames
// every message with its end-line (RFC 4975 §7.1), so a peer tells a
// message cut short by a close from a whole one without close_notify,
// which is what RFC 8446 §6.1 has it for.
func (t *tlsTransport) close(abort, graceful bool) {
	if graceful {
		t.tc.Close()
		return
	}
	if abort {
		if tc, ok := t.raw.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
	}
	t.raw.Close()
}

func (*tlsTransport) kind() uriKind { return kindTLS }

// handshakeDone reports whether the TLS handshake has completed. Only on
// the read goroutine, after a read returned.
func (t *tlsTransport) handshakeDone() bool { return t.tc.ConnectionState().HandshakeComplete }
