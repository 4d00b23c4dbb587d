package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Why a Session ended, as Session.Err reports it (nil after Leave).
var (
	// ErrEndedByFocus: the focus sent BYE (room deleted, server shutdown,
	// MSRP session ended on its side). The Session answered it 200. When
	// the BYE said why (a Reason header, RFC 3326), the error wraps a
	// *ByeReason as well: errors.As gives its cause (410 the room was
	// deleted, 503 the server is shutting down…).
	ErrEndedByFocus = errors.New("client: session ended by the focus")
	// ErrConnectionLost: the MSRP connection failed or was closed without a
	// BYE from the focus following. The Session sent BYE itself.
	ErrConnectionLost = errors.New("client: MSRP connection lost")
	// ErrReconnectFailed: the Session lost the room, tried to join it
	// again (Options.Reconnect) and gave up: after Reconnect.MaxAttempts
	// attempts, or at once on an answer that will not change (403, 404,
	// 410, 486…). The error wraps, in this order (Unwrap() []error),
	// ErrReconnectFailed, the last attempt's failure (a *SIPError…) and
	// what ended the session in the first place.
	ErrReconnectFailed = errors.New("client: could not rejoin the room")
)

// ErrReconnecting is what Send, SendMessage, SendPrivate, SendComposing
// and SetNickname return, without sending anything, while the Session is
// joining the room again (Options.Reconnect): the Session has not ended;
// try again once a Reconnected event has come.
var ErrReconnecting = errors.New("client: reconnecting to the room")

// ByeReason is the Reason header (RFC 3326) of the BYE with which the
// focus ended a Session: parleyd says "SIP ;cause=503 ;text=\"Server
// shutting down\"" at shutdown, "SIP ;cause=410 ;text=\"Room deleted\""
// when the room is deleted under the participant, cause 408 when our ACK
// never came. Session.Err wraps it (with ErrEndedByFocus).
type ByeReason struct {
	Protocol string // "SIP", "Q.850"…, as the header names it
	Cause    int    // the cause parameter; 0 when absent or not a number
	Text     string // the text parameter, unquoted; "" when absent
}

func (r *ByeReason) Error() string {
	s := r.Text
	if s == "" {
		s = "no reason text"
	}
	return fmt.Sprintf("%s (%s cause %d)", s, r.Protocol, r.Cause)
}

// shutdown reports whether the reason says the server is going away and
// will be back: SIP cause 503 (Service Unavailable), what parleyd sends at
// shutdown. It is the only BYE after which a Session reconnects.
func (r *ByeReason) shutdown() bool {
	return r != nil && strings.EqualFold(r.Protocol, "SIP") && r.Cause == 503
}

// Join failures other than *SIPError, context errors and option errors.
var (
	// ErrTimeout: a SIP transaction, the MSRP connect or the MSRP bind took
	// longer than Options.Timeout.
	ErrTimeout = errors.New("client: timed out")
	// ErrBadAnswer: the focus's 2xx carried no usable SDP answer (no MSRP
	// stream with a path, no message/cpim, an a=setup we cannot honour).
	ErrBadAnswer = errors.New("client: unusable SDP answer")
)

// Errors of Send, SendMessage, SendPrivate and SetNickname besides an
// *msrp.StatusError (the switch's non-200 answer), ctx's error, ErrTimeout
// (no answer within Options.Timeout) and ErrConnectionLost (the connection
// closed before the answer). These four are returned without anything
// being sent, as is msrp.ErrMalformedNickname.
var (
	// ErrSessionEnded: the Session had ended (or was ending) when the
	// method was called. A request in flight when the Session ends fails
	// with ErrConnectionLost instead: its answer can no longer arrive.
	ErrSessionEnded = errors.New("client: session ended")
	// ErrPrivateMessagesNotAllowed: the focus's a=chatroom lacks
	// private-messages (RFC 7701 §6.2, §8), so a private message is not
	// sent; the switch would refuse it with 403.
	ErrPrivateMessagesNotAllowed = errors.New("client: the room does not allow private messages")
	// ErrNicknamesNotAllowed: the focus's a=chatroom lacks nickname
	// (RFC 7701 §7.1, §8), so NICKNAME is not sent; the switch would
	// refuse it with 403.
	ErrNicknamesNotAllowed = errors.New("client: the room does not allow nicknames")
	// ErrInvalidMessage: an Outgoing that cannot be sent as it is (a
	// recipient URI or content type that cannot go in a CPIM header, a
	// private message addressed to the room itself).
	ErrInvalidMessage = errors.New("client: invalid message")
)

// Why a Session has no roster, as Session.RosterErr reports it, besides a
// *SIPError (the focus refused the SUBSCRIBE: 403, 404, 489…) and errors
// wrapping ErrTimeout (no answer to it).
var (
	// ErrNoRoster: the Session does not subscribe to the conference event
	// package: Options.NoRoster was set, or the focus's 2xx to the INVITE
	// lacked isfocus in its Contact or conference in its Allow-Events
	// (RFC 4579 §3.4).
	ErrNoRoster = errors.New("client: no roster")
	// ErrRosterEnded: the focus ended the subscription for good
	// (Subscription-State terminated with reason noresource, rejected or
	// invariant, or a conference document with state deleted: the room is
	// gone), or it could not be renewed after several attempts.
	ErrRosterEnded = errors.New("client: roster subscription ended")
)

// SIPError is a final non-2xx response to one of our SIP requests: the
// INVITE of Join (404 no such room, 486 room full, 488 offer refused…),
// the BYE of Leave or the SUBSCRIBE of the roster (Session.RosterErr).
type SIPError struct {
	Method  string // "INVITE", "BYE" or "SUBSCRIBE"
	Code    int
	Reason  string
	Warning string // the Warning header's value, if any (parleyd explains 4xx there)
}

func (e *SIPError) Error() string {
	s := fmt.Sprintf("client: %s: %d %s", e.Method, e.Code, e.Reason)
	if e.Warning != "" {
		s += " (" + e.Warning + ")"
	}
	return s
}

// waitError tells a wait that ended because the caller's ctx ended (its
// error, as is) from one that ended on our own Timeout (ErrTimeout).
func waitError(parent context.Context, what string) error {
	if err := parent.Err(); err != nil {
		return err
	}
	return fmt.Errorf("%w: %s", ErrTimeout, what)
}
