package relay

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/parley-im/parley/msrp"
)

// Subprotocol is the WebSocket subprotocol of MSRP (RFC 7977 §4.1).
const Subprotocol = "msrp"

// closeFrameWait bounds the write of a WebSocket close frame: it is sent
// if the socket takes it at once, and skipped for a peer that does not
// read (the close that follows ends the connection anyway).
const closeFrameWait = time.Millisecond

var (
	// errWSFraming: a WebSocket message did not hold exactly one MSRP
	// message (CloseWSFraming).
	errWSFraming = errors.New("relay: a WebSocket message must hold exactly one MSRP message")
	errWSExtra   = fmt.Errorf("%w: more than one", errWSFraming)
	errWSShort   = fmt.Errorf("%w: it ended inside one, or held none", errWSFraming)
)

// ServeWebSocket is the HTTP handler of MSRP over WebSocket (RFC 7977):
// it accepts the upgrade only with the subprotocol msrp (else 400, and
// nothing is upgraded) and an Origin Config.WSCheckOrigin allows (else
// 403), then runs the connection like any other relay connection: the
// same read loop, queue, batches, limits and close reasons. Each
// WebSocket message must hold exactly one MSRP message (CloseWSFraming
// otherwise) of at most the header and chunk limits (CloseWSTooLarge).
// It returns once the connection's read loop is started; the relay owns
// the connection from then on (Shutdown closes it).
func (s *Server) ServeWebSocket(w http.ResponseWriter, r *http.Request) {
	if !offersSubprotocol(r, Subprotocol) {
		s.stats.wsRefused.Add(1)
		http.Error(w, "WebSocket subprotocol msrp required (RFC 7977)", http.StatusBadRequest)
		return
	}
	opts := &websocket.AcceptOptions{
		Subprotocols:    []string{Subprotocol},
		CompressionMode: websocket.CompressionDisabled, // frames are written by wsTransport, uncompressed
	}
	if check := s.cfg.WSCheckOrigin; check != nil {
		if !check(r) {
			s.stats.wsRefused.Add(1)
			http.Error(w, "Origin not allowed", http.StatusForbidden)
			return
		}
		opts.InsecureSkipVerify = true // checked above
	}
	if s.closing.Load() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	hw := &wsHijacker{ResponseWriter: w}
	ws, err := websocket.Accept(hw, r, opts)
	if err != nil {
		// Accept has answered (400, 403, 426) and upgraded nothing.
		s.stats.wsRefused.Add(1)
		if hw.raw != nil {
			hw.raw.Close()
		}
		return
	}
	ws.SetReadLimit(int64(wsMessageLimit(s.cfg.Limits)))
	s.stats.connsAccepted.Add(1)
	wc := &wsConn{ws: ws, raw: hw.raw, tcp: tcpUnder(hw.raw.Conn)}
	k := kindWS
	if r.TLS != nil {
		k = kindWSS
	}
	c := newConn(s, s.connIDs.Add(1), wc)
	c.rc = nil // the library reads the socket (and buffers): no readIdle, no writev
	c.tr = &wsTransport{wc: wc, c: c, k: k}
	c.units = true
	c.ws = wc
	wc.c = c
	s.register(c)
}

// wsMessageLimit is the largest WebSocket message accepted: the largest
// MSRP message the Reader accepts (header section, chunk, end-line).
func wsMessageLimit(l msrp.Limits) int {
	d := msrp.DefaultLimits()
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxChunk <= 0 {
		l.MaxChunk = d.MaxChunk
	}
	return l.MaxHeaderBytes + l.MaxChunk + 2 + 7 + 32 + 1 + 2 // CRLF, dashes, tid, flag, CRLF
}

// offersSubprotocol reports whether the upgrade request offers proto in
// Sec-WebSocket-Protocol (RFC 6455 §4.1: a comma-separated list, possibly
// in several fields).
func offersSubprotocol(r *http.Request, proto string) bool {
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(p) == proto {
				return true
			}
		}
	}
	return false
}

// wsHijacker hands the WebSocket library a wrapped connection, so that
// the relay's writer and the library's control frames share one lock.
type wsHijacker struct {
	http.ResponseWriter
	raw *wsRaw
}

func (h *wsHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("relay: the ResponseWriter cannot be hijacked")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	if brw.Writer.Buffered() > 0 {
		// Not expected: the 101 is flushed by the library before Hijack.
		if err := brw.Writer.Flush(); err != nil {
			nc.Close()
			return nil, nil, err
		}
	}
	h.raw = &wsRaw{Conn: nc, tcp: tcpUnder(nc)}
	// The library writes only control frames (pong, close) through this
	// writer: a small buffer.
	return h.raw, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(h.raw, 256)), nil
}

// wsRaw is the hijacked connection under a WebSocket (TCP, or TLS for
// wss). Every write to it takes mu: the relay's writer holds it for a
// whole batch, so that a control frame the library writes (a pong from
// the read goroutine) never lands inside one of the writer's frames.
// mu is a leaf, held during a write bounded by the batch's write deadline
// (the library bounds its own control writes by 5 s, closing the
// connection if they do not finish).
type wsRaw struct {
	net.Conn
	tcp net.Conn // the TCP connection under Conn
	mu  sync.Mutex
}

func (r *wsRaw) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Conn.Write(p)
}

// Close closes the TCP connection: a tls.Conn's Close would send
// close_notify, which blocks on a peer that does not read. The WebSocket
// close frame says the stream ends.
func (r *wsRaw) Close() error { return r.tcp.Close() }

// tcpUnder returns the connection under a TLS connection, or nc.
func tcpUnder(nc net.Conn) net.Conn {
	if tc, ok := nc.(*tls.Conn); ok {
		return tc.NetConn()
	}
	return nc
}

// wsConn is a WebSocket relay connection's net.Conn (conn.nc): Read
// yields the MSRP octets of one WebSocket message after the other and
// enforces that each holds exactly one MSRP message; deadlines apply to
// the socket; writes go through wsTransport, never through Write.
type wsConn struct {
	ws  *websocket.Conn
	raw *wsRaw
	tcp net.Conn
	c   *conn // its read goroutine's Reader tells whether a message is in progress

	// Owned by the read goroutine.
	msg   io.Reader // the WebSocket message being read; nil between messages
	fresh bool      // nothing of msg has been returned yet
	probe [1]byte
}

// Read is called by the MSRP Reader (through flushingReader) when it
// needs more input. It returns octets of one WebSocket message per call.
// The Reader asks for more while it is inside an MSRP message (the
// WebSocket message must then go on: errWSShort if it ends) or when it
// has returned every message it read (the WebSocket message must then
// end: errWSExtra if it holds more). The read loop itself checks that no
// octets are left buffered after each message (conn.readMessages).
func (w *wsConn) Read(p []byte) (int, error) {
	for {
		if w.msg == nil {
			_, m, err := w.ws.Reader(context.Background()) // text and binary alike (RFC 7977 §4.2)
			if err != nil {
				return 0, wsReadError(err)
			}
			w.msg, w.fresh = m, true
		}
		if !w.fresh && !w.c.rd.InMessage() {
			// An MSRP message of this WebSocket message has been read
			// whole: it must end here.
			n, err := w.msg.Read(w.probe[:])
			switch {
			case n > 0:
				return 0, errWSExtra
			case err == io.EOF:
				w.msg = nil
			case err != nil:
				return 0, wsReadError(err)
			}
			continue
		}
		n, err := w.msg.Read(p)
		if n > 0 {
			w.fresh = false
			return n, nil
		}
		if err == io.EOF {
			return 0, errWSShort
		}
		if err != nil {
			return 0, wsReadError(err)
		}
	}
}

// wsReadError makes a peer's close (a close frame, or EOF) io.EOF, which
// the read loop counts as ClosePeer.
func wsReadError(err error) error {
	if websocket.CloseStatus(err) != -1 || errors.Is(err, io.EOF) {
		return io.EOF
	}
	return err
}

func (w *wsConn) Write([]byte) (int, error) {
	return 0, errors.New("relay: a WebSocket connection is written by its transport")
}
func (w *wsConn) Close() error                       { return w.tcp.Close() }
func (w *wsConn) LocalAddr() net.Addr                { return w.raw.LocalAddr() }
func (w *wsConn) RemoteAddr() net.Addr               { return w.raw.RemoteAddr() }
func (w *wsConn) SetDeadline(t time.Time) error      { return w.raw.Conn.SetDeadline(t) }
func (w *wsConn) SetReadDeadline(t time.Time) error  { return w.raw.Conn.SetReadDeadline(t) }
func (w *wsConn) SetWriteDeadline(t time.Time) error { return w.raw.Conn.SetWriteDeadline(t) }

// SyscallConn is the TCP connection's (Shutdown's linger asks the kernel
// what the peer has not acknowledged).
func (w *wsConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := w.tcp.(syscall.Conn)
	if !ok {
		return nil, errors.New("relay: no raw connection")
	}
	return sc.SyscallConn()
}

// CloseWrite ends the stream after the queue was drained (Shutdown's
// linger): a close frame 1001 (going away) if the socket takes it at
// once, then a FIN.
func (w *wsConn) CloseWrite() error {
	w.sendClose(websocket.StatusGoingAway)
	if cw, ok := w.tcp.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// sendClose writes a close frame with code, unless the writer is in the
// middle of a batch (a frame now would cut one of its messages) or the
// socket does not take it within closeFrameWait: it never blocks on a
// peer that does not read.
func (w *wsConn) sendClose(code websocket.StatusCode) {
	if !w.raw.mu.TryLock() {
		return
	}
	defer w.raw.mu.Unlock()
	var f [4]byte
	f[0], f[1] = 0x88, 2 // FIN, close; 2 octets of status code (RFC 6455 §5.5.1)
	binary.BigEndian.PutUint16(f[2:], uint16(code))
	w.raw.Conn.SetWriteDeadline(time.Now().Add(closeFrameWait))
	w.raw.Conn.Write(f[:])
}

// wsTransport writes each queued unit (conn.units) as one WebSocket
// message, one frame each: RFC 7977 §4.2 wants every MSRP chunk in one
// WebSocket message and one chunk per message. The frames are binary: a
// text frame must hold UTF-8 (RFC 6455 §8.1), and an MSRP body is octets,
// cut by its sender at any octet (a chunk may end inside a character),
// in any charset. RFC 7977 lets either side use either kind.
//
// The frames are written by the relay, not by the library (which writes
// and flushes each message on its own, a write(2) and for wss a TLS
// record each): like the TLS transport, a batch is copied into pooled
// 64 KiB buffers, each one Write, slices of 16 KiB or more uncopied.
// Server frames are not masked (RFC 6455 §5.1), no extension is
// negotiated (compression is off), so a frame is a 2 to 10 octet header
// and the unit's octets.
type wsTransport struct {
	wc *wsConn
	c  *conn
	k  uriKind
}

func (t *wsTransport) write(c *conn, batch [][]byte) (int64, error) {
	raw := t.wc.raw
	raw.mu.Lock()
	defer raw.mu.Unlock()
	// The library's control frames have their own bound: the batch's
	// deadline must not outlive the batch.
	defer raw.Conn.SetWriteDeadline(time.Time{})
	bp := c.srv.pools.getCoalesce()
	defer c.srv.pools.putCoalesce(bp)
	k := coalescer{w: raw.Conn, buf: bp[:0]}
	for i := 0; i < len(batch); {
		j, n := i, 0
		for j < len(batch) && len(batch[j]) > 0 {
			n += len(batch[j])
			j++
		}
		unit := batch[i:j]
		i = j + 1 // past the unit's end mark
		if n == 0 {
			continue
		}
		if err := k.reserve(10); err != nil { // the longest frame header
			return k.wrote, err
		}
		k.buf = appendWSHeader(k.buf, n)
		for _, b := range unit {
			if err := k.add(b); err != nil {
				return k.wrote, err
			}
		}
	}
	err := k.flush()
	return k.wrote, err
}

// appendWSHeader appends the header of an unmasked, final binary frame of
// n octets (RFC 6455 §5.2).
func appendWSHeader(b []byte, n int) []byte {
	switch {
	case n <= 125:
		return append(b, 0x82, byte(n))
	case n <= 0xFFFF:
		return append(b, 0x82, 126, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0x82, 127), uint64(n))
}

// close ends the connection: a close frame with the reason's code when
// the socket takes it at once (never for a peer that stopped reading:
// abort), then the TCP connection is closed (under wss too: no
// close_notify, which could block). The library's state is released by
// the read loop (readLoop), which alone reads through it.
func (t *wsTransport) close(abort, _ bool) {
	if !abort {
		if code := wsCloseCode(t.c.closeReason()); code != 0 {
			t.wc.sendClose(code)
		}
	} else if tc, ok := t.wc.tcp.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	t.wc.tcp.Close()
}

func (t *wsTransport) kind() uriKind { return t.k }

// wsCloseCode is the close frame's status for a close reason (RFC 6455
// §7.4.1); 0: none (the peer closed, or the library has sent one).
func wsCloseCode(r CloseReason) websocket.StatusCode {
	switch r {
	case ClosePeer, CloseReadError, CloseWSTooLarge:
		return 0
	case CloseNormal:
		return websocket.StatusNormalClosure
	case CloseShutdown:
		return websocket.StatusGoingAway
	case CloseWSFraming, CloseProtocolError, CloseFramingLost:
		return websocket.StatusProtocolError
	case CloseInternalError:
		return websocket.StatusInternalError
	}
	return websocket.StatusPolicyViolation
}
