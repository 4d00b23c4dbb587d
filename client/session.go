package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/sdp"
)

// state is where a Session is in its life. It only moves forward.
type state uint8

const (
	stJoining state = iota // Join is running and owns the ending if it fails
	stActive               // joined; the first to move it to stEnding owns the ending
	stEnding               // one goroutine is running finish
	stEnded                // finish is done: Done is closed, Err is set
)

// Session is one participant's membership of one room: a SIP dialog with
// the focus and an MSRP session on the switch. Its methods are safe for
// concurrent use.
type Session struct {
	room string
	cfg  settings
	log  *slog.Logger
	sip  *agent
	dlg  *dialog

	// Written by Join before it returns the Session; read-only afterwards.
	local            msrp.URI
	isFocus          bool
	conferenceEvents bool // the focus's 2xx listed conference in Allow-Events
	answer           answer
	conn             *msrpConn             // nil until the MSRP connection is open
	inviteTx         sip.ClientTransaction // kept to re-ACK a retransmitted 2xx; ended by finish

	// The receiving side: in is used by the MSRP read goroutine only; msgs
	// is sent on by it and closed by finish, after Done.
	in      incoming
	msgs    chan Message
	dropped atomic.Uint64
	nick    atomic.Pointer[string] // the nickname in effect (SetNickname's last success)

	// The conference state (roster.go, subscription.go): the roster
	// goroutine, started by Join, and the NOTIFY handler.
	roster *roster

	mu       sync.Mutex // guards state, err, byFocus
	state    state
	err      error
	byFocus  bool          // the focus's BYE has arrived
	focusBye chan struct{} // closed when byFocus is set
	done     chan struct{} // closed by finish
}

// Room returns the room URI given to Join.
func (s *Session) Room() string { return s.room }

// IsFocus reports whether the focus's Contact carried the isfocus feature
// tag (RFC 4579 §4.2), as parleyd's does.
func (s *Session) IsFocus() bool { return s.isFocus }

// Chatroom returns the chat-room capabilities the focus declared in its
// SDP answer (RFC 7701 §8): whether the room allows nicknames and private
// messages. ok is false when the answer had no a=chatroom at all, i.e. the
// focus does not do RFC 7701 chat-room procedures.
func (s *Session) Chatroom() (caps sdp.Chatroom, ok bool) {
	c := s.answer.chatroom
	c.Other = slices.Clone(c.Other)
	return c, s.answer.chatroomOK
}

// LocalURI returns our MSRP URI, the a=path of our offer: the From-Path of
// what we send and the To-Path of what the switch sends us.
func (s *Session) LocalURI() msrp.URI { return s.local }

// RemotePath returns the focus's a=path: we are connected to its first URI
// and address our requests to all of it.
func (s *Session) RemotePath() []msrp.URI { return slices.Clone(s.answer.path) }

// Done returns a channel closed when the Session has ended, for any reason:
// Leave, a BYE from the focus, or the MSRP connection lost. By then every
// goroutine of the Session has stopped or is returning. The Messages
// channel is closed right after it.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the Session ended: nil while it runs and after Leave,
// ErrEndedByFocus when the focus sent BYE, an error wrapping
// ErrConnectionLost when the MSRP connection failed.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Leave ends the Session: BYE in the dialog (waiting for its final
// response, bounded by ctx and Options.Timeout), then the MSRP connection
// and the SIP user agent are closed. The roster subscription, if any, is
// ended alongside the BYE (SUBSCRIBE with Expires: 0, best effort, bounded
// by ctx and the Timeout as well; its outcome is not reported). The
// Session ends even when the BYE fails; the error says so (a *SIPError
// for a non-2xx other than 481, a context error, or one wrapping
// ErrTimeout). Leave is idempotent: on a
// Session that is ending or has ended it waits for Done (bounded by ctx)
// and returns nil.
func (s *Session) Leave(ctx context.Context) error {
	s.mu.Lock()
	if s.state != stActive {
		s.mu.Unlock()
		select {
		case <-s.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.state = stEnding
	s.mu.Unlock()
	unsubscribed := s.leaveRoster(ctx)
	err := s.bye(ctx)
	<-unsubscribed
	s.finish(nil)
	return err
}

// bye sends BYE and waits for its final response, bounded by ctx and the
// Timeout. 2xx and 481 (the focus no longer knows the dialog) are success.
func (s *Session) bye(ctx context.Context) error {
	bctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	res, err := s.sip.do(bctx, s.dlg.bye())
	switch {
	case err != nil && bctx.Err() != nil:
		return fmt.Errorf("client: BYE: %w", waitError(ctx, "no final response to BYE"))
	case err != nil:
		return fmt.Errorf("client: BYE: %w", err)
	case res.IsSuccess() || res.StatusCode == sip.StatusCallTransactionDoesNotExists:
		return nil
	}
	return sipError(sip.BYE.String(), res)
}

// register installs the handlers of the requests the focus may send us.
func (s *Session) register(srv *sipgo.Server) {
	srv.OnBye(s.onBye)
	srv.OnNotify(s.onNotify)
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
		res.AppendHeader(sip.NewHeader("Allow", allowMethods))
		respond(s.log, tx, res)
	})
}

// onBye answers the focus's BYE (on a sipgo handler goroutine). The 200
// goes out first: once the BYE is recorded, another goroutine may close the
// user agent. An active Session is then ended here, after unsubscribing
// the roster (bounded by the Timeout); during Join, or while another
// goroutine is ending the Session, the BYE is only recorded for that
// goroutine to see.
func (s *Session) onBye(req *sip.Request, tx sip.ServerTransaction) {
	if !s.dlg.matches(req) {
		respond(s.log, tx, sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	respond(s.log, tx, sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	s.mu.Lock()
	st := s.state
	if !s.byFocus {
		s.byFocus = true
		close(s.focusBye)
	}
	if st == stActive {
		s.state = stEnding
	}
	s.mu.Unlock()
	if st == stActive {
		s.log.Info("the focus ended the session")
		<-s.leaveRoster(context.Background())
		s.finish(ErrEndedByFocus)
	}
}

// connEnded runs on the MSRP read goroutine when it stops. If the Session
// was active, this goroutine owns its ending: a connection closed cleanly
// by the switch is normally followed by the focus's BYE, so it waits up to
// the grace period for it; otherwise it sends BYE itself.
func (s *Session) connEnded(err error) {
	s.mu.Lock()
	if s.state != stActive {
		s.mu.Unlock()
		return // Join, Leave or onBye is handling the end
	}
	s.state = stEnding
	s.mu.Unlock()
	if errors.Is(err, io.EOF) {
		t := time.NewTimer(s.cfg.lostGrace)
		select {
		case <-s.focusBye:
		case <-t.C:
		}
		t.Stop()
	}
	unsubscribed := s.leaveRoster(context.Background())
	if s.endedByFocus() {
		s.log.Info("the focus ended the session")
		<-unsubscribed
		s.finish(ErrEndedByFocus)
		return
	}
	s.log.Warn("MSRP connection lost; leaving the room", "error", err)
	if berr := s.bye(context.Background()); berr != nil {
		s.log.Debug("BYE after the MSRP connection was lost failed", "error", berr)
	}
	<-unsubscribed
	s.finish(fmt.Errorf("%w: %w", ErrConnectionLost, err))
}

func (s *Session) endedByFocus() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byFocus
}

// finish releases everything and closes Done, then the Messages channel
// (the read goroutine, its only sender, has stopped) and the RosterEvents
// channel. It runs exactly once, on the goroutine that owns the ending
// (see doc.go), and does no network waits: stopping the roster goroutine
// cancels its context, closing the MSRP connection ends the read
// goroutine, closing the SIP listener ends the serve goroutine, closing
// the user agent ends sipgo's. Requests in flight (Send, SetNickname) see
// the connection's done channel closed and return.
func (s *Session) finish(err error) {
	s.stopRoster()
	if s.conn != nil {
		s.conn.close()
		<-s.conn.done
	}
	if s.inviteTx != nil {
		s.inviteTx.Terminate()
	}
	s.sip.stop()
	s.mu.Lock()
	s.state, s.err = stEnded, err
	s.mu.Unlock()
	close(s.done)
	close(s.msgs)
	s.roster.close()
}

func respond(log *slog.Logger, tx sip.ServerTransaction, res *sip.Response) {
	if err := tx.Respond(res); err != nil && !errors.Is(err, sip.ErrTransactionTerminated) {
		log.Debug("SIP response not sent", "status", res.StatusCode, "error", err)
	}
}

func sipError(method string, res *sip.Response) *SIPError {
	e := &SIPError{Method: method, Code: res.StatusCode, Reason: res.Reason}
	if w := res.GetHeader("Warning"); w != nil {
		e.Warning = w.Value()
	}
	return e
}
