package client

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-im/parley/iscomposing"
	"github.com/parley-im/parley/sdp"
)

// SendComposing sends an RFC 3994 isComposing indication, wrapped in
// message/cpim like any content (RFC 3994 §3, RFC 7701 §6): active (the user
// is typing; Refresh iscomposing.RefreshInterval, content type text/plain)
// or idle (with LastActive now). to "" sends it to the room; a participant's
// URI sends it to that participant only, as a private message (so the
// focus's a=chatroom must allow private messages). The switch relays it
// like a message, to the recipients whose a=accept-wrapped-types admits
// application/im-iscomposing+xml. It waits for the switch's answer as
// SendMessage does.
//
// A sender following RFC 3994 §3 calls it with active when the user starts
// typing, again no more often than every iscomposing.RefreshInterval while
// the typing goes on, and with idle after iscomposing.IdleTimeout without
// typing; sending the message itself makes receivers drop the indication,
// so no idle is needed after it.
func (s *Session) SendComposing(ctx context.Context, to string, active bool) error {
	st := iscomposing.Status{State: iscomposing.Idle, ContentType: "text/plain"}
	if active {
		st.State = iscomposing.Active
		st.Refresh = iscomposing.RefreshInterval
	} else {
		st.LastActive = time.Now().UTC().Truncate(time.Second)
	}
	body, err := st.Marshal()
	if err != nil {
		return fmt.Errorf("client: isComposing: %w", err)
	}
	out := Outgoing{ContentType: iscomposing.ContentType, Body: body}
	if to != "" {
		if s.isRoom(to) {
			return fmt.Errorf("%w: a private message to the room itself", ErrInvalidMessage)
		}
		out.To = []string{to}
	}
	return s.SendMessage(ctx, out)
}

// Composing returns the isComposing status a message carries (RFC 3994):
// ok when its content type is application/im-iscomposing+xml and its body
// parses. A receiver shows m.From as typing while the status is active,
// until an idle status, a message with content from m.From, or
// Status.Expires(arrival) (RFC 3994 §4).
func (m Message) Composing() (st iscomposing.Status, ok bool) {
	if sdp.BaseMediaType(m.ContentType) != iscomposing.ContentType {
		return st, false
	}
	st, err := iscomposing.Parse(m.Body)
	return st, err == nil
}
