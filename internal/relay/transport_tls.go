package relay

import (
	"net"
	"syscall"

	"github.com/parley-im/parley/internal/tlsrecord"
)

// tlsWriteSize is the most a TLS connection hands tls.Conn.Write at once:
// four records of 16 KiB, the largest plaintext a record carries (RFC 8446
// §5.1, RFC 5246 §6.2.1). Larger buffers would not make fewer records,
// only hold more memory per writing connection.
const tlsWriteSize = 64 << 10

// tlsDirect: a slice at least this long is written as it is, not copied:
// it fills whole records by itself (a large chunk's body).
const tlsDirect = 16 << 10

// tlsTransport is an MSRP connection over TLS (msrps, RFC 4975 §14.3). It
// is also the connection's net.Conn (conn.nc): a tlsrecord.Conn, the
// tls.Conn with a Read that notes whether it kept decrypted input back.
//
// An idle TLS connection holds no read buffer and its read loop waits on
// the smallest stack, as a TCP one does (readIdle, issue 15): the loop may
// wait on the TCP socket instead of inside tls.Conn.Read when tls.Conn
// holds no input the socket no longer shows (quiet). tls.Conn keeps two
// kinds: decrypted octets of a record that did not fit the caller's buffer
// (none when its last Read returned less than asked: drained), and octets
// of further records it read from the socket with the one it needed. The
// second kind is ruled out by a tlsrecord.Reader, the connection under
// tls.Conn, which never hands it octets past the end of the record it is
// reading.
type tlsTransport struct {
	*tlsrecord.Conn
	rc     syscall.RawConn // Raw's (readIdle), or nil: the loop then always reads through tls.Conn
	hsDone bool            // the handshake has completed (read goroutine; cached)
	// armedRec: the record (Rec.Records) the progress deadline was set
	// in by conn.recordRead, with conn.armedFor (read goroutine).
	armedRec uint64
}

// newTLSTransport is the server side of TLS over the accepted nc.
func newTLSTransport(s *Server, nc net.Conn) *tlsTransport {
	return &tlsTransport{Conn: tlsrecord.Server(nc, s.cfg.TLS, (*readBufs)(&s.pools), readBufSize), rc: rawConn(nc)}
}

// quiet reports whether the read loop, between messages, may wait for
// input on the TCP socket: tls.Conn holds nothing the socket no longer
// shows, nor does the tlsrecord.Reader. Only after the handshake: until then
// tls.Conn.Write too may read the socket (it runs the handshake).
func (t *tlsTransport) quiet() bool {
	if t.rc == nil || !t.Quiet() {
		return false
	}
	if !t.hsDone {
		t.hsDone = t.handshakeDone()
	}
	return t.hsDone
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
	k := coalescer{w: t.Conn, buf: bp[:0]}
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
		t.Conn.Close()
		return
	}
	if abort {
		if tc, ok := t.Raw.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
	}
	t.Raw.Close()
}

func (*tlsTransport) kind() uriKind { return kindTLS }

// handshakeDone reports whether the TLS handshake has completed. Only on
// the read goroutine, after a read returned.
func (t *tlsTransport) handshakeDone() bool { return t.ConnectionState().HandshakeComplete }

// readBufs lends a tlsrecord.Reader the server's pooled read buffers.
type readBufs pools

func (b *readBufs) Get() []byte  { return (*pools)(b).getRead() }
func (b *readBufs) Put(p []byte) { (*pools)(b).putRead(p) }
