package client

import (
	"context"
	"errors"
	"fmt"
)

// Why a Session ended, as Session.Err reports it (nil after Leave).
var (
	// ErrEndedByFocus: the focus sent BYE (room deleted, server shutdown,
	// MSRP session ended on its side). The Session answered it 200.
	ErrEndedByFocus = errors.New("client: session ended by the focus")
	// ErrConnectionLost: the MSRP connection failed or was closed without a
	// BYE from the focus following. The Session sent BYE itself.
	ErrConnectionLost = errors.New("client: MSRP connection lost")
)

// Join failures other than *SIPError, context errors and option errors.
var (
	// ErrTimeout: a SIP transaction, the MSRP connect or the MSRP bind took
	// longer than Options.Timeout.
	ErrTimeout = errors.New("client: timed out")
	// ErrBadAnswer: the focus's 2xx carried no usable SDP answer (no MSRP
	// stream with a path, no message/cpim, an a=setup we cannot honour).
	ErrBadAnswer = errors.New("client: unusable SDP answer")
)

// SIPError is a final non-2xx response to one of our SIP requests: the
// INVITE of Join (404 no such room, 486 room full, 488 offer refused…) or
// the BYE of Leave.
type SIPError struct {
	Method  string // "INVITE" or "BYE"
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
