package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
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

	writeMu sync.Mutex     // one message on the wire at a time
	ids     msrp.IDSource  // guarded by writeMu (issue 4: TIDs of outgoing SENDs)
	bindTID string         // immutable once the reader runs
	bindRes chan bindReply // the response to the bind SEND; buffered 1

	// onSend handles a SEND addressed to us and returns the status code to
	// answer it with. Issue 4 delivers CPIM messages from here.
	onSend func(*msrp.Message) int

	closeOnce sync.Once
	done      chan struct{} // closed when the read goroutine stops reading
}

type bindReply struct {
	code    int
	comment string
}

// dialMSRP opens the TCP connection to the first URI of the focus's path
// (RFC 4975 §8.3: only the first hop is connected to).
func dialMSRP(ctx context.Context, first msrp.URI, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(first.Host, strconv.Itoa(first.Port)))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("client: MSRP connect: %w", ctx.Err())
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("%w: MSRP connect to %s", ErrTimeout, first.String())
		}
		return nil, fmt.Errorf("client: MSRP connect: %w", err)
	}
	return nc, nil
}

func newMSRPConn(nc net.Conn, local msrp.URI, remote []msrp.URI, c *settings, log *slog.Logger) *msrpConn {
	m := &msrpConn{
		nc: nc, log: log, timeout: c.timeout, local: local, toPath: msrp.FormatPath(remote),
		bindRes: make(chan bindReply, 1),
		onSend:  func(*msrp.Message) int { return msrp.StatusOK },
		done:    make(chan struct{}),
	}
	m.bindTID = m.ids.TID()
	return m
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
	req := &msrp.Message{TID: c.bindTID, Method: msrp.MethodSEND, Header: msrp.Header{
		{Name: msrp.HeaderToPath, Value: c.toPath},
		{Name: msrp.HeaderFromPath, Value: c.local.String()},
		{Name: msrp.HeaderMessageID, Value: msrp.NewMessageID()},
		{Name: msrp.HeaderByteRange, Value: "1-0/0"},
	}}
	if err := c.write(req); err != nil {
		return fmt.Errorf("%w: bind: %w", ErrConnectionLost, err)
	}
	select {
	case r := <-c.bindRes:
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
// responses other than the bind's are ignored (we send nothing else yet).
func (c *msrpConn) readLoop() error {
	r := msrp.NewReader(c.nc, msrp.Limits{})
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
		case m.TID == c.bindTID:
			select {
			case c.bindRes <- bindReply{m.Code, m.Comment}:
			default: // a duplicate; the first one counts
			}
		}
	}
}

// handleRequest answers a request from the switch (SPEC §3.10): never a
// REPORT; 481 when the To-Path is not our session; 400 when malformed; the
// onSend code for a SEND; 501 for any other method. Failure-Report is
// honoured (msrp.Message.WantsResponse).
func (c *msrpConn) handleRequest(m *msrp.Message) {
	if m.Method == msrp.MethodREPORT {
		return // RFC 4975 §7.1.2; issue 4 may look at delivery reports here
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
	if _, err := m.WriteTo(c.nc); err != nil {
		c.close()
		return err
	}
	return nil
}

// close closes the connection; the read goroutine then ends. Idempotent.
func (c *msrpConn) close() {
	c.closeOnce.Do(func() { c.nc.Close() })
}
