package server

import (
	"crypto/tls"
	"net"

	"github.com/parley-im/parley/internal/tlsrecord"
)

// SIP over TLS (RFC 3261 §26.3.1, RFC 5630): each accepted connection is a
// tls.Conn over a tlsrecord.Reader, so that between messages the guard may
// wait for input on the TCP socket itself, and park the connection, as it
// does over plain TCP (guardConn.waitIdle, ParkRead): a quiet SIP TLS
// connection then holds no goroutine and no read buffer (issue 20).

// tlsListener makes a sipTLSConn of each connection it accepts; the
// handshake runs on the connection's read goroutine (guardConn.handshake).
type tlsListener struct {
	net.Listener
	cfg *tls.Config
}

func (l *tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	t := &sipTLSConn{raw: c, drained: true}
	t.rec = tlsrecord.Reader{Conn: c, Bufs: guardBufPool{}, Size: guardReadSize}
	t.Conn = tls.Server(&t.rec, l.cfg)
	return t, nil
}

// sipTLSConn is the tls.Conn of a SIP TLS connection, with a Read that
// notes whether tls.Conn kept decrypted input back (drained). Only the
// connection's read goroutine reads it.
type sipTLSConn struct {
	*tls.Conn
	raw     net.Conn         // the TCP connection under the tls.Conn
	rec     tlsrecord.Reader // between tls.Conn and raw
	drained bool             // tls.Conn holds no decrypted input
}

// Read is tls.Conn's, noting whether it kept decrypted input back: it
// returns what one record holds at most, so less than asked means none.
func (t *sipTLSConn) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	t.drained = n < len(p)
	return n, err
}

// quiet reports whether the socket shows all the input there is: tls.Conn
// holds no decrypted octets, and the Reader none of a next record and no
// part of one. Only after the handshake (guardConn.handshake runs it
// before the first wait).
func (t *sipTLSConn) quiet() bool { return t.drained && !t.rec.Pending() }

// guardBufPool lends a tlsrecord.Reader the guard's pooled read buffers.
type guardBufPool struct{}

func (guardBufPool) Get() []byte  { return getGuardBuf() }
func (guardBufPool) Put(b []byte) { putGuardBuf(b) }
