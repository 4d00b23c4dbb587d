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
// gone when it returns an error.
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
		room:     roomURI,
		cfg:      cfg,
		log:      cfg.log.With("room", roomURI),
		focusBye: make(chan struct{}),
		done:     make(chan struct{}),
		msgs:     make(chan Message, cfg.msgBuffer),
		in:       incoming{reasm: msrp.NewReassembler(cfg.maxMessage), held: make(map[string]uint64)},
		roster:   newRoster(cfg.rosterBuffer),
	}
	dest := hostPort(room, cfg.transport)
	switch {
	case cfg.wsURL != nil:
		dest = cfg.wsURL.Host // host:port, the port explicit
	case cfg.server != "":
		dest = cfg.server
	}
	a, err := newAgent(ctx, &s.cfg, dest, s.register)
	if err != nil {
		return nil, err
	}
	s.sip = a
	s.dlg = newDialog(&s.cfg, room, dest, a)
	// Over TLS the stream is TCP/TLS/MSRP with an msrps: path (RFC 4975
	// §14.3); over WSS too, with an msrps: ;ws path on our .invalid host
	// (RFC 7977 §5.2.1).
	s.local = msrp.URI{Secure: cfg.transport == "TLS", Host: a.host, Port: activePort, SessionID: msrp.NewSessionID(), Transport: "tcp"}
	if cfg.transport == "WSS" {
		s.local.Secure, s.local.Port, s.local.Transport = true, wsPathPort, "ws"
	}
	if err := a.start(); err != nil {
		return nil, err
	}
	if err := s.join(ctx); err != nil {
		return nil, err
	}
	s.startRoster()
	return s, nil
}

// join runs the INVITE and the MSRP bind. On failure it ends the Session
// (BYE when a dialog exists and the focus has not ended it) and returns why.
func (s *Session) join(ctx context.Context) error {
	res, err := s.invite(ctx, buildOffer(s.local, s.sip.addr, &s.cfg))
	if err != nil {
		s.finish(err)
		return err
	}
	err = s.establish(ctx, res)
	if err == nil {
		s.mu.Lock()
		switch {
		case s.byFocus:
			err = ErrEndedByFocus
		case isClosed(s.conn.done):
			err = fmt.Errorf("%w: right after the bind", ErrConnectionLost)
		default:
			s.state = stActive // from now on connEnded and onBye may end it
		}
		s.mu.Unlock()
	}
	if err == nil {
		s.log.Info("joined", "focus", s.isFocus, "msrp", s.local.String())
		return nil
	}
	if !s.endedByFocus() {
		// The caller's ctx may be over: the BYE gets a Timeout of its own.
		if berr := s.bye(context.WithoutCancel(ctx)); berr != nil {
			s.log.Debug("BYE after a failed join failed", "error", berr)
		}
	}
	s.finish(err)
	return err
}

// establish checks the 2xx, connects and binds.
func (s *Session) establish(ctx context.Context, res *sip.Response) error {
	if c := res.Contact(); c != nil {
		s.isFocus = c.Params.Has("isfocus")
	}
	s.conferenceEvents = allowsEvent(res, conferenceEvent)
	ws := s.cfg.transport == "WSS"
	ans, err := parseAnswer(res, s.local.Secure, ws)
	if err != nil {
		return err
	}
	s.answer = ans
	var nc net.Conn
	if ws {
		nc, err = dialMSRPWebSocket(ctx, ans.path[0], s.cfg.wsURL, s.cfg.timeout, s.cfg.tls, s.cfg.maxMessage)
	} else {
		nc, err = dialMSRP(ctx, ans.path[0], s.cfg.timeout, s.cfg.tls)
	}
	if err != nil {
		return err
	}
	s.conn = newMSRPConn(nc, s.local, ans.path, &s.cfg, s.log)
	s.conn.whole = ws
	s.conn.onSend = s.handleSend
	s.conn.start(s.connEnded)
	return s.conn.bind(ctx, s.focusBye)
}

// invite sends the INVITE and waits for its final response, bounded by ctx
// and the Timeout. A 2xx is ACKed before it is returned.
func (s *Session) invite(ctx context.Context, offer []byte) (*sip.Response, error) {
	req := s.dlg.invite(offer)
	tx, err := s.sip.client.TransactionRequest(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("client: INVITE: %w", ctx.Err())
		}
		return nil, fmt.Errorf("client: INVITE: %w", err)
	}
	t := time.NewTimer(s.cfg.timeout)
	defer t.Stop()
	provisional := false
	for {
		select {
		case res := <-tx.Responses():
			switch {
			case res.IsProvisional():
				provisional = true
			case res.IsSuccess():
				s.accept(tx, res)
				return res, nil
			default:
				tx.Terminate()
				return nil, sipError(sip.INVITE.String(), res)
			}
		case <-tx.Done():
			return nil, fmt.Errorf("client: INVITE: %w", txError(tx))
		case <-ctx.Done():
			return nil, s.abandon(tx, req, provisional, fmt.Errorf("client: INVITE: %w", ctx.Err()))
		case <-t.C:
			return nil, s.abandon(tx, req, provisional, fmt.Errorf("%w: no final response to INVITE", ErrTimeout))
		}
	}
}

// accept confirms the dialog and ACKs the 2xx. The INVITE transaction is
// kept (until finish) so that a retransmitted 2xx, sent when our ACK was
// lost on UDP, is ACKed again.
func (s *Session) accept(tx sip.ClientTransaction, res *sip.Response) {
	s.dlg.confirm(res)
	ack := s.dlg.ack()
	if err := s.sip.write(ack); err != nil {
		s.log.Debug("ACK not sent", "error", err)
	}
	again := ack.Clone() // with the Via sipgo added: a retransmission is the same ACK
	tx.OnRetransmission(func(r *sip.Response) {
		if r.IsSuccess() {
			_ = s.sip.write(again.Clone())
		}
	})
	s.inviteTx = tx
}

// abandon gives up a pending INVITE and returns cause. It CANCELs the
// INVITE once a provisional response has arrived (never before: RFC 3261
// §9.1) and reads responses until the final one; a 2xx that crossed the
// CANCEL is ACKed and its dialog ended with BYE. All of it is bounded by
// the Timeout.
func (s *Session) abandon(tx sip.ClientTransaction, inv *sip.Request, provisional bool, cause error) error {
	defer tx.Terminate()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.timeout)
	defer cancel()
	canceled := false
	for {
		if provisional && !canceled {
			canceled = true
			res, err := s.sip.do(ctx, s.dlg.cancel(inv))
			if err != nil {
				s.log.Debug("CANCEL failed", "error", err)
			} else if !res.IsSuccess() {
				s.log.Debug("CANCEL refused", "status", res.StatusCode)
			}
		}
		select {
		case res := <-tx.Responses():
			switch {
			case res.IsProvisional():
				provisional = true
				continue
			case res.IsSuccess():
				s.dlg.confirm(res)
				if err := s.sip.write(s.dlg.ack()); err != nil {
					s.log.Debug("ACK not sent", "error", err)
				}
				if err := s.bye(ctx); err != nil {
					s.log.Debug("BYE of a canceled join failed", "error", err)
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
