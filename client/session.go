package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/sdp"
)

// state is where a Session is in its life.
type state uint8

const (
	stJoining state = iota // Join is running and owns the ending if it fails
	stActive               // joined: s.leg is live; the first to move it on owns what follows
	stLost                 // the leg was lost and reconnecting is on: its owner (then the reconnect goroutine) is on it
	stEnding               // one goroutine is running finish
	stEnded                // finish is done: Done is closed, Err is set
)

// Session is one participant's membership of one room: a SIP dialog with
// the focus and an MSRP session on the switch (a leg), and with
// Options.Reconnect the legs that replace it when it is lost. Its methods
// are safe for concurrent use.
type Session struct {
	room    string
	roomURI sip.Uri // room, parsed
	dest    string  // where the requests that open a dialog go (host:port)
	cfg     settings
	log     *slog.Logger

	// The receiving side, across legs: msgs is sent on by the MSRP read
	// goroutine of the live leg only, and closed by finish, after Done,
	// once no leg is left.
	msgs    chan Message
	dropped atomic.Uint64
	nick    atomic.Pointer[string] // the nickname in effect (SetNickname's last success, taken again on reconnection)

	// The room's other URIs (issue 19: one room, one URI): the canonical
	// one, from the focus's Contact (RFC 4579 §3), and those the
	// conference document lists in <conf-uris> (RFC 4575 §5.3.1). A
	// message to any of them is a message to the room.
	canonical atomic.Pointer[string]
	confURIs  atomic.Pointer[[]string]

	// The conference state (roster.go, subscription.go): kept across legs;
	// each live leg runs its own roster goroutine.
	roster *roster

	// Reconnection events (reconnect.go): sent without waiting under evMu
	// while !evClosed; closed by finish.
	evMu     sync.Mutex
	events   chan ReconnectEvent
	evClosed bool

	// quit is canceled by Leave when it finds the Session lost (stLost):
	// it ends the reconnect wait or attempt under way. finish cancels it
	// too.
	quit     context.Context
	quitStop context.CancelFunc

	mu      sync.Mutex // guards state, leg, err, leaving, and each leg's BYE fields
	state   state
	leg     *leg // the live leg (stActive), else the last one to have been live; nil until Join has one
	err     error
	leaving bool          // Leave was called while the Session was lost
	done    chan struct{} // closed by finish
}

// leg is one go at being in the room: a SIP user agent of its own, the
// INVITE dialog, the MSRP connection. A Session has one live leg at a
// time; a leg is never reused once released.
type leg struct {
	s   *Session
	sip *agent
	dlg *dialog

	// Written by join before the leg goes live; read-only afterwards.
	local            msrp.URI
	isFocus          bool
	conferenceEvents bool // the focus's 2xx listed conference in Allow-Events
	answer           answer
	conn             *msrpConn             // nil until the MSRP connection is open; set under s.mu
	inviteTx         sip.ClientTransaction // kept to re-ACK a retransmitted 2xx; ended by release

	in incoming // reassembly: the leg's MSRP read goroutine only

	// Guarded by s.mu.
	byFocus   bool          // the focus's BYE has arrived
	reason    *ByeReason    // its Reason, nil without one
	lostFirst bool          // the MSRP connection had ended when that BYE arrived
	focusBye  chan struct{} // closed when byFocus is set

	// The leg's roster goroutine, guarded by roster.mu: started once (by
	// Join or the reconnection, once live), unless stopped first.
	rosterStarted, rosterStopped bool
	rosterCancel                 context.CancelFunc
	rosterDone                   chan struct{} // closed when the goroutine has returned
}

// Room returns the room URI given to Join.
func (s *Session) Room() string { return s.room }

// RoomURI returns the room's canonical URI: the conference URI the focus
// gave as its Contact (RFC 4579 §3; parleyd gives the room's own name at
// its own host, whichever alias Join used), else the URI given to Join.
// Regular messages are sent to it.
func (s *Session) RoomURI() string {
	if c := s.canonical.Load(); c != nil {
		return *c
	}
	return s.room
}

// current is the live leg, or the last one.
func (s *Session) current() *leg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leg
}

// IsFocus reports whether the focus's Contact carried the isfocus feature
// tag (RFC 4579 §4.2), as parleyd's does.
func (s *Session) IsFocus() bool { return s.current().isFocus }

// Chatroom returns the chat-room capabilities the focus declared in its
// SDP answer (RFC 7701 §8): whether the room allows nicknames and private
// messages. ok is false when the answer had no a=chatroom at all, i.e. the
// focus does not do RFC 7701 chat-room procedures. After a reconnection,
// the new answer's.
func (s *Session) Chatroom() (caps sdp.Chatroom, ok bool) {
	l := s.current()
	c := l.answer.chatroom
	c.Other = slices.Clone(c.Other)
	return c, l.answer.chatroomOK
}

// LocalURI returns our MSRP URI, the a=path of our offer: the From-Path of
// what we send and the To-Path of what the switch sends us. Each
// reconnection has a new one.
func (s *Session) LocalURI() msrp.URI { return s.current().local }

// RemotePath returns the focus's a=path: we are connected to its first URI
// and address our requests to all of it.
func (s *Session) RemotePath() []msrp.URI { return slices.Clone(s.current().answer.path) }

// Done returns a channel closed when the Session has ended, for any reason:
// Leave, a BYE from the focus, the MSRP connection lost, or (with
// Options.Reconnect) reconnecting given up. By then every goroutine of the
// Session has stopped or is returning. The Messages, RosterEvents and
// ReconnectEvents channels are closed right after it.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the Session ended: nil while it runs (reconnecting
// included) and after Leave; an error wrapping ErrEndedByFocus when the
// focus sent BYE (and a *ByeReason when the BYE said why); one wrapping
// ErrConnectionLost when the MSRP connection failed; one wrapping
// ErrReconnectFailed when reconnecting gave up.
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
// ErrTimeout).
//
// On a Session that is reconnecting, Leave ends the reconnection: a wait
// between attempts at once, an attempt under way as a canceled Join ends
// (a CANCEL, or a BYE should the focus have answered, bounded by the
// Timeout); Err is then nil. Leave waits for Done, bounded by ctx, and
// returns nil (or ctx's error). Leave is idempotent: on a Session that is
// ending or has ended it waits for Done (bounded by ctx) and returns nil.
func (s *Session) Leave(ctx context.Context) error {
	s.mu.Lock()
	if s.state != stActive {
		if s.state == stLost {
			s.leaving = true
			s.quitStop()
		}
		s.mu.Unlock()
		select {
		case <-s.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.state = stEnding
	l := s.leg
	s.mu.Unlock()
	unsubscribed := s.leaveRoster(ctx, l)
	err := l.bye(ctx)
	<-unsubscribed
	l.release()
	s.finish(nil)
	return err
}

// bye sends BYE and waits for its final response, bounded by ctx and the
// Timeout. 2xx and 481 (the focus no longer knows the dialog) are success.
func (l *leg) bye(ctx context.Context) error {
	bctx, cancel := context.WithTimeout(ctx, l.s.cfg.timeout)
	defer cancel()
	res, err := l.sip.do(bctx, l.dlg.bye())
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

// register installs the handlers of the requests the focus may send the
// leg's user agent.
func (l *leg) register(srv *sipgo.Server) {
	srv.OnBye(l.onBye)
	srv.OnNotify(l.s.onNotify)
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
		res.AppendHeader(sip.NewHeader("Allow", allowMethods))
		respond(l.s.log, tx, res)
	})
}

// connGrace is how long the focus's BYE without a Reason waits, before it
// is answered, for the MSRP connection to end when it has not yet (with
// reconnecting on). parleyd sends such a BYE when the switch saw the MSRP
// session end on its side (the connection dropped): the Session then
// rejoins. A focus ending the session on purpose closes the connection
// only after its BYE is answered, if at all.
const connGrace = 100 * time.Millisecond

// onBye answers the focus's BYE (on a sipgo handler goroutine). The 200
// goes out first: once the BYE is recorded, another goroutine may close the
// user agent. When the leg is live, its ending is run here, after
// unsubscribing the roster (bounded by the Timeout): the Session ends, or
// reconnects after a BYE saying the server shuts down (SIP cause 503) or
// following the loss of the MSRP connection. During a join, or while
// another goroutine is ending the leg, the BYE is only recorded for that
// goroutine to see.
func (l *leg) onBye(req *sip.Request, tx sip.ServerTransaction) {
	s := l.s
	if !l.dlg.matches(req) {
		respond(s.log, tx, sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	reason := parseReason(req)
	s.mu.Lock()
	conn := l.conn
	s.mu.Unlock()
	lost := conn != nil && isClosed(conn.done)
	if reason == nil && conn != nil && !lost && s.cfg.reconnect.enabled {
		t := time.NewTimer(connGrace)
		select {
		case <-conn.done:
			lost = true
		case <-t.C:
		}
		t.Stop()
	}
	respond(s.log, tx, sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	s.mu.Lock()
	if !l.byFocus {
		l.byFocus, l.reason, l.lostFirst = true, reason, lost
		close(l.focusBye)
	}
	own := s.state == stActive && s.leg == l
	cause, retry := l.byeCause()
	if own {
		s.state = stEnding
		if retry && s.cfg.reconnect.enabled {
			s.state = stLost
		}
	}
	s.mu.Unlock()
	if own {
		s.log.Info("the focus ended the session", "reason", reason, "msrp-lost-first", lost)
		<-s.leaveRoster(context.Background(), l)
		s.lost(l, cause, retry)
	}
}

// byeCause is why the focus's BYE ended the leg, and whether to rejoin
// after it: a Reason saying the server shuts down (SIP 503), or no Reason
// when the MSRP connection had ended first (parleyd: the switch saw the
// session end; the error then wraps ErrConnectionLost too). Any other BYE
// is the end. s.mu is held.
func (l *leg) byeCause() (error, bool) {
	switch {
	case l.reason != nil:
		return fmt.Errorf("%w: %w", ErrEndedByFocus, l.reason), l.reason.shutdown()
	case l.lostFirst:
		return fmt.Errorf("%w, and then %w", ErrConnectionLost, ErrEndedByFocus), true
	}
	return ErrEndedByFocus, false
}

// connEnded runs on the MSRP read goroutine when it stops. If the leg was
// live, this goroutine owns its ending: a connection closed cleanly by the
// switch is normally followed by the focus's BYE, so it waits up to the
// grace period for it; otherwise it sends BYE itself. Then the Session
// ends, or rejoins (Options.Reconnect) unless the focus's BYE said not to.
func (l *leg) connEnded(err error) {
	s := l.s
	s.mu.Lock()
	if s.state != stActive || s.leg != l {
		s.mu.Unlock()
		return // Join, Leave, onBye or the reconnection is handling the end
	}
	s.state = stEnding
	if s.cfg.reconnect.enabled {
		s.state = stLost
	}
	s.mu.Unlock()
	if errors.Is(err, io.EOF) {
		t := time.NewTimer(s.cfg.lostGrace)
		select {
		case <-l.focusBye:
		case <-t.C:
		}
		t.Stop()
	}
	unsubscribed := s.leaveRoster(context.Background(), l)
	s.mu.Lock()
	byFocus := l.byFocus
	cause, retry := l.byeCause()
	if byFocus && !retry && s.state == stLost {
		s.state = stEnding
	}
	s.mu.Unlock()
	if byFocus {
		s.log.Info("the focus ended the session", "reason", l.reason)
		<-unsubscribed
		s.lost(l, cause, retry)
		return
	}
	s.log.Warn("MSRP connection lost; leaving the room", "error", err)
	if berr := l.bye(context.Background()); berr != nil {
		s.log.Debug("BYE after the MSRP connection was lost failed", "error", berr)
	}
	<-unsubscribed
	s.lost(l, fmt.Errorf("%w: %w", ErrConnectionLost, err), true)
}

// lost is the end of a live leg, run by the goroutine that owns it once
// the BYE and the unsubscribe are done: the leg is released, then the
// Session ends with cause, or (when retry and reconnecting is on) the
// reconnect goroutine starts. A Leave that came meanwhile ends the
// Session with no error.
func (s *Session) lost(l *leg, cause error, retry bool) {
	l.release()
	s.mu.Lock()
	reconnect := s.state == stLost && retry && !s.leaving
	leaving := s.state == stLost && s.leaving
	s.state = stEnding
	if reconnect {
		s.state = stLost
	}
	s.mu.Unlock()
	switch {
	case leaving:
		s.finish(nil)
	case reconnect:
		go s.reconnect(cause)
	default:
		s.finish(cause)
	}
}

// release frees what the leg holds: its roster goroutine (stopped and
// waited for), its MSRP connection (closed; its read goroutine waited
// for), its INVITE transaction, its user agent. It does no network waits.
// Requests in flight on it (Send, SetNickname) see the connection's done
// channel closed and return.
func (l *leg) release() {
	l.s.stopRoster(l)
	l.s.mu.Lock()
	conn := l.conn
	l.s.mu.Unlock()
	if conn != nil {
		conn.close()
		<-conn.done
	}
	if l.inviteTx != nil {
		l.inviteTx.Terminate()
	}
	l.sip.stop()
}

// endedByFocus reports whether the focus's BYE has arrived on the leg.
func (l *leg) endedByFocus() bool {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	return l.byFocus
}

// finish ends the Session once no leg is live: it sets Err, closes Done,
// then the Messages channel (the read goroutines, its only senders, have
// stopped), the RosterEvents and the ReconnectEvents channels. It runs
// exactly once, on the goroutine that owns the ending (see doc.go), and
// does no network waits.
func (s *Session) finish(err error) {
	s.mu.Lock()
	s.state, s.err = stEnded, err
	s.mu.Unlock()
	s.quitStop()
	close(s.done)
	close(s.msgs)
	s.roster.close()
	s.evMu.Lock()
	s.evClosed = true
	close(s.events)
	s.evMu.Unlock()
}

// live returns the live leg, or why there is none: ErrReconnecting while
// the Session is lost and rejoining, ErrSessionEnded once it ends.
func (s *Session) live() (*leg, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case stActive:
		return s.leg, nil
	case stLost:
		return nil, ErrReconnecting
	}
	return nil, ErrSessionEnded
}

// parseReason reads the Reason headers of a BYE (RFC 3326): the one of
// protocol SIP, else the first; nil when there is none.
func parseReason(req *sip.Request) *ByeReason {
	var first *ByeReason
	for _, h := range req.GetHeaders("Reason") {
		for _, v := range splitQuoted(h.Value(), ',') {
			r := parseReasonValue(v)
			if r == nil {
				continue
			}
			if strings.EqualFold(r.Protocol, "SIP") {
				return r
			}
			if first == nil {
				first = r
			}
		}
	}
	return first
}

// parseReasonValue parses one reason-value: protocol *(SEMI reason-params).
func parseReasonValue(v string) *ByeReason {
	parts := splitQuoted(v, ';')
	r := &ByeReason{Protocol: strings.TrimSpace(parts[0])}
	if r.Protocol == "" {
		return nil
	}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(p, "=")
		k, val = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(val)
		switch k {
		case "cause":
			if n, err := strconv.Atoi(val); err == nil {
				r.Cause = n
			}
		case "text":
			r.Text = unquote(val)
		}
	}
	return r
}

// unquote reads a quoted-string (RFC 3261 §25.1: a backslash escapes the
// character after it); a token is taken as it is.
func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	v = v[1 : len(v)-1]
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// splitQuoted splits s at sep outside double-quoted strings.
func splitQuoted(s string, sep byte) []string {
	var out []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
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
