package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parley-im/parley/msrp"
)

// msrpConn is a Session's MSRP connection to the switch (RFC 4975): the
// bind, one read goroutine, and writes serialised by writeMu. We are the
// active side: we connected, and our first request binds the session.
type msrpConn struct {
	nc      net.Conn
	log     *slog.Logger
	timeout time.Duration // write deadline and bind wait
	local   msrp.URI      // our URI: From-Path of our requests
	toPath  string        // the focus's whole path: To-Path of our requests

	maxChunk int // the Reader's MaxChunk: the largest message we accept
	// whole: each message goes to nc in one Write (a WebSocket, where
	// each Write is one WebSocket message, RFC 7977 §4.2); else as head,
	// body and end-line (one writev on TCP).
	whole bool

	writeMu sync.Mutex // one message on the wire at a time

	idMu sync.Mutex
	ids  msrp.IDSource // guarded by idMu: TIDs and Message-IDs of our requests

	pendMu  sync.Mutex
	pending map[string]chan<- reply // guarded by pendMu: TID of a request we sent → its waiter

	// onSend handles a SEND addressed to us and returns the status code to
	// answer it with. It runs on the read goroutine and must not block.
	onSend func(*msrp.Message) int

	closeOnce sync.Once
	done      chan struct{} // closed when the read goroutine stops reading
}

// reply is a response to one of our requests, as handed to its waiter.
type reply struct {
	code    int
	comment string
}

func (r reply) err() *msrp.StatusError {
	if r.code == msrp.StatusOK {
		return nil
	}
	return &msrp.StatusError{Code: r.code, Comment: r.comment}
}

// dialMSRP opens the TCP connection to the first URI of the focus's path
// (RFC 4975 §8.3: only the first hop is connected to); for an msrps: URI a
// TLS connection with cfg, completing the handshake, its certificate
// verified for the URI's host unless cfg names a ServerName (RFC 4975
// §14.3).
func dialMSRP(ctx context.Context, first msrp.URI, timeout time.Duration, cfg *tls.Config) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	addr := net.JoinHostPort(first.Host, strconv.Itoa(first.Port))
	if first.Secure {
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		if cfg.ServerName == "" {
			cfg = cfg.Clone()
			cfg.ServerName = strings.Trim(first.Host, "[]")
		}
		td := tls.Dialer{NetDialer: &d, Config: cfg}
		nc, err := td.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, msrpDialError(ctx, first, fmt.Errorf("over TLS: %w", err))
		}
		return nc, nil
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, msrpDialError(ctx, first, err)
	}
	return nc, nil
}

// msrpDialError is the error of a failed MSRP connect: ctx's, ErrTimeout or
// err wrapped.
func msrpDialError(ctx context.Context, first msrp.URI, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("client: MSRP connect: %w", ctx.Err())
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: MSRP connect to %s", ErrTimeout, first.String())
	}
	return fmt.Errorf("client: MSRP connect to %s: %w", first.String(), err)
}

func newMSRPConn(nc net.Conn, local msrp.URI, remote []msrp.URI, c *settings, log *slog.Logger) *msrpConn {
	m := &msrpConn{
		nc: nc, log: log, timeout: c.timeout, local: local, toPath: msrp.FormatPath(remote),
		maxChunk: int(min(c.maxMessage, math.MaxInt32)),
		pending:  make(map[string]chan<- reply),
		onSend:   func(*msrp.Message) int { return msrp.StatusOK },
		done:     make(chan struct{}),
	}
	return m
}

// messageID returns a fresh Message-ID.
func (c *msrpConn) messageID() string {
	c.idMu.Lock()
	defer c.idMu.Unlock()
	return c.ids.MessageID()
}

// await draws a transaction id for a request carrying body and registers
// ch as the waiter of its response (ch must have room for it). The id is
// not in use by another pending request, and the body does not contain its
// end-line (RFC 4975 §7.1). The caller calls forget when it stops waiting.
func (c *msrpConn) await(body []byte, ch chan<- reply) string {
	for {
		c.idMu.Lock()
		tid := c.ids.TID()
		c.idMu.Unlock()
		if msrp.BodyContainsEndLine(body, tid) {
			continue
		}
		c.pendMu.Lock()
		_, taken := c.pending[tid]
		if !taken {
			c.pending[tid] = ch
		}
		c.pendMu.Unlock()
		if !taken {
			return tid
		}
	}
}

// forget removes the waiter of tid, if still registered.
func (c *msrpConn) forget(tid string) {
	c.pendMu.Lock()
	delete(c.pending, tid)
	c.pendMu.Unlock()
}

// dispatch hands a response to the waiter of its transaction. A response
// nobody waits for (a duplicate, or one arriving after its request timed
// out) is dropped.
func (c *msrpConn) dispatch(m *msrp.Message) {
	c.pendMu.Lock()
	ch, ok := c.pending[m.TID]
	delete(c.pending, m.TID)
	c.pendMu.Unlock()
	if !ok {
		c.log.Debug("MSRP response to no pending request", "tid", m.TID, "code", m.Code)
		return
	}
	select {
	case ch <- reply{m.Code, m.Comment}:
	default: // cannot happen: each waiter has room for all its responses
	}
}

// do sends reqs in order, each as its own transaction with a fresh
// transaction id, and waits for the response to every one of them: nil
// when all are 200, else an error wrapping the first *msrp.StatusError.
// A failure answered before the last request is written stops the sending
// (after a 413 no further chunk may be sent, RFC 4975 §7.1.1). The wait is
// bounded by ctx and, from the last write on, by the Timeout; it ends with
// ErrConnectionLost when the connection closes. Waiters are removed on
// every return.
func (c *msrpConn) do(ctx context.Context, method string, reqs []*msrp.Message) error {
	ch := make(chan reply, len(reqs))
	tids := make([]string, 0, len(reqs))
	defer func() {
		for _, tid := range tids {
			c.forget(tid)
		}
	}()
	got := 0
	// take reads every response already in; a non-200 is the result.
	take := func() error {
		for {
			select {
			case r := <-ch:
				got++
				if se := r.err(); se != nil {
					return fmt.Errorf("client: %s: %w", method, se)
				}
			default:
				return nil
			}
		}
	}
	for _, req := range reqs {
		if err := take(); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("client: %s: %w", method, err)
		}
		req.TID = c.await(req.Body, ch)
		tids = append(tids, req.TID)
		if err := c.write(req); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrConnectionLost, method, err)
		}
	}
	t := time.NewTimer(c.timeout)
	defer t.Stop()
	for got < len(reqs) {
		select {
		case r := <-ch:
			got++
			if se := r.err(); se != nil {
				return fmt.Errorf("client: %s: %w", method, se)
			}
		case <-c.done:
			if err := take(); err != nil || got == len(reqs) {
				return err // the responses made it in before the close
			}
			return fmt.Errorf("%w: %s not answered", ErrConnectionLost, method)
		case <-ctx.Done():
			return fmt.Errorf("client: %s: %w", method, ctx.Err())
		case <-t.C:
			return fmt.Errorf("%w: no response to %s", ErrTimeout, method)
		}
	}
	return nil
}

// start runs the read goroutine. When it stops reading (EOF, a read or
// framing error, or close), it closes done and then calls onEnd.
func (c *msrpConn) start(onEnd func(error)) {
	go func() {
		err := c.readLoop()
		close(c.done)
		onEnd(err)
	}()
}

// bind sends the bodiless SEND that binds the connection to our session
// (RFC 4975 §5.4, SPEC §3.3) and waits for its 200, bounded by ctx and the
// Timeout. It also gives up when abort is closed (the focus sent BYE).
func (c *msrpConn) bind(ctx context.Context, abort <-chan struct{}) error {
	t := time.NewTimer(c.timeout)
	defer t.Stop()
	req := &msrp.Message{Method: msrp.MethodSEND, Header: msrp.Header{
		{Name: msrp.HeaderToPath, Value: c.toPath},
		{Name: msrp.HeaderFromPath, Value: c.local.String()},
		{Name: msrp.HeaderMessageID, Value: c.messageID()},
		{Name: msrp.HeaderByteRange, Value: "1-0/0"},
	}}
	res := make(chan reply, 1)
	req.TID = c.await(nil, res)
	defer c.forget(req.TID)
	if err := c.write(req); err != nil {
		return fmt.Errorf("%w: bind: %w", ErrConnectionLost, err)
	}
	select {
	case r := <-res:
		if r.code < 200 || r.code > 299 {
			return fmt.Errorf("client: MSRP bind: %w", &msrp.StatusError{Code: r.code, Comment: r.comment})
		}
		return nil
	case <-c.done:
		return fmt.Errorf("%w: closed before the bind was answered", ErrConnectionLost)
	case <-abort:
		return ErrEndedByFocus
	case <-ctx.Done():
		return fmt.Errorf("client: MSRP bind: %w", ctx.Err())
	case <-t.C:
		return fmt.Errorf("%w: no response to the MSRP bind", ErrTimeout)
	}
}

// readLoop reads until the connection fails. Requests are answered here;
// responses go to the waiters of their transactions.
func (c *msrpConn) readLoop() error {
	r := msrp.NewReader(c.nc, msrp.Limits{MaxChunk: c.maxChunk})
	for {
		m, err := r.ReadMessage()
		var me *msrp.MessageError
		switch {
		case errors.As(err, &me):
			c.reject(me)
		case err != nil:
			return err
		case m.IsRequest():
			c.handleRequest(m)
		default:
			c.dispatch(m)
		}
	}
}

// handleRequest answers a request from the switch (SPEC §3.10): never a
// REPORT; 481 when the To-Path is not our session; 400 when malformed; the
// onSend code for a SEND; 501 for any other method. Failure-Report is
// honoured (msrp.Message.WantsResponse).
func (c *msrpConn) handleRequest(m *msrp.Message) {
	if m.Method == msrp.MethodREPORT {
		return // never answered (RFC 4975 §7.1.2); we ask for no success REPORTs and take failures from responses
	}
	var code int
	target, err := m.TargetURI()
	switch {
	case err != nil:
		code = msrp.StatusBadRequest
	case !target.Equal(c.local):
		code = msrp.StatusSessionDoesNotExist
	case m.Validate() != nil:
		code = msrp.StatusBadRequest
	case m.Method == msrp.MethodSEND:
		code = c.onSend(m)
	default:
		code = msrp.StatusMethodNotUnderstood
	}
	c.respond(m, code)
}

// reject answers a request that was framed but not acceptable: 413 for an
// oversized chunk, 400 otherwise.
func (c *msrpConn) reject(me *msrp.MessageError) {
	if !me.Msg.IsRequest() || me.Msg.Method == msrp.MethodREPORT {
		return
	}
	code := msrp.StatusBadRequest
	if errors.Is(me.Err, msrp.ErrChunkTooLarge) {
		code = msrp.StatusStopSending
	}
	c.respond(me.Msg, code)
}

func (c *msrpConn) respond(m *msrp.Message, code int) {
	if !m.WantsResponse(code) {
		return
	}
	if err := c.write(m.Response(code, "")); err != nil {
		c.log.Debug("MSRP response not sent", "tid", m.TID, "code", code, "error", err)
	}
}

// write sends one whole message within the Timeout. A failed write may
// have left half a message on the wire, so it closes the connection; the
// read goroutine then reports the loss.
func (c *msrpConn) write(m *msrp.Message) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		c.close()
		return err
	}
	var err error
	if c.whole {
		_, err = c.nc.Write(m.Bytes())
	} else {
		_, err = m.WriteTo(c.nc)
	}
	if err != nil {
		c.close()
		return err
	}
	return nil
}

// close closes the connection; the read goroutine then ends. Idempotent.
func (c *msrpConn) close() {
	c.closeOnce.Do(func() { c.nc.Close() })
}
