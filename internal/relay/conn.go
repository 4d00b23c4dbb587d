package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/parley-im/parley/internal/netpark"
	"github.com/parley-im/parley/internal/tlsrecord"
	"github.com/parley-im/parley/msrp"
)

// connState is the life cycle of a connection's output side.
type connState uint8

const (
	stateOpen     connState = iota
	stateDraining           // closing: the writer flushes the queue, then closes the socket
	stateClosed             // socket closed
)

// conn is one accepted MSRP connection: a read loop (readLoop, this file)
// and a bounded outbound queue with an on-demand writer (queue.go).
type conn struct {
	srv *Server
	id  uint64
	nc  net.Conn
	rc  syscall.RawConn // nc's raw connection (readIdle, writeBuffers), or nil
	tr  transport       // how batches are written and the socket closed (transport.go)
	ws  *wsConn         // the WebSocket under nc (transport_ws.go), or nil

	// Guarded by srv.mu. (The small fields of each group are together:
	// the struct stays in a smaller size class.)
	sessions    map[*Session]struct{} // sessions bound to this connection
	src         netip.Addr            // the peer's IP address
	everBound   bool                  // a session has been bound (the bind deadline is cleared)
	retired     bool                  // its last session was closed by Session.Close: bind nothing new
	srcCounted  bool                  // counted in srv.unbound (accepted, nothing bound yet; limits.go)
	openCounted bool                  // counted in srv.open (registered, not yet forgotten; limits.go)
	// units: the queue marks the end of each unit (an Enqueue or
	// EnqueueFrame call, a batch entry) with a nil slice, for a transport
	// that writes each unit as one message (WebSocket). Set before the
	// connection is shared, never changed.
	units bool

	mu      sync.Mutex // tier 2: guards the fields below; never held during I/O
	q       [][]byte   // queued output, in order; with units, each unit followed by a nil slice
	spare   [][]byte   // the previous batch's backing array, for reuse
	pending int        // bytes queued or being written
	// txBytes: MSRP octets written (stats.go), next to pending, which the
	// writer updates in the same critical section.
	txBytes atomic.Uint64
	writing bool // a writer goroutine is running
	active  bool // something was queued since the last idle sweep (ReleaseIdle)
	folded  bool // the MSRP counts went to the server's totals (foldLocked)
	state   connState
	reason  CloseReason // set when state leaves stateOpen
	lent    bool        // it gave an arena back to the pool since the last idle release (ReleaseIdle counts it)
	// congested: pending went over CongestedBytes; cleared at half of it.
	congested bool
	ids       *msrp.IDSource // transaction ids for requests sent without one; made at the first

	arena     []byte   // copies of queued frame heads and end-lines, and of small bodies over TCP (queueFrameLocked); nil while nothing is queued
	full      [][]byte // arena blocks replaced while queued: recycled by the writer once written
	fullSpare [][]byte // the previous batch's full array, for reuse

	congestion *time.Timer // closes the connection if congestion lasts; nil when none
	episode    uint64      // counts congestion episodes, so a stale timer does nothing

	// The output side's MSRP counters (stats.go), written under mu and read
	// by Stats without it. tx is written where a response is queued: for
	// the answers to a sender, by its own read goroutine flushing its
	// batch, hence next to the fields that goroutine owns.
	tx  codeCounts               // responses queued, by status code
	odd atomic.Pointer[oddCodes] // status codes past tx's and rx's slots; nil until one

	// Owned by the read goroutine (handed from one to the next, readLoop).
	rd        *msrp.Reader // nil while parked (park.go)
	rdOff     int64        // the stream offset a new rd starts at
	batch     Batch        // output deferred until the read goroutine waits for input (batch.go)
	handedOff bool         // this read goroutine was started to wait for input (or resumed from the Parker)
	rdBound   bool         // a session has been bound: the progress deadline applies (limits.go)
	msgs      uint64       // messages read so far
	armedFor  uint64       // msgs+1 of the message the progress deadline is set for; 0: none set
	// rx: the read side's MSRP counters (stats.go), in an object of their
	// own; the pointer is set by newConn and never changed.
	rx *rxCounters

	// Parking (park.go). idleWait is guarded by parkMu, a leaf lock; the
	// park tick takes it to ask a waiting read loop to park.
	parkMu   sync.Mutex
	idleWait idleWait
	waits    uint8                          // counts the read loop's parkable waits (wrapping: equal counts at two ticks 256 waits apart only park a waiting loop)
	seenWait uint8                          // waits at the previous park tick
	ticket   atomic.Pointer[netpark.Ticket] // the parked wait's, while parked

	// Owned by the writer: writeBuffers' state for its rc.Write callback
	// (wfn, made once), so that writing a batch allocates nothing.
	wfn   func(fd uintptr) bool
	wiov  *iovecs
	wcnt  int
	wdone uintptr
	werr  error
}

func newConn(s *Server, id uint64, nc net.Conn) *conn {
	c := &conn{
		srv:      s,
		id:       id,
		nc:       nc,
		rc:       rawConn(nc),
		sessions: make(map[*Session]struct{}),
		rx:       new(rxCounters),
	}
	c.tr = (*tcpTransport)(c)
	c.batch.c = c
	return c
}

// logger returns the connection's logger: the server's, with the
// connection's id. It is made when something is logged, so that a
// connection keeps none.
func (c *conn) logger() *slog.Logger { return c.srv.log.With(slog.Uint64("conn_id", c.id)) }

// debugging reports whether debug records are logged at all: callers skip
// building them otherwise.
func (c *conn) debugging() bool { return c.srv.log.Enabled(context.Background(), slog.LevelDebug) }

// readLoop is the connection's one read goroutine: it reads messages,
// dispatches them synchronously (which keeps each session's order), and on
// a fatal error closes the connection and ends its sessions. When no input
// is waiting between messages, it hands the loop to a fresh goroutine
// (started with goFunc, so tracked like the first) that waits for input
// with the smallest stack and no read buffer, and returns: an idle
// connection costs one goroutine of 2 KiB and no buffers (issue 7).
func (c *conn) readLoop() {
	reason, cause, handedOff := c.readMessages()
	if handedOff {
		return
	}
	if reason == CloseInternalError {
		// The batch may hold half of what the panicking call queued: it
		// goes out if it can, else it is dropped with the connection.
		c.protect("flushing the batch after a panic", c.batch.Flush)
		c.batch.st = nil
	} else {
		c.batch.Flush()
	}
	c.close(reason, cause)
	if c.ws != nil {
		c.ws.ws.CloseNow() // the library's state; the socket is closed already
	}
	c.finish()
}

// readMessages reads and dispatches messages until the connection must
// close, or until it has handed the loop to a fresh goroutine (handedOff).
// A panic in the Handler (or anywhere on this goroutine while it serves
// the connection) is recovered here, at the boundary between one
// connection's traffic and the server: the connection closes with
// CloseInternalError and everyone else is served on.
func (c *conn) readMessages() (reason CloseReason, cause error, handedOff bool) {
	defer func() {
		if p := recover(); p != nil {
			reason, cause, handedOff = CloseInternalError, c.srv.recovered(c.id, "handling a message", p), false
		}
	}()
	if c.rd == nil {
		// Before the Reader waits for more input, the batch goes out.
		c.rd = msrp.NewReaderAt(flushingReader{c}, c.srv.cfg.Limits, c.rdOff)
	}
	r, rc := c.rd, c.rc
	tt, _ := c.tr.(*tlsTransport)
	for {
		if rc != nil && r.BufferSize() <= readBufSize {
			// Between messages (or before the first), wait for input
			// without a buffer: an idle connection holds none.
			if b := r.ReleaseBuffer(); b != nil || r.BufferSize() == 0 {
				c.srv.pools.putRead(b)
				c.batch.Flush() // before waiting for input
				c.disarmProgress()
				data, err, gone := c.awaitInput(rc)
				if gone {
					return 0, nil, true
				}
				if err != nil {
					return c.readErrorReason(err), err, false
				}
				c.countReadBytes(len(data))
				r.SetBuffer(data)
			}
		} else if tt != nil && r.BufferSize() <= readBufSize && tt.quiet() {
			// The same over TLS when tls.Conn holds no input
			// (transport_tls.go): the loop waits on the TCP socket, and
			// what it reads there is tls.Conn's next input.
			if b := r.ReleaseBuffer(); b != nil || r.BufferSize() == 0 {
				c.srv.pools.putRead(b)
				c.batch.Flush()
				c.disarmProgress()
				data, err, gone := c.awaitInput(tt.rc)
				if gone {
					return 0, nil, true
				}
				if err != nil {
					return c.readErrorReason(err), err, false
				}
				tt.Rec.Give(data) // ciphertext: counted as tls.Conn decrypts it (flushingReader)
				r.SetBuffer(c.srv.pools.getRead()[:0])
			}
		}
		m, err := r.ReadMessage()
		if err == nil {
			if c.ws != nil && r.Buffered() > 0 {
				return CloseWSFraming, errWSExtra, false // a second MSRP message in the WebSocket message
			}
			if c.rdBound {
				c.countRead(m) // the request that binds is counted by route
			}
			if c.stopForShutdown(m.IsRequest()) {
				continue
			}
			c.traceMessage("msrp read", m)
			c.handle(m)
			continue
		}
		if err == tlsrecord.ErrBoundary {
			continue // between TLS records and messages: wait on the socket (recordRead)
		}
		var me *msrp.MessageError // declared here: it escapes (errors.As), and must not cost the path above an allocation
		if errors.As(err, &me) {
			if c.ws != nil && r.Buffered() > 0 {
				return CloseWSFraming, errWSExtra, false
			}
			if c.rdBound && me.Msg != nil {
				c.countRead(me.Msg)
			}
			if c.stopForShutdown(me.Msg != nil && me.Msg.IsRequest()) {
				continue
			}
			c.traceMessage("msrp read (rejected)", me.Msg)
			c.handleMessageError(me)
			continue
		}
		return c.readErrorReason(err), err, false
	}
}

// stopForShutdown counts a message read and reports whether the read loop
// must skip it instead of dispatching it: Shutdown has begun, and what it
// dispatched now could not be delivered, so a request is neither
// dispatched nor answered (a sender with no 200 considers it failed, RFC
// 4975 §7.1.1), and a response (a recipient's 200 for a copy) is dropped.
// The loop goes on reading, so that the peer's input does not pile up
// unread while Shutdown drains what was queued for it: closing a socket
// with unread input makes the kernel reset the connection and throw away
// what it still had to send.
func (c *conn) stopForShutdown(request bool) bool {
	c.msgs++
	if !c.srv.closing.Load() {
		return false
	}
	if request {
		c.srv.stats.shutdownUnanswered.Add(1)
	}
	return true
}

// protect runs f on the read goroutine, recovering (and counting) a panic
// in it: used where the Handler is called outside readMessages, and after
// a panic was recovered there (state it left half-changed must not take
// the server down either).
func (c *conn) protect(what string, f func()) {
	defer func() {
		if p := recover(); p != nil {
			c.srv.recovered(c.id, what, p)
		}
	}()
	f()
}

// recovered logs and counts a recovered panic p: the first one of the
// server with its stack, later ones in one line (a recurring bug must not
// flood the log). It returns the panic as an error, the close's cause.
func (s *Server) recovered(connID uint64, what string, p any) error {
	n := s.stats.handlerPanics.Add(1)
	err := fmt.Errorf("relay: panic %s: %v", what, p)
	if n == 1 {
		s.log.Error("msrp panic recovered; closing the connection", "conn_id", connID, "err", err, "stack", string(debug.Stack()))
	} else {
		s.log.Error("msrp panic recovered; closing the connection", "conn_id", connID, "err", err, "panics", n)
	}
	return err
}

// readErrorReason classifies an error that ends the read loop.
func (c *conn) readErrorReason(err error) CloseReason {
	if t, ok := c.tr.(*tlsTransport); ok && !t.handshakeDone() {
		return CloseHandshake // also when the bind deadline ended it
	}
	var se *msrp.SyntaxError
	switch {
	case errors.Is(err, errWSFraming):
		return CloseWSFraming
	case errors.Is(err, websocket.ErrMessageTooBig):
		return CloseWSTooLarge
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ClosePeer
	case errors.Is(err, msrp.ErrEndLineMismatch):
		return CloseFramingLost
	case errors.As(err, &se), errors.Is(err, msrp.ErrStartLineTooLong), errors.Is(err, msrp.ErrHeaderTooLarge):
		return CloseProtocolError
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The progress deadline when one is set (limits.go), else the
		// bind deadline.
		if c.armedFor != 0 {
			return CloseStalled
		}
		return CloseBindTimeout
	}
	return CloseReadError // also net.ErrClosed: then close keeps the first reason
}

// finish ends every session still bound to the closed connection and
// forgets the connection. It runs on the read goroutine, after the last
// dispatch, so SessionEnded is the last Handler call for these sessions.
func (c *conn) finish() {
	reason := c.closeReason()
	srv := c.srv
	srv.mu.Lock()
	ended := make([]*Session, 0, len(c.sessions))
	for sess := range c.sessions {
		if srv.endLocked(sess) {
			ended = append(ended, sess)
		}
	}
	delete(srv.conns, c)
	srv.foldLocked(c)
	srv.uncountSourceLocked(c)
	srv.mu.Unlock()
	for _, sess := range ended {
		// A Handler that panics here has each of the sessions still ended.
		c.protect("ending a session", func() { srv.sessionEnded(sess, reason) })
	}
}

// handle dispatches one well-formed message.
func (c *conn) handle(m *msrp.Message) {
	if !m.IsRequest() {
		if sess := c.responseSession(m); sess != nil {
			c.batch.Flush() // the Handler queues directly
			c.srv.h.HandleResponse(sess, m)
		}
		return
	}
	sess, code, reason := c.route(m)
	if code != 0 {
		c.respondReason(m, code, reason)
		return
	}
	if sess == nil {
		return
	}
	if err := m.Validate(); err != nil {
		c.logger().Debug("msrp invalid request", "session", sess.id, "tid", m.TID, "err", err)
		c.respond(m, msrp.StatusBadRequest)
		return
	}
	switch {
	case m.Method == msrp.MethodREPORT:
		c.srv.h.HandleRequest(sess, m) // never answered (RFC 4975 §7.1.2)
	case m.Method == msrp.MethodSEND && !m.HasBody():
		c.respond(m, msrp.StatusOK) // binding or keepalive: never passed on
	default:
		if code := c.srv.h.HandleRequest(sess, m); code != 0 {
			c.respond(m, code)
		}
	}
}

// handleMessageError answers a request that was framed but could not be
// accepted (RFC 4975: 413 for an oversized chunk, 400 for malformed
// headers), when its session can be identified; the stream goes on.
func (c *conn) handleMessageError(me *msrp.MessageError) {
	m := me.Msg
	if !m.IsRequest() {
		return
	}
	code := msrp.StatusBadRequest
	if errors.Is(me.Err, msrp.ErrChunkTooLarge) {
		code = msrp.StatusStopSending
	}
	if !m.WantsResponse(code) {
		return
	}
	c.logger().Debug("msrp rejected request", "tid", m.TID, "code", code, "err", me.Err)
	sess, rc, reason := c.route(m)
	switch {
	case rc != 0:
		c.respondReason(m, rc, reason)
	case sess != nil:
		c.respond(m, code)
	}
}

// route finds the session request m is for and binds it to this connection
// if it is unbound (RFC 4975 §5.4, SPEC §14A.1). It returns the session, or
// the status code to answer with: 400 when To-Path or From-Path is missing
// or malformed, 481 when the rightmost To-Path URI names no session of ours
// or the rightmost From-Path URI is not the session's peer, 506 when the
// session is bound to another connection, 403 (with a reason phrase) when
// binding it would take this connection over Config.MaxSessionsPerConn.
// (nil, 0) means "drop": the connection is retiring.
func (c *conn) route(m *msrp.Message) (*Session, int, string) {
	target, err := m.TargetURI()
	if err != nil {
		return nil, msrp.StatusBadRequest, ""
	}
	source, err := m.SourceURI()
	if err != nil {
		return nil, msrp.StatusBadRequest, ""
	}
	srv := c.srv
	srv.mu.RLock()
	sess := srv.sessions[target.SessionID]
	retired := c.retired
	srv.mu.RUnlock()
	if sess == nil || !sess.local.Equal(target) || !sess.peerPath[len(sess.peerPath)-1].Equal(source) {
		return nil, msrp.StatusSessionDoesNotExist, ""
	}
	if sess.kind != c.tr.kind() {
		// An msrps session binds over TLS only, an msrp one over plain TCP
		// only, a ;ws one over WebSocket only (over HTTPS when msrps): the
		// URI names the transport of the hop (RFC 4975 §6, §14.3; RFC 7977
		// §5.2), and a session negotiated for TLS must not be used in clear
		// text. 481, as for a URI naming another port: no such session here.
		if c.debugging() {
			c.logger().Debug("msrp bind refused: the session's URI names another transport", "session", sess.id, "conn_kind", c.tr.kind())
		}
		return nil, msrp.StatusSessionDoesNotExist, ""
	}
	switch bound := sess.conn.Load(); {
	case retired:
		return nil, 0, ""
	case bound == c:
		return sess, 0, ""
	case bound != nil:
		return nil, msrp.StatusSessionAlreadyInUse, ""
	}

	srv.mu.Lock()
	switch bound := sess.conn.Load(); {
	case sess.ended.Load():
		srv.mu.Unlock()
		return nil, msrp.StatusSessionDoesNotExist, ""
	case c.retired:
		srv.mu.Unlock()
		return nil, 0, ""
	case bound == c:
		srv.mu.Unlock()
		return sess, 0, ""
	case bound != nil:
		srv.mu.Unlock()
		return nil, msrp.StatusSessionAlreadyInUse, ""
	case len(c.sessions) >= srv.cfg.MaxSessionsPerConn:
		srv.mu.Unlock()
		srv.stats.bindsRefused.Add(1)
		if c.debugging() {
			c.logger().Debug("msrp bind refused: too many sessions on the connection", "session", sess.id, "limit", srv.cfg.MaxSessionsPerConn)
		}
		return nil, msrp.StatusForbidden, reasonTooManySessions
	}
	sess.conn.Store(c)
	sess.timer.Stop()
	sess.timer = nil // not kept by a bound session
	c.sessions[sess] = struct{}{}
	first := !c.everBound
	c.everBound = true
	srv.uncountUnboundLocked(c)
	srv.mu.Unlock()

	if first {
		c.rdBound = true // route runs on the read goroutine
		c.countRead(m)   // the request that binds the connection: counted from here on
		if err := c.nc.SetReadDeadline(time.Time{}); err != nil {
			c.logger().Debug("msrp clear read deadline", "err", err)
		}
	}
	srv.stats.sessionsBound.Add(1)
	if c.debugging() {
		c.logger().Debug("msrp session bound", "session", sess.id)
	}
	c.batch.Flush() // the Handler queues directly
	srv.h.SessionBound(sess)
	return sess, 0, ""
}

// responseSession returns the bound session a response from the peer is
// for, or nil: a response for anything else is dropped.
func (c *conn) responseSession(m *msrp.Message) *Session {
	target, err := m.TargetURI()
	if err != nil {
		return nil
	}
	c.srv.mu.RLock()
	sess := c.srv.sessions[target.SessionID]
	c.srv.mu.RUnlock()
	if sess == nil || sess.conn.Load() != c || !sess.local.Equal(target) {
		return nil
	}
	return sess
}

// respond queues the response to request m with code, if m wants one
// (Failure-Report, never to a REPORT). Responses go out on the connection
// the request came in on (RFC 4975 §7.2), in order with other output,
// through the read goroutine's batch (respond runs only there).
func (c *conn) respond(m *msrp.Message, code int) { c.respondReason(m, code, "") }

// respondReason is respond with a reason phrase ("": the code's usual one).
func (c *conn) respondReason(m *msrp.Message, code int, reason string) {
	if !m.WantsResponse(code) {
		return
	}
	r := m.Response(code, reason)
	// A request without a usable To-Path still gets its 400: answer from
	// this server's URI. Without a From-Path there is no To-Path to give.
	if r.Header[1].Value == "" {
		r.Header[1].Value = c.srv.baseURIFor(c.tr.kind())
	}
	if r.Header[0].Value == "" {
		r.Header = r.Header[1:]
	}
	c.batch.queueRaw(c, r)
}

// baseURI is this server's URI without a session-id.
func (s *Server) baseURI() string {
	return msrp.URI{Host: s.host, Port: s.port, Transport: "tcp"}.String()
}

// baseURIFor is baseURI, or its counterpart for a connection of another
// kind (TLS, WebSocket).
func (s *Server) baseURIFor(k uriKind) string {
	switch k {
	case kindTLS:
		return msrp.URI{Secure: true, Host: s.host, Port: s.tlsPort, Transport: "tcp"}.String()
	case kindWS, kindWSS:
		return msrp.URI{Secure: k == kindWSS, Host: s.host, Port: s.cfg.WSPort, Transport: "ws"}.String()
	}
	return s.baseURI()
}

// traceMessage logs m raw when tracing is on.
func (c *conn) traceMessage(what string, m *msrp.Message) {
	if c.srv.tracing() {
		c.logger().Debug(what, "raw", string(m.AppendTo(nil)))
	}
}
