package server

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/netpark"
	"github.com/parley-im/parley/internal/sipcheck"
	"github.com/parley-im/parley/internal/tlsrecord"
)

// The SIP guard sits between the SIP sockets and sipgo: every datagram and
// every message framed out of a TCP stream is checked by internal/sipcheck
// before sipgo parses it, so that no handler ever sees a request without
// its mandatory header fields, and a request sipgo could not parse is
// answered (400 naming the field, 505, 501, 405, 416, 420, 513) rather
// than dropped or answered by closing the connection. Malformed responses
// and ACKs are dropped. It starts no goroutines: it runs in sipgo's read
// loops.

// maxSIPMessage is the largest SIP message taken from a stream: sipgo's
// own limit (sip.ParseMaxMessageLength).
var maxSIPMessage = sip.ParseMaxMessageLength

// GuardStats counts what the SIP guard kept from sipgo.
type GuardStats struct {
	Answered uint64 // requests refused with an answer
	Dropped  uint64 // malformed responses and ACKs, and bytes that were no request
	Closed   uint64 // TCP connections closed because the stream could not be framed
	Stalled  uint64 // TCP connections closed because a message did not complete within sip.message_timeout
	Idle     uint64 // TCP connections closed after sip.idle_timeout with no dialog or subscription
	// Handshake counts TLS connections closed because their handshake
	// failed or did not finish within sip.message_timeout.
	Handshake uint64
}

type sipGuard struct {
	rules  sipcheck.Rules // for datagrams (Stream false)
	stream sipcheck.Rules // the same for TCP streams (Stream true)
	log    *slog.Logger   // rate-limited

	// Partial and idle input on TCP (RFC 3261 §18.3 leaves both to us).
	messageTimeout time.Duration            // a message begun must end within this (0: no bound)
	idleTimeout    time.Duration            // a connection silent this long is closed unless inUse (0: never)
	inUse          func(peer net.Addr) bool // whether a dialog or subscription came over the connection from peer
	answered       atomic.Uint64
	dropped        atomic.Uint64
	closed         atomic.Uint64
	stalled        atomic.Uint64
	idle           atomic.Uint64
	handshake      atomic.Uint64

	// names records the verified client certificate names of SIP TLS
	// connections (peernames.go); nil when no trusted proxy is named.
	names *peerNames

	// parker, if set, holds the read loops of quiet TCP and TLS
	// connections with no goroutine (ParkRead), once they have been quiet
	// parkAfter.
	parker    *netpark.Parker
	parkAfter time.Duration
}

// sipParkAfter is how long a SIP connection's read loop waits for input
// on a goroutine before it parks (sipGuard.parker): long enough that a
// connection carrying a burst of transactions does not park between them.
const sipParkAfter = 250 * time.Millisecond

func newSIPGuard(rules sipcheck.Rules, log *slog.Logger) *sipGuard {
	g := &sipGuard{rules: rules, stream: rules, log: slog.New(newRateLimited(log.Handler(), 20, time.Second))}
	g.rules.Stream, g.stream.Stream = false, true
	return g
}

func (g *sipGuard) stats() GuardStats {
	return GuardStats{Answered: g.answered.Load(), Dropped: g.dropped.Load(), Closed: g.closed.Load(),
		Stalled: g.stalled.Load(), Idle: g.idle.Load(), Handshake: g.handshake.Load()}
}

func (g *sipGuard) refused(res sipcheck.Result, transport string, peer net.Addr) {
	if res.Action == sipcheck.Answer {
		g.answered.Add(1)
	} else {
		g.dropped.Add(1)
	}
	if g.log.Enabled(context.Background(), slog.LevelInfo) {
		action := "answered"
		if res.Action == sipcheck.Drop {
			action = "dropped"
		}
		g.log.Info("malformed SIP message "+action, "code", res.Code, "reason", res.Reason, "transport", transport, "peer", addrString(peer))
	}
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// keepalive reports whether a datagram is only CRLFs or NULs (RFC 5626
// §3.5.1 keepalives; sipgo skips them itself).
func keepalive(b []byte) bool {
	for _, c := range b {
		if c != '\r' && c != '\n' && c != 0 {
			return false
		}
	}
	return true
}

// guardPacketConn checks each datagram read by sipgo's UDP loop, and
// stamps the top Via of a request with the address it came from
// (sipcheck.Received, RFC 3261 §18.2.1), so that sipgo's answers go back
// to the source and never to a host a forged Via names. Only sipgo's read
// loop calls ReadFrom.
type guardPacketConn struct {
	net.PacketConn
	g       *sipGuard
	scratch []byte // Received's output, copied back into the caller's buffer
}

func (c *guardPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil || keepalive(p[:n]) {
			return n, addr, err
		}
		res := c.g.rules.Check(p[:n])
		if res.Action == sipcheck.Pass {
			return c.stamp(p, n, addr), addr, nil
		}
		if res.Action == sipcheck.Answer {
			// To the datagram's source, whatever its Via says: the answer
			// goes where the bytes came from, so a forged Via cannot
			// aim it at a third party.
			if _, err := c.PacketConn.WriteTo(res.Response, addr); err != nil {
				c.g.log.Debug("answering a malformed SIP request failed", "error", err)
			}
		}
		c.g.refused(res, "UDP", addr)
	}
}

// stamp applies sipcheck.Received to the datagram p[:n] from addr and
// returns its new length. A stamped datagram that no longer fits p keeps
// its length unstamped (sipgo's buffer is 64 KiB, a datagram at most 65,507
// octets, so only a datagram within a few octets of that limit).
func (c *guardPacketConn) stamp(p []byte, n int, addr net.Addr) int {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return n
	}
	out := sipcheck.Received(c.scratch, p[:n], ua.AddrPort().Addr())
	if len(out) == n && &out[0] == &p[0] {
		return n // unchanged
	}
	c.scratch = out[:0]
	if len(out) > len(p) {
		return n
	}
	return copy(p, out)
}

// guardListener wraps each accepted connection in a guardConn.
type guardListener struct {
	net.Listener
	g         *sipGuard
	transport string // "TLS" for a TLS listener's connections; "" is TCP
}

func (l *guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	gc := &guardConn{Conn: c, g: l.g, transport: "TCP"}
	if l.transport == "TLS" {
		gc.transport, gc.shaking = "TLS", true
		inner := c
		if tr, ok := c.(*traceConn); ok {
			inner = tr.Conn // traced as plaintext: raw reads need no trace
		}
		if tc, ok := inner.(*tlsrecord.Conn); ok {
			gc.tls = tc
			gc.raw, _ = guardRaw(tc.Raw)
		}
	} else {
		gc.raw, gc.trace = guardRaw(c)
	}
	return gc, nil
}

// handshaker is a TLS connection (tls.Conn, or the trace's wrapper of one).
type handshaker interface {
	HandshakeContext(ctx context.Context) error
}

// handshake completes a TLS connection's handshake before its first read,
// on sipgo's read goroutine (the accept loop never waits for it), within
// sip.message_timeout of the first read: a client that connects and never
// finishes the handshake (or is no TLS client at all) is closed then,
// counted in GuardStats.Handshake, and no read deadline of the idle check
// (60 s, and never for a peer with a dialog) applies to it.
func (c *guardConn) handshake() error {
	c.shaking = false
	h, ok := c.Conn.(handshaker)
	if !ok {
		if tc, isTrace := c.Conn.(*traceConn); isTrace {
			h, ok = tc.Conn.(handshaker)
		}
	}
	if !ok {
		return nil
	}
	ctx := context.Background()
	if c.g.messageTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.g.messageTimeout)
		defer cancel()
	}
	if err := h.HandshakeContext(ctx); err != nil {
		c.g.handshake.Add(1)
		c.g.log.Debug("SIP TLS handshake failed; closing the connection", "error", err, "peer", addrString(c.RemoteAddr()))
		return c.end()
	}
	if c.tls != nil {
		c.tls.Rec.BeforeRead = c.recordRead
	}
	if cs, ok := h.(interface{ ConnectionState() tls.ConnectionState }); ok && c.g.names != nil {
		if names := certNames(cs.ConnectionState()); names != nil {
			c.g.names.set(addrKey(c.RemoteAddr()), names)
			c.named.Store(true)
		}
	}
	return nil
}

// Close forgets the connection's certificate names, then closes it, and
// resumes its read loop if it is parked (a closed socket leaves the
// Parker's interest list without a word).
func (c *guardConn) Close() error {
	if c.named.Load() {
		c.g.names.forget(addrKey(c.RemoteAddr()))
	}
	err := c.Conn.Close()
	c.closed.Store(true)
	if t := c.ticket.Load(); t != nil {
		t.Cancel()
	}
	return err
}

// guardConn frames the SIP messages of a TCP stream (RFC 3261 §18.3) and
// hands sipgo, in its Read, one checked message per call (or the CRLFs
// between messages, so that sipgo still answers RFC 5626 keepalives).
// Answers are written on the connection itself. Only sipgo's read loop
// calls Read.
//
// It also bounds what a peer may hold open (slowloris): a message begun
// must be complete within the guard's messageTimeout of its first byte,
// and a connection that sends nothing for idleTimeout is closed unless a
// dialog or subscription came over it (inUse). Both are read deadlines on
// the socket, set before each read; sipgo sees the end of the stream and
// closes the connection.
type guardConn struct {
	net.Conn
	g   *sipGuard
	buf []byte // bytes read and not yet framed: buf[r:w]
	r   int
	w   int
	// raw, the TCP connection's, lets the guard wait for input with no
	// buffer (readIdle): between messages buf is nil, back in the pool
	// (pooled) if it came from there. Over TLS only while the socket
	// shows all the input there is (tls.Quiet): what readIdle reads then
	// is ciphertext, given to the Reader under the tls.Conn.
	raw    syscall.RawConn
	trace  *traceConn      // the trace's wrapper raw reads around, or nil
	tls    *tlsrecord.Conn // over TLS (siptls.go), or nil
	recAt  time.Time       // over TLS: when the first socket read inside record recNo began (recordRead)
	recNo  uint64          // the Reader's Records() when recAt was taken
	pooled bool
	out    []byte // checked bytes sipgo has not read yet (aliases buf)
	err    error  // sticky: the stream cannot be framed any further

	begun time.Time // when the first byte of the unframed bytes buf[r:w] arrived
	read  time.Time // when the last read returned bytes

	transport string      // "TCP" or "TLS", for the guard's log
	shaking   bool        // a TLS handshake is still to be done (handshake)
	named     atomic.Bool // its certificate names are in g.names (Close forgets them)

	// Between messages: when the idle timeout falls (zero: none, or not
	// yet computed; ParkRead parks with it as the deadline).
	idleAt time.Time
	ticket atomic.Pointer[netpark.Ticket] // the parked wait's, while parked
	closed atomic.Bool                    // Close was called: a wait parked now is cancelled
}

const guardReadSize = 4096

// sipgo's read loop waits in WaitRead holding no read buffer of its own
// (third_party/sipgo, issue 20).
var _ sip.ReadWaiter = (*guardConn)(nil)

// ... and, once quiet, in no goroutine at all (sipGuard.parker).
var _ sip.ReadParker = (*guardConn)(nil)

// guardBufs recycles the read buffers of idle connections (readIdle).
var guardBufs = sync.Pool{New: func() any { return new([guardReadSize]byte) }}

func getGuardBuf() []byte { return guardBufs.Get().(*[guardReadSize]byte)[:] }

// putGuardBuf recycles b if it is a pooled-size buffer, whatever its
// length (a tlsrecord.Reader gives back the part it was given).
func putGuardBuf(b []byte) {
	if cap(b) == guardReadSize {
		guardBufs.Put((*[guardReadSize]byte)(b[:guardReadSize]))
	}
}

// dropBuf lets buf go, to the pool if it came from there. Nothing may
// alias it any more: out is empty and everything in it was framed.
func (c *guardConn) dropBuf() {
	if c.pooled && len(c.buf) == guardReadSize {
		putGuardBuf(c.buf)
	}
	c.buf, c.pooled = nil, false
}

func (c *guardConn) Read(p []byte) (int, error) {
	if err := c.WaitRead(true); err != nil {
		return 0, err
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// WaitRead returns when checked bytes are ready for Read, or with the error
// that ends the stream. Between messages it holds no buffer (waitIdle), so
// sipgo takes its read buffer from a pool only once input has come
// (sip.ReadWaiter, third_party/sipgo). Unless wait is set, a TCP
// connection with nothing buffered and no input returns
// sip.ErrReadWouldBlock at once: sipgo then waits on a fresh goroutine. So
// does a TLS connection once its socket shows all the input there is
// (tlsrecord.Conn.Quiet).
func (c *guardConn) WaitRead(wait bool) error {
	if c.shaking {
		if err := c.handshake(); err != nil {
			return err
		}
	}
	for len(c.out) == 0 {
		if c.err != nil {
			return c.err
		}
		var err error
		if c.raw != nil && c.r == c.w && (c.tls == nil || c.tls.Quiet()) {
			err = c.waitIdle(wait)
		} else {
			err = c.frame()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// frame frames the next message of what is buffered, checks it and makes
// it out (or answers and drops it), or reads more when no message is whole.
func (c *guardConn) frame() error {
	if c.w > c.r {
		skip, n, err := sipcheck.Frame(c.buf[c.r:c.w], maxSIPMessage)
		if skip > 0 {
			skip = min(skip, 4)
			c.out = c.buf[c.r : c.r+skip]
			c.r += skip
			return nil
		}
		if err != nil {
			c.fatal(err, n)
			return nil
		}
		if n > 0 {
			msg := c.buf[c.r : c.r+n]
			c.r += n
			// What follows the message came with the last read at the
			// earliest: the next message's clock starts there.
			c.begun = c.read
			res := c.g.stream.Check(msg)
			if res.Action == sipcheck.Pass {
				c.out = msg
				return nil
			}
			if res.Action == sipcheck.Answer {
				if _, err := c.Conn.Write(res.Response); err != nil {
					c.g.log.Debug("answering a malformed SIP request failed", "error", err)
				}
			}
			c.g.refused(res, c.transport, c.RemoteAddr())
			return nil
		}
	}
	return c.fill()
}

// waitIdle waits for the next input of a TCP connection with nothing
// buffered (or a quiet TLS one), holding no buffer (readIdle), or with
// wait false returns sip.ErrReadWouldBlock when there is none. An idle
// connection's read goroutine is parked in it, started fresh for that
// (sip.ReadWaiter), so it is called straight from WaitRead and keeps a
// small frame: the goroutine waits on the smallest stack, 2 KiB (issue
// 20). When the idle timeout finds the connection in use (a dialog's
// connection may stay silent), the check has grown the stack: it returns
// sip.ErrReadWouldBlock too, and sipgo waits again on a fresh goroutine
// rather than keep the grown stack for the connection's next quiet minute.
//
// With a Parker, the fresh goroutine waits parkAfter at most: then it
// returns sip.ErrReadWouldBlock, and sipgo parks the connection
// (ParkRead), which keeps the idle timeout.
func (c *guardConn) waitIdle(wait bool) error {
	c.r, c.w = 0, 0
	c.dropBuf()
	c.armIdle()
	d, park := c.idleAt, false
	if wait && c.g.parkAfter > 0 && c.g.parker.Open() {
		if p := time.Now().Add(c.g.parkAfter); d.IsZero() || p.Before(d) {
			d, park = p, true
		}
	}
	c.Conn.SetReadDeadline(d) // idleAt past (resumed at the idle timeout): the read times out at once
	n, err := c.readIdle(wait)
	if err == sip.ErrReadWouldBlock {
		return err
	}
	if park && errors.Is(err, os.ErrDeadlineExceeded) {
		return sip.ErrReadWouldBlock // quiet for parkAfter: sipgo parks it
	}
	c.idleAt = time.Time{} // input, or the idle timeout: the next wait starts one
	if c.tls != nil && err == nil {
		// Ciphertext, given to the Reader: frame reads it through tls.Conn,
		// and its first plaintext starts the message clock (landed).
		return nil
	}
	again, err := c.landed(n, err, false)
	if again {
		return sip.ErrReadWouldBlock
	}
	return err
}

// armIdle starts the idle timeout of a wait between messages unless one
// is running.
func (c *guardConn) armIdle() {
	if c.idleAt.IsZero() && c.g.idleTimeout > 0 {
		c.idleAt = time.Now().Add(c.g.idleTimeout)
	}
}

// ParkRead parks a quiet TCP or TLS connection in the guard's Parker
// (sip.ReadParker): sipgo's read loop calls it on the goroutine that
// waitIdle sent back with sip.ErrReadWouldBlock, and ends that goroutine
// if it reports true. The Parker calls resume on a new goroutine when
// input comes, the peer closes, Close is called, or the idle timeout
// passes; then WaitRead goes on where waitIdle stopped.
func (c *guardConn) ParkRead(resume func()) bool {
	if c.g.parker == nil || c.raw == nil || c.err != nil || len(c.out) > 0 || c.r != c.w ||
		(c.tls != nil && !c.tls.Quiet()) {
		return false
	}
	c.armIdle()
	// The ticket is published before it can fire: the resumed loop, the
	// only one to park next, then never finds a stale one there. Resumed
	// at the idle timeout, WaitRead finds idleAt past and acts on it.
	t := c.g.parker.NewTicket(func(netpark.Wake) {
		c.ticket.Store(nil)
		resume()
	})
	c.ticket.Store(t)
	if !t.Park(c.raw, c.idleAt) {
		c.ticket.Store(nil)
		return false
	}
	if c.closed.Load() {
		t.Cancel() // closed before the ticket was seen (Close)
	}
	return true
}

// fill reads more of the stream into buf, first moving what is unframed
// to its front; a buffer emptied of a large message is let go. (A plain
// TCP connection with nothing buffered waits in waitIdle instead.)
func (c *guardConn) fill() error {
	if c.r == c.w {
		c.r, c.w = 0, 0
		if len(c.buf) > guardReadSize {
			c.dropBuf() // a large message's
		}
	}
	if c.buf == nil {
		c.buf, c.pooled = getGuardBuf(), true
	}
	if c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	if c.w == len(c.buf) {
		// Frame asks for more than the buffer holds; it refuses a message
		// over maxSIPMessage, so the buffer stops growing there.
		grown := make([]byte, min(2*len(c.buf), maxSIPMessage+guardReadSize))
		copy(grown, c.buf[:c.w])
		c.dropBuf()
		c.buf = grown
	}
	for {
		pending := c.w > c.r
		if c.tls == nil {
			c.setDeadline(pending)
		} // over TLS the Reader asks recordRead before it reads the socket
		n, err := c.Conn.Read(c.buf[c.w:])
		if c.tls != nil {
			if n == 0 && errors.Is(err, tlsrecord.ErrBoundary) {
				return nil // between records and messages: WaitRead waits on the socket
			}
			if n == 0 && c.tls.Rec.Pending() {
				pending = true // a timeout inside a record: stalled
			}
		}
		if again, err := c.landed(n, err, pending); !again {
			return err
		}
	}
}

// recordRead sets the read deadline of a TLS connection's socket before
// the Reader under its tls.Conn reads it (tlsrecord.Reader.BeforeRead;
// after the handshake, on the read goroutine). A record begun counts as
// a message begun: inside a SIP message, or inside a record (mid), the
// read must end within the message timeout, so that a peer that sends
// part of either and stops is closed as stalled. Between records and
// messages the guard would rather wait on the socket (waitIdle, parked
// when quiet): the Reader returns tlsrecord.ErrBoundary, as it does when
// tls.Conn has read a record that carried no data (a KeyUpdate, an empty
// record) and goes on to the next. Without a raw connection (not unix)
// the read waits there, bounded by the idle timeout.
func (c *guardConn) recordRead(mid bool) error {
	var d time.Time
	switch {
	case c.w > c.r:
		c.recAt = time.Time{}
		if c.g.messageTimeout > 0 {
			d = c.begun.Add(c.g.messageTimeout)
		}
	case mid:
		if c.recAt.IsZero() || c.recNo != c.tls.Rec.Records() {
			c.recAt, c.recNo = time.Now(), c.tls.Rec.Records() // this record's first wait
		}
		if c.g.messageTimeout > 0 {
			d = c.recAt.Add(c.g.messageTimeout)
		}
	case c.raw != nil:
		c.recAt = time.Time{}
		return tlsrecord.ErrBoundary
	default:
		c.recAt = time.Time{}
		if c.g.idleTimeout > 0 {
			d = time.Now().Add(c.g.idleTimeout)
		}
	}
	return c.tls.Raw.SetReadDeadline(d)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// landed takes the result of a read: bytes are counted in (nil error), a
// timeout ends the stream or, for a connection in use, asks for another
// read (again); any other error ends the stream.
func (c *guardConn) landed(n int, err error, pending bool) (again bool, _ error) {
	if n > 0 {
		c.read = time.Now()
		if !pending {
			c.begun = c.read
		}
		c.w += n
		return false, nil
	}
	if isTimeout(err) {
		if pending {
			c.g.stalled.Add(1)
			c.g.log.Info("SIP message not complete within the time allowed; closing the connection",
				"timeout", c.g.messageTimeout, "buffered", c.w-c.r, "peer", addrString(c.RemoteAddr()))
			return false, c.end()
		}
		if c.g.inUse != nil && c.g.inUse(c.RemoteAddr()) {
			return true, nil // a dialog's connection may stay silent
		}
		c.g.idle.Add(1)
		c.g.log.Info("idle SIP connection with no dialog; closing it", "timeout", c.g.idleTimeout, "peer", addrString(c.RemoteAddr()))
		return false, c.end()
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return false, err
}

// setDeadline bounds the next read: by the message timeout from the first
// byte of a message begun (pending), else by the idle timeout from now.
// A connection with an inUse check never times out idle without asking it.
func (c *guardConn) setDeadline(pending bool) {
	var d time.Time
	switch {
	case pending && c.g.messageTimeout > 0:
		d = c.begun.Add(c.g.messageTimeout)
	case !pending && c.g.idleTimeout > 0:
		d = time.Now().Add(c.g.idleTimeout)
	}
	c.Conn.SetReadDeadline(d)
}

// end makes the stream end here: sipgo's read loop sees io.EOF and closes
// the connection.
func (c *guardConn) end() error {
	c.err = io.EOF
	c.buf, c.r, c.w, c.out = nil, 0, 0, nil
	return io.EOF
}

// fatal ends a stream that cannot be framed: the request is answered when
// its header section is known (head > 0), and sipgo's next Read sees the
// end of the stream and closes the connection.
func (c *guardConn) fatal(err error, head int) {
	code, reason := 400, "Bad Content-Length"
	if errors.Is(err, sipcheck.ErrTooLarge) {
		code, reason = 513, "Message Too Large"
	}
	if head > 0 {
		if res := sipcheck.Refuse(c.buf[c.r:c.r+head], code, reason); res != nil {
			if _, err := c.Conn.Write(res); err != nil {
				c.g.log.Debug("answering a malformed SIP request failed", "error", err)
			}
			c.g.answered.Add(1)
		}
	}
	c.g.closed.Add(1)
	c.g.log.Info("SIP stream cannot be framed; closing the connection", "code", code, "reason", reason, "peer", addrString(c.RemoteAddr()))
	c.err = io.EOF
	c.buf, c.r, c.w = nil, 0, 0
}
