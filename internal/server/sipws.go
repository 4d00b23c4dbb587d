package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/sipcheck"
)

// SIP over WebSocket (RFC 7118) on the HTTPS listener.
//
// The HTTPS router upgrades a request that offers the subprotocol "sip"
// (coder/websocket: pings, close handshake, read limit) and hands the
// connection to sipgo's WSS transport through sipWSListener, so that
// requests and responses go through the same transaction layer, focus and
// connection pool as over TCP and TLS: the focus answers and sends its
// in-dialog requests (NOTIFY, BYE) over the client's own connection, the
// only way to reach a WebSocket client (RFC 7118 §5: its Via and Contact
// hosts are .invalid names nobody can connect to).
//
// Between the two sits sipWSConn, a net.Conn that speaks to sipgo the
// WebSocket framing sipgo's reader expects: it replays an upgrade request
// for sipgo's upgrader and swallows its 101, then hands sipgo each
// WebSocket message that passed the SIP guard as one masked text frame,
// and turns each frame sipgo writes into one WebSocket message. Every
// message is one SIP message (RFC 7118 §5: no framing by Content-Length),
// text and binary alike (§4.2), and is checked as a datagram is: a
// malformed request is answered (400 naming the field, 505, 501, …) and
// never reaches sipgo. sipWSConn starts no goroutine of its own: sipgo's
// read goroutine for the connection drives its reads, sipgo's writers its
// writes; an idle timer (time.AfterFunc) closes a connection with no
// dialog or subscription, as the guard does on TCP.

const (
	// sipWSWriteTimeout bounds the write of one message to a client: a
	// client that does not read for this long is disconnected
	// (coder/websocket closes the connection when the context ends).
	sipWSWriteTimeout = 10 * time.Second
	// sipWSReadLimit is the largest WebSocket message read: anything
	// longer closes the connection with 1009 (message too big, RFC 6455
	// §7.4.1). A message over sipWSMaxMessage but within this limit gets
	// 513 and the connection stays.
	sipWSReadLimit = 64 << 10
)

// sipWSMaxMessage is the largest SIP message handed to sipgo over a
// WebSocket: sipgo reads each into a buffer of this size and would cut a
// longer one.
var sipWSMaxMessage = int(sip.TransportBufferReadSize)

// sipWSListener is the net.Listener sipgo's WSS transport serves: its
// Accept returns the connections the HTTPS router upgraded. It owns no
// socket; Close ends Accept (and hand) for good.
type sipWSListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newSIPWSListener(addr net.Addr) *sipWSListener {
	return &sipWSListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *sipWSListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *sipWSListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *sipWSListener) Addr() net.Addr { return l.addr }

// hand gives c to sipgo's accept loop, which takes it at once (its upgrade
// of a sipWSConn reads and writes memory only); false once the listener is
// closed.
func (l *sipWSListener) hand(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	}
}

// serveSIPWebSocket upgrades r (Origin already checked by the router) to
// a SIP WebSocket connection and hands it to sipgo.
func (s *Server) serveSIPWebSocket(w http.ResponseWriter, r *http.Request) {
	hj := &tcpCloseHijacker{ResponseWriter: w}
	ws, err := websocket.Accept(hj, r, &websocket.AcceptOptions{
		Subprotocols:       []string{subprotocolSIP},
		CompressionMode:    websocket.CompressionDisabled,
		InsecureSkipVerify: true, // the router checked Origin (https.origins)
	})
	if err != nil {
		// Accept has answered (400, 426) and upgraded nothing.
		if hj.nc != nil {
			hj.nc.Close()
		}
		return
	}
	ws.SetReadLimit(sipWSReadLimit)
	c := newSIPWSConn(ws, s.guard, hj.nc.LocalAddr(), hj.nc.RemoteAddr())
	c.traceOn = &s.trace
	c.trace = s.log.With("proto", "SIP", "transport", "WSS", "peer", hj.nc.RemoteAddr().String())
	// Recorded for a tombstone at shutdown (sipstop.go) before sipgo can
	// read from it, and refused once the SIP side is stopping.
	if !s.sipStop.wsOpened(c.local, c.remote) {
		c.Close()
		return
	}
	c.onClose = func() { s.sipStop.wsClosed(c.remote) }
	if !s.sipWS.hand(c) {
		c.Close() // shutting down
	}
}

// tcpCloseHijacker hands coder/websocket the hijacked connection wrapped
// so that closing it closes the TCP connection under TLS at once: a
// tls.Conn's Close would first write close_notify, which can wait up to
// 5 s on a client that does not read (shutdown closes every connection).
type tcpCloseHijacker struct {
	http.ResponseWriter
	nc net.Conn
}

func (h *tcpCloseHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("server: the ResponseWriter cannot be hijacked")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.nc = &tcpCloser{Conn: nc}
	return h.nc, brw, nil
}

type tcpCloser struct{ net.Conn }

func (c *tcpCloser) Close() error {
	if tc, ok := c.Conn.(*tls.Conn); ok {
		return tc.NetConn().Close()
	}
	return c.Conn.Close()
}

// sipWSUpgrade is the upgrade request sipgo's upgrader reads from a
// sipWSConn (RFC 6455 §4.1; the key is the RFC's own example: the answer
// never leaves the process).
const sipWSUpgrade = "GET / HTTP/1.1\r\nHost: parleyd\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: sip\r\n\r\n"

// sipWSConn is a SIP WebSocket connection as sipgo sees it (see the top
// of this file).
type sipWSConn struct {
	ws      *websocket.Conn
	g       *sipGuard
	trace   *slog.Logger // log.trace: every message in and out, raw, while traceOn is set
	traceOn *atomic.Bool // nil: off
	local   net.Addr
	remote  net.Addr
	ip      netip.Addr // the client's, for the Via's received (RFC 3261 §18.2.1)
	ctx     context.Context
	cancel  context.CancelFunc // ends a read in progress: Close

	last atomic.Int64 // UnixNano of the last message read
	mu   sync.Mutex   // guards idle
	idle *time.Timer  // nil without sip.idle_timeout, or once closed

	closeOnce sync.Once
	onClose   func() // called by Close once; set before sipgo has the connection

	// Read side: sipgo's read goroutine only.
	upgrade []byte // what is left of sipWSUpgrade
	rd      []byte // the framed message sipgo is reading
	frame   []byte // rd's buffer
	scratch []byte // sipcheck.Received's output

	// Write side: sipgo's writers, one at a time (its WSConnection lock;
	// the upgrader's write comes before any).
	upgraded bool
	pending  []byte // octets of frames sipgo has written in part
}

func newSIPWSConn(ws *websocket.Conn, g *sipGuard, local, remote net.Addr) *sipWSConn {
	c := &sipWSConn{ws: ws, g: g, local: local, remote: remote, upgrade: []byte(sipWSUpgrade)}
	if ap, err := netip.ParseAddrPort(remote.String()); err == nil {
		c.ip = ap.Addr().Unmap()
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.last.Store(time.Now().UnixNano())
	if g.idleTimeout > 0 {
		c.mu.Lock()
		c.idle = time.AfterFunc(g.idleTimeout, c.checkIdle)
		c.mu.Unlock()
	}
	return c
}

// Read returns, in order: the upgrade request, then each checked SIP
// message as one masked text frame (sipgo's reader wants client frames
// masked; the key is zero, so the octets go unchanged).
func (c *sipWSConn) Read(p []byte) (int, error) {
	if len(c.upgrade) > 0 {
		n := copy(p, c.upgrade)
		c.upgrade = c.upgrade[n:]
		return n, nil
	}
	for len(c.rd) == 0 {
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.rd)
	c.rd = c.rd[n:]
	return n, nil
}

// next reads the next WebSocket message and frames it for sipgo if it
// passes the guard; a refused request is answered here.
func (c *sipWSConn) next() error {
	_, msg, err := c.ws.Read(c.ctx)
	if err != nil {
		// The peer's close, our Close or idle close, a read limit or
		// protocol error (coder/websocket has closed the connection with
		// its code): the stream ends.
		return io.EOF
	}
	c.last.Store(time.Now().UnixNano())
	if c.traceOn != nil && c.traceOn.Load() {
		c.trace.Debug("SIP in", "raw", string(msg))
	}
	if len(msg) == 0 {
		return nil
	}
	if keepalive(msg) {
		// RFC 5626 §3.5.1 CRLFs: sipgo answers a double CRLF with one.
		c.rd = appendMaskedFrame(c.frame[:0], msg)
		c.frame = c.rd
		return nil
	}
	if len(msg) > sipWSMaxMessage {
		if res := sipcheck.Refuse(msg, 513, "Message Too Large"); res != nil {
			c.answer(res)
			c.g.answered.Add(1)
		} else {
			c.g.dropped.Add(1)
		}
		c.g.log.Info("SIP message over WebSocket too large", "octets", len(msg), "limit", sipWSMaxMessage, "peer", addrString(c.remote))
		return nil
	}
	res := c.g.rules.Check(msg)
	switch res.Action {
	case sipcheck.Pass:
		if c.ip.IsValid() {
			msg = sipcheck.Received(c.scratch[:0], msg, c.ip)
			c.scratch = msg
		}
		c.rd = appendMaskedFrame(c.frame[:0], msg)
		c.frame = c.rd
	case sipcheck.Answer:
		c.answer(res.Response)
		c.g.refused(res, "WSS", c.remote)
	default:
		c.g.refused(res, "WSS", c.remote)
	}
	return nil
}

// answer writes a refusal as one WebSocket message.
func (c *sipWSConn) answer(b []byte) {
	if err := c.writeMessage(b); err != nil {
		c.g.log.Debug("answering a malformed SIP request failed", "error", err)
	}
}

func (c *sipWSConn) writeMessage(b []byte) error {
	if c.traceOn != nil && c.traceOn.Load() {
		c.trace.Debug("SIP out", "raw", string(b))
	}
	ctx, cancel := context.WithTimeout(c.ctx, sipWSWriteTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, b)
}

// appendMaskedFrame appends payload as one final, masked text frame with
// a zero masking key (RFC 6455 §5.2, §5.3).
func appendMaskedFrame(dst, payload []byte) []byte {
	n := len(payload)
	dst = append(dst, 0x81) // FIN, text
	switch {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, 0, 0, 0, 0) // masking key
	return append(dst, payload...)
}

// Write takes what sipgo writes: first its upgrader's 101, swallowed (the
// client got coder/websocket's), then frames, each sent to the client as
// one WebSocket message once whole.
func (c *sipWSConn) Write(p []byte) (int, error) {
	c.pending = append(c.pending, p...)
	if !c.upgraded {
		end := bytes.Index(c.pending, []byte("\r\n\r\n"))
		if end < 0 {
			return len(p), nil
		}
		if !bytes.HasPrefix(c.pending, []byte("HTTP/1.1 101 ")) {
			return 0, fmt.Errorf("server: sipgo refused the WebSocket upgrade: %q", c.pending[:end])
		}
		c.upgraded = true
		c.pending = c.pending[end+4:]
	}
	for {
		op, payload, n := parseFrame(c.pending)
		if n == 0 {
			break
		}
		var err error
		switch op {
		case 0x1, 0x2: // text, binary: sipgo writes every message in one frame
			err = c.writeMessage(payload)
		case 0x8: // close
			err = c.ws.Close(websocket.StatusNormalClosure, "")
		}
		c.pending = c.pending[n:]
		if err != nil {
			return 0, err
		}
	}
	if len(c.pending) == 0 {
		c.pending = c.pending[:0:0] // let a large message's buffer go
	}
	return len(p), nil
}

// parseFrame returns the opcode and payload of the frame at the start of
// b and its length, or n 0 if b does not hold a whole frame yet. A masked
// frame is unmasked in place.
func parseFrame(b []byte) (op byte, payload []byte, n int) {
	if len(b) < 2 {
		return 0, nil, 0
	}
	op = b[0] & 0x0f
	masked := b[1]&0x80 != 0
	size := uint64(b[1] & 0x7f)
	h := 2
	switch size {
	case 126:
		if len(b) < 4 {
			return 0, nil, 0
		}
		size, h = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return 0, nil, 0
		}
		size, h = binary.BigEndian.Uint64(b[2:]), 10
	}
	var key []byte
	if masked {
		if len(b) < h+4 {
			return 0, nil, 0
		}
		key, h = b[h:h+4], h+4
	}
	if uint64(len(b)-h) < size {
		return 0, nil, 0
	}
	payload = b[h : h+int(size)]
	for i := range key {
		for j := i; j < len(payload); j += 4 {
			payload[j] ^= key[i]
		}
	}
	return op, payload, h + int(size)
}

// checkIdle closes a connection that has sent nothing for
// sip.idle_timeout, unless a dialog or subscription came over it: the
// same rule as the guard's on TCP (GuardStats.Idle).
func (c *sipWSConn) checkIdle() {
	timeout := c.g.idleTimeout
	rest := timeout - time.Since(time.Unix(0, c.last.Load()))
	// Asked without c.mu: the focus's limits ledger stays a lock taken
	// alone (docs/DESIGN.md, lock order).
	inUse := rest <= 0 && c.g.inUse != nil && c.g.inUse(c.remote)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.idle == nil:
		return // closed
	case rest > 0:
		c.idle.Reset(rest)
		return
	case inUse:
		c.idle.Reset(timeout)
		return
	}
	c.idle = nil
	c.g.idle.Add(1)
	c.g.log.Info("idle SIP WebSocket connection with no dialog; closing it", "timeout", timeout, "peer", addrString(c.remote))
	// Off this timer's goroutine: the close handshake waits for the
	// client's close frame (at most 5 s, coder/websocket's bound).
	go c.ws.Close(websocket.StatusPolicyViolation, "idle: no dialog or subscription")
}

// Close ends the connection at once (sipgo closes it when its read loop
// ends, and at shutdown).
func (c *sipWSConn) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		if c.idle != nil {
			c.idle.Stop()
			c.idle = nil
		}
		c.mu.Unlock()
		c.cancel()
		c.ws.CloseNow()
		if c.onClose != nil {
			c.onClose()
		}
	})
	return nil
}

func (c *sipWSConn) LocalAddr() net.Addr  { return c.local }
func (c *sipWSConn) RemoteAddr() net.Addr { return c.remote }

// Deadlines are coder/websocket's business (contexts); sipgo sets none on
// its WebSocket connections unless configured to.
func (c *sipWSConn) SetDeadline(time.Time) error      { return nil }
func (c *sipWSConn) SetReadDeadline(time.Time) error  { return nil }
func (c *sipWSConn) SetWriteDeadline(time.Time) error { return nil }
