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

// tlsListener makes a tlsrecord.Conn of each connection it accepts; the
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
	return tlsrecord.Server(c, l.cfg, guardBufPool{}, guardReadSize), nil
}

// guardBufPool lends a tlsrecord.Reader the guard's pooled read buffers.
type guardBufPool struct{}

func (guardBufPool) Get() []byte  { return getGuardBuf() }
func (guardBufPool) Put(b []byte) { putGuardBuf(b) }
