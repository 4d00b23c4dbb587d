package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/msrp"
)

// Join enters the chat room roomURI ("sip:lobby@chat.example.com:5060",
// or "sips:lobby@chat.example.com" for SIP and MSRP over TLS; with
// opts.Transport "ws", over secure WebSockets to opts.WebSocketURL):
// it starts a SIP user agent of its own on opts.LocalAddr, sends an INVITE
// with our SDP offer, ACKs the 2xx, connects to the first URI of the
// focus's MSRP path and binds the session with a bodiless SEND. When the
// 2xx shows a focus offering the conference event package, the Session
// then subscribes to it in the background (see Session.Roster), unless
// opts.NoRoster is set; Join does not wait for that.
//
// Errors: *SIPError for a non-2xx final response (404 no such room, 486
// room full, 488 offer refused…); ErrBadAnswer, ErrTimeout,
// ErrEndedByFocus, ErrConnectionLost or an *msrp.StatusError (bind
// refused) for a failure after the 2xx, in which case Join has sent BYE
// (unless the focus did); ctx's error when ctx ends first. When ctx ends
// while the INVITE is pending, Join sends CANCEL (RFC 3261 §9.1: once a
// provisional response has arrived) and, should a 2xx cross it, ACK and
// BYE. Such clean-up after ctx has ended (CANCEL, or BYE after the 2xx) is
// bounded by Options.Timeout. Every goroutine and socket Join started is
// gone when it returns an error. Join itself makes one attempt:
// Options.Reconnect applies once the Session has joined.
func Join(ctx context.Context, roomURI string, opts Options) (*Session, error) {
	var room sip.Uri
	if err := sip.ParseUri(roomURI, &room); err != nil || (room.Scheme != "sip" && room.Scheme != "sips") || room.Host == "" {
		return nil, fmt.Errorf("%w: room %q is not a sip: or sips: URI", errOptions, roomURI)
	}
	cfg, err := opts.resolve(room)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &Session{
		room:    roomURI,
		roomURI: room,
		cfg:     cfg,
		log:     cfg.log.With("room", roomURI),
		done:    make(chan struct{}),
		msgs:    make(chan Message, cfg.msgBuffer),
		roster:  newRoster(cfg.rosterBuffer),
		events:  make(chan ReconnectEvent, reconnectBuffer),
	}
	s.quit, s.quitStop = context.WithCancel(context.Background())
	s.dest = hostPort(room, cfg.transport)
	switch {
	case cfg.wsURL != nil:
		s.dest = cfg.wsURL.Host // host:port, the port explicit
	case cfg.server != "":
		s.dest = cfg.server
	}
	l, err := s.newLeg(ctx)
	if err == nil {
		err = s.goLive(l, nil)
	}
	if err != nil {
		s.finish(err)
		return nil, err
	}
	s.startRoster(l)
	return s, nil
}

// newLeg makes a leg and joins the room with it: its own SIP user agent,
// the INVITE, the MSRP connection and bind. On failure nothing of the leg
// is left (a BYE was sent when a dialog existed and the focus had not
// ended it).
func (s *Session) newLeg(ctx context.Context) (*leg, error) {
	l := &leg{
		s:        s,
		focusBye: make(chan struct{}),
		in:       incoming{reasm: msrp.NewReassembler(s.cfg.maxMessage), held: make(map[string]uint64)},
	}
	a, err := newAgent(ctx, &s.cfg, s.dest, l.register)
	if err != nil {
		return nil, err
	}
	l.sip = a
	l.dlg = newDialog(&s.cfg, s.roomURI, s.dest, a)
	// Over TLS the stream is TCP/TLS/MSRP with an msrps: path (RFC 4975
	// §14.3); over WSS too, with an msrps: ;ws path on our .invalid host
	// (RFC 7977 §5.2.1).
	l.local = msrp.URI{Secure: s.cfg.transport == "TLS", Host: a.host, Port: activePort, SessionID: msrp.NewSessionID(), Transport: "tcp"}
	if s.cfg.transport == "WSS" {
		l.local.Secure, l.local.Port, l.local.Transport = true, wsPathPort, "ws"
	}
	if err := a.start(); err != nil {
		return nil, err
	}
	if err := l.join(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// goLive makes a joined leg the Session's live one, unless it was lost
// already (the focus's BYE, the connection closed) or Leave came while the
// Session was reconnecting: then the leg is ended (BYE unless the focus
// sent one) and released, and the error says why. ev, if not nil, is
// emitted as the leg goes live, before any owner of the live leg can
// report its loss.
func (s *Session) goLive(l *leg, ev *ReconnectEvent) error {
	s.mu.Lock()
	var err error
	switch {
	case l.byFocus:
		err, _ = l.byeCause()
	case isClosed(l.conn.done):
		err = fmt.Errorf("%w: right after the bind", ErrConnectionLost)
	case s.leaving:
		err = ErrSessionEnded
	default:
		s.leg, s.state = l, stActive // from now on connEnded and onBye may end it
		if ev != nil {
			s.emit(*ev) // never blocks; evMu is a leaf
		}
	}
	s.mu.Unlock()
	if err == nil {
		s.log.Info("joined", "focus", l.isFocus, "msrp", l.local.String())
		return nil
	}
	l.fail(context.Background())
	return err
}

// join runs the INVITE and the MSRP bind. On failure it ends the leg (BYE
// when a dialog exists and the focus has not ended it) and returns why.
func (l *leg) join(ctx context.Context) error {
	res, err := l.invite(ctx, buildOffer(l.local, l.sip.addr, &l.s.cfg))
	if err != nil {
		l.release()
		return err
	}
	if err := l.establish(ctx, res); err != nil {
		if errors.Is(err, ErrEndedByFocus) {
			l.s.mu.Lock()
			err, _ = l.byeCause() // with the BYE's Reason
			l.s.mu.Unlock()
		}
		l.fail(ctx)
		return err
	}
	return nil
}

// fail ends a leg that did not go live: BYE unless the focus ended the
// dialog, then release.
func (l *leg) fail(ctx context.Context) {
	if !l.endedByFocus() {
		// The caller's ctx may be over: the BYE gets a Timeout of its own.
		if berr := l.bye(context.WithoutCancel(ctx)); berr != nil {
			l.s.log.Debug("BYE after a failed join failed", "error", berr)
		}
	}
	l.release()
}

// establish checks the 2xx, connects and binds.
func (l *leg) establish(ctx context.Context, res *sip.Response) error {
	s := l.s
	if c := res.Contact(); c != nil {
		l.isFocus = c.Params.Has("isfocus")
		if l.isFocus && c.Address.User != "" && c.Address.Host != "" {
			// RFC 4579 §3: the focus's Contact is the conference URI.
			// parleyd puts the room's canonical URI there (issue 19).
			u := sip.Uri{Scheme: c.Address.Scheme, User: c.Address.User, Host: c.Address.Host, Port: c.Address.Port}
			if u.Scheme == "" {
				u.Scheme = "sip"
			}
			canonical := u.String()
			s.canonical.Store(&canonical)
		}
	}
	l.conferenceEvents = allowsEvent(res, conferenceEvent)
	ws := s.cfg.transport == "WSS"
	ans, err := parseAnswer(res, l.local.Secure, ws)
	if err != nil {
		return err
	}
	l.answer = ans
	var nc net.Conn
	if ws {
		nc, err = dialMSRPWebSocket(ctx, ans.path[0], s.cfg.wsURL, s.cfg.timeout, s.cfg.tls, s.cfg.maxMessage)
	} else {
		nc, err = dialMSRP(ctx, ans.path[0], s.cfg.timeout, s.cfg.tls)
	}
	if err != nil {
		return err
	}
	c := newMSRPConn(nc, l.local, ans.path, &s.cfg, s.log)
	c.whole = ws
	c.onSend = l.handleSend
	s.mu.Lock()
	l.conn = c
	s.mu.Unlock()
	c.start(l.connEnded)
	return c.bind(ctx, l.focusBye)
}

// invite sends the INVITE and waits for its final response, bounded by ctx
// and the Timeout. A 2xx is ACKed before it is returned. Challenged (401,
// 407) with Options.Password set, it sends the INVITE again with
// credentials (auth.go), once.
func (l *leg) invite(ctx context.Context, offer []byte) (*sip.Response, error) {
	creds := l.s.cfg.creds
	retried := false
again:
	req := l.dlg.invite(offer)
	if creds != nil {
		if err := creds.add(req); err != nil { // a challenge answered before: answered again, pre-emptively
			return nil, err
		}
	}
	tx, err := l.sip.request(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("client: INVITE: %w", ctx.Err())
		}
		return nil, fmt.Errorf("client: INVITE: %w", err)
	}
	t := time.NewTimer(l.s.cfg.timeout)
	defer t.Stop()
	provisional := false
	for {
		select {
		case res := <-tx.Responses():
			switch {
			case res.IsProvisional():
				provisional = true
			case res.IsSuccess():
				l.accept(tx, res)
				return res, nil
			default:
				tx.Terminate()
				if challenged(res) && creds != nil && !retried && creds.learn(res) == nil {
					// RFC 3261 §22.2: the INVITE again, a new
					// transaction, with credentials; once.
					retried = true
					l.dlg.nextInvite()
					goto again
				}
				return nil, sipError(sip.INVITE.String(), res)
			}
		case <-tx.Done():
			return nil, fmt.Errorf("client: INVITE: %w", txError(tx))
		case <-ctx.Done():
			return nil, l.abandon(tx, req, provisional, fmt.Errorf("client: INVITE: %w", ctx.Err()))
		case <-t.C:
			return nil, l.abandon(tx, req, provisional, fmt.Errorf("%w: no final response to INVITE", ErrTimeout))
		}
	}
}

// accept confirms the dialog and ACKs the 2xx. The INVITE transaction is
// kept (until finish) so that a retransmitted 2xx, sent when our ACK was
// lost on UDP, is ACKed again.
func (l *leg) accept(tx sip.ClientTransaction, res *sip.Response) {
	l.dlg.confirm(res)
	ack := l.dlg.ack()
	if err := l.sip.write(ack); err != nil {
		l.s.log.Debug("ACK not sent", "error", err)
	}
	again := ack.Clone() // with the Via sipgo added: a retransmission is the same ACK
	tx.OnRetransmission(func(r *sip.Response) {
		if r.IsSuccess() {
			_ = l.sip.write(again.Clone())
		}
	})
	l.inviteTx = tx
}

// abandon gives up a pending INVITE and returns cause. It CANCELs the
// INVITE once a provisional response has arrived (never before: RFC 3261
// §9.1) and reads responses until the final one; a 2xx that crossed the
// CANCEL is ACKed and its dialog ended with BYE. All of it is bounded by
// the Timeout.
func (l *leg) abandon(tx sip.ClientTransaction, inv *sip.Request, provisional bool, cause error) error {
	defer tx.Terminate()
	ctx, cancel := context.WithTimeout(context.Background(), l.s.cfg.timeout)
	defer cancel()
	canceled := false
	for {
		if provisional && !canceled {
			canceled = true
			res, err := l.sip.do(ctx, l.dlg.cancel(inv))
			if err != nil {
				l.s.log.Debug("CANCEL failed", "error", err)
			} else if !res.IsSuccess() {
				l.s.log.Debug("CANCEL refused", "status", res.StatusCode)
			}
		}
		select {
		case res := <-tx.Responses():
			switch {
			case res.IsProvisional():
				provisional = true
				continue
			case res.IsSuccess():
				l.dlg.confirm(res)
				if err := l.sip.write(l.dlg.ack()); err != nil {
					l.s.log.Debug("ACK not sent", "error", err)
				}
				if err := l.bye(ctx); err != nil {
					l.s.log.Debug("BYE of a canceled join failed", "error", err)
				}
			}
			return cause // a non-2xx (487) is ACKed by sipgo's transaction
		case <-tx.Done():
			return cause
		case <-ctx.Done():
			return cause
		}
	}
}

func txError(tx sip.ClientTransaction) error {
	if err := tx.Err(); err != nil {
		return err
	}
	return errors.New("transaction ended without a final response")
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
