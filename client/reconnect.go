package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/msrp"
)

// Defaults of the Reconnect fields left zero.
const (
	// DefaultReconnectDelay is the wait before the first attempt.
	DefaultReconnectDelay = time.Second
	// DefaultReconnectMaxDelay caps the wait between attempts.
	DefaultReconnectMaxDelay = 30 * time.Second
	// DefaultReconnectJitter is the random fraction of each wait.
	DefaultReconnectJitter = 0.5
	// DefaultReconnectAttempts is how many attempts in a row are made
	// before giving up: with the default delays, about eight minutes.
	DefaultReconnectAttempts = 20
)

// reconnectBuffer is the capacity of the ReconnectEvents channel.
const reconnectBuffer = 64

// Reconnect is the reconnection policy of a Session (Options.Reconnect).
//
// With Enabled set, a Session whose leg is lost for a reason that may
// pass joins the same room again, with the same identity and options:
// when the MSRP connection fails or closes without the focus's BYE
// following, or when the focus's BYE says the server is shutting down
// (Reason: SIP ;cause=503, what parleyd sends) or, carrying no Reason,
// comes after the MSRP connection ended (parleyd's BYE when the switch
// saw the connection drop). Never after any other BYE (410 the room was
// deleted, a removal…), nor after Leave.
//
// Attempt n waits Delay·2ⁿ⁻¹, capped at MaxDelay, less a random part of
// up to Jitter of it: the wait is drawn uniformly from
// [w·(1−Jitter), w], so that the participants of a room that restarted
// do not all come back at the same instant. Each attempt is a Join of its
// own, bounded by Options.Timeout. An attempt failing for a reason that
// may pass (no answer, a refused connection, 408, 480, 5xx such as the
// 503 of a server still shutting down, the MSRP connection lost) is
// followed by the next; any other failure (403, 404, 410, 486, an
// unusable answer, a refused bind) ends the Session at once, as does the
// last of MaxAttempts failing: Err then wraps ErrReconnectFailed.
type Reconnect struct {
	// Enabled turns reconnecting on.
	Enabled bool
	// Delay is the wait before the first attempt (default
	// DefaultReconnectDelay); each next one waits twice as long, up to
	// MaxDelay.
	Delay time.Duration
	// MaxDelay caps the wait between attempts (default
	// DefaultReconnectMaxDelay). A Delay above it is lowered to it.
	MaxDelay time.Duration
	// Jitter is the random fraction of each wait, in [0, 1] (default
	// DefaultReconnectJitter; negative: none, every wait as computed).
	Jitter float64
	// MaxAttempts is how many attempts in a row are made before giving
	// up (default DefaultReconnectAttempts; negative: no limit). A
	// successful attempt starts the count over.
	MaxAttempts int
}

// reconnectPolicy is Reconnect checked and completed, with the clock and
// the random source (injected by tests).
type reconnectPolicy struct {
	enabled     bool
	delay, max  time.Duration
	jitter      float64
	maxAttempts int // ≤ 0: no limit
	after       func(time.Duration) <-chan time.Time
	rand        func() float64 // in [0, 1)
}

// resolve fills in the defaults of r.
func (r Reconnect) resolve() (reconnectPolicy, error) {
	p := reconnectPolicy{enabled: r.Enabled, delay: r.Delay, max: r.MaxDelay, jitter: r.Jitter, maxAttempts: r.MaxAttempts,
		after: time.After, rand: rand.Float64}
	switch {
	case r.Jitter > 1:
		return p, fmt.Errorf("%w: Reconnect.Jitter %v: want a fraction in [0, 1]", errOptions, r.Jitter)
	case r.Jitter == 0:
		p.jitter = DefaultReconnectJitter
	case r.Jitter < 0:
		p.jitter = 0
	}
	if p.delay <= 0 {
		p.delay = DefaultReconnectDelay
	}
	if p.max <= 0 {
		p.max = DefaultReconnectMaxDelay
	}
	p.delay = min(p.delay, p.max)
	switch {
	case r.MaxAttempts == 0:
		p.maxAttempts = DefaultReconnectAttempts
	case r.MaxAttempts < 0:
		p.maxAttempts = 0
	}
	return p, nil
}

// wait is the wait before attempt n (1, 2…): the capped exponential
// backoff, less its random part.
func (p *reconnectPolicy) wait(n int) time.Duration {
	w := p.delay
	for i := 1; i < n && w < p.max; i++ {
		w *= 2
	}
	w = min(w, p.max)
	if p.jitter > 0 {
		w -= time.Duration(p.jitter * p.rand() * float64(w))
	}
	return w
}

// ReconnectEventKind says what a ReconnectEvent reports.
type ReconnectEventKind uint8

// The kinds of ReconnectEvent.
const (
	// Reconnecting: the Session is not in the room; attempt Attempt to
	// join it again will be made after Delay. Err says why: for the first
	// attempt, what ended the leg (an error wrapping ErrConnectionLost, or
	// ErrEndedByFocus with the *ByeReason of a server shutting down); for
	// the next ones, why the previous attempt failed.
	Reconnecting ReconnectEventKind = iota + 1
	// Reconnected: attempt Attempt joined the room again. The messages
	// the room replays from its history (those sent while the Session was
	// away, when the room keeps history) come on the Messages channel with
	// Message.History set, before the live ones; the roster starts over
	// with a RosterReset. NicknameErr is why the nickname in effect before
	// could not be taken again (nil when it was, or there was none); the
	// Session then has none.
	Reconnected
	// ReconnectFailed: attempt Attempt failed with Err and no other will
	// be made; the Session ends (its Err wraps ErrReconnectFailed).
	ReconnectFailed
)

func (k ReconnectEventKind) String() string {
	switch k {
	case Reconnecting:
		return "Reconnecting"
	case Reconnected:
		return "Reconnected"
	case ReconnectFailed:
		return "ReconnectFailed"
	}
	return "ReconnectEventKind(" + strconv.Itoa(int(k)) + ")"
}

// ReconnectEvent is a step of a reconnection, as Session.ReconnectEvents
// delivers it.
type ReconnectEvent struct {
	Kind        ReconnectEventKind
	Attempt     int           // 1 for the first attempt after a loss
	Delay       time.Duration // Reconnecting: the wait before the attempt
	Err         error         // Reconnecting, ReconnectFailed: see the kinds
	NicknameErr error         // Reconnected: see the kind
}

// ReconnectEvents returns the channel of the Session's reconnections
// (Options.Reconnect), in order; the same channel on every call. Like
// Messages it is buffered and never waited on (an event that finds it full
// is dropped) and closed right after Done. Without Options.Reconnect
// nothing is ever sent on it.
func (s *Session) ReconnectEvents() <-chan ReconnectEvent { return s.events }

// emit sends ev without waiting, unless the channel is closed or full.
func (s *Session) emit(ev ReconnectEvent) {
	s.evMu.Lock()
	defer s.evMu.Unlock()
	if s.evClosed {
		return
	}
	select {
	case s.events <- ev:
	default:
		s.log.Debug("ReconnectEvents channel full; event dropped", "kind", ev.Kind)
	}
}

// reconnect is the reconnect goroutine, started by the owner of a lost
// leg once it is released (the Session is stLost): it waits, joins the
// room again with a new leg, and makes it live, or ends the Session when
// it gives up or Leave ends it (quit).
func (s *Session) reconnect(cause error) {
	p := &s.cfg.reconnect
	last := cause
	for n := 1; ; n++ {
		w := p.wait(n)
		s.log.Info("reconnecting", "attempt", n, "in", w, "error", last)
		s.emit(ReconnectEvent{Kind: Reconnecting, Attempt: n, Delay: w, Err: last})
		select {
		case <-p.after(w):
		case <-s.quit.Done():
			s.finish(nil)
			return
		}
		l, err := s.newLeg(s.quit)
		if err == nil {
			ev := ReconnectEvent{Kind: Reconnected, Attempt: n, NicknameErr: s.retakeNickname(l)}
			err = s.goLive(l, &ev)
		}
		if err == nil {
			// Live: from now on the leg's owners (Leave, onBye, connEnded)
			// may end it, and finish it all.
			s.log.Info("reconnected", "attempt", n)
			s.startRoster(l)
			return
		}
		if s.quit.Err() != nil {
			s.finish(nil) // Leave came: the canceled join, or goLive, has ended the leg
			return
		}
		last = err
		if !rejoinable(err) || (p.maxAttempts > 0 && n >= p.maxAttempts) {
			s.log.Warn("reconnecting failed", "attempts", n, "error", err)
			s.emit(ReconnectEvent{Kind: ReconnectFailed, Attempt: n, Err: err})
			s.finish(fmt.Errorf("%w after %d attempt(s): %w (the session had ended: %w)", ErrReconnectFailed, n, err, cause))
			return
		}
	}
}

// retakeNickname asks, on a joined leg not yet live, for the nickname that
// was in effect; on failure the Session has none and the error says why.
// The roster is renewed here too, before the leg goes live.
func (s *Session) retakeNickname(l *leg) error {
	s.roster.renew()
	nick := s.nick.Load()
	if nick == nil || *nick == "" {
		return nil
	}
	if err := l.setNickname(s.quit, *nick, false); err != nil {
		s.nick.Store(nil)
		s.log.Info("nickname not taken again", "nickname", *nick, "error", err)
		return err
	}
	return nil
}

// rejoinable reports whether a failed attempt to join again may succeed
// later: no answer, a connection refused or lost, 408, 480 or a 5xx, the
// focus ending the new dialog at once with a shutdown reason. Any other
// SIP answer (403, 404, 410, 486, 488…), an unusable SDP answer, a
// refused bind or invalid options will not change.
func rejoinable(err error) bool {
	var se *SIPError
	if errors.As(err, &se) {
		c := se.Code
		return c == sip.StatusRequestTimeout || c == sip.StatusTemporarilyUnavailable || (c >= 500 && c < 600)
	}
	var br *ByeReason
	if errors.As(err, &br) {
		return br.shutdown()
	}
	var me *msrp.StatusError
	switch {
	case errors.As(err, &me), errors.Is(err, ErrBadAnswer), errors.Is(err, errOptions), errors.Is(err, ErrEndedByFocus):
		return false
	case errors.Is(err, context.Canceled):
		return false
	}
	return true
}
