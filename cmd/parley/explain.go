package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/msrp"
)

// explain puts a failed action in words a chat user understands, with the
// status code behind it (0 when there is none). what is the action: "nick"
// (the nickname asked for in arg), "msg" (a private message to arg), "say"
// or "join" (the room arg).
func explain(what, arg string, err error) (string, int) {
	var se *msrp.StatusError
	if errors.As(err, &se) {
		return explainMSRP(what, arg, se.Code, se.Comment), se.Code
	}
	var sipErr *client.SIPError
	if errors.As(err, &sipErr) {
		return explainSIP(arg, sipErr), sipErr.Code
	}
	switch {
	case errors.Is(err, client.ErrNicknamesNotAllowed):
		return "this room does not allow nicknames", 0
	case errors.Is(err, client.ErrPrivateMessagesNotAllowed):
		return "this room does not allow private messages", 0
	case errors.Is(err, msrp.ErrMalformedNickname):
		return fmt.Sprintf("%q cannot be a nickname (control characters, or too long)", arg), 0
	case errors.Is(err, client.ErrReconnecting):
		return "not connected to the room right now: reconnecting; try again in a moment", 0
	case errors.Is(err, client.ErrSessionEnded), errors.Is(err, client.ErrConnectionLost):
		return "not connected to the room any more", 0
	case errors.Is(err, client.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "the server did not answer in time", 0
	case errors.Is(err, client.ErrBadAnswer):
		return "the server's answer was not a chat room (no usable MSRP session)", 0
	}
	return err.Error(), 0
}

// explainMSRP reads the switch's answer to a SEND or NICKNAME (RFC 7701
// §6, §7).
// comment is the answer's reason phrase.
func explainMSRP(what, arg string, code int, comment string) string {
	switch what {
	case "nick":
		switch code {
		case msrp.StatusNicknameInUse:
			return fmt.Sprintf("nickname %q is taken (or reserved); choose another with /nick", arg)
		case msrp.StatusMalformedNickname:
			if strings.Contains(comment, "too long") {
				return fmt.Sprintf("nickname %q is too long for this room (%s); choose a shorter one", arg, comment)
			}
			return fmt.Sprintf("%q is not a valid nickname here (letters, digits and symbols; no spaces)", arg)
		case msrp.StatusForbidden:
			return "this room does not allow nicknames"
		}
	case "register":
		switch code {
		case msrp.StatusNicknameInUse:
			return fmt.Sprintf("nickname %q is taken, reserved or registered to another account", arg)
		case msrp.StatusMalformedNickname:
			return fmt.Sprintf("%q is not a valid nickname here (letters, digits and symbols; no spaces)", arg)
		case msrp.StatusForbidden:
			return "only an account can register a nickname: join with --account (or the server could not keep it)"
		}
	case "msg":
		switch code {
		case msrp.StatusRecipientNotFound:
			return fmt.Sprintf("private message not sent: nobody called %s is in the room", arg)
		case msrp.StatusPrivateNotSupported:
			return fmt.Sprintf("private message not sent: %s's client does not take private messages", arg)
		case msrp.StatusForbidden:
			return "private message not sent: this room does not allow private messages"
		}
	}
	switch code {
	case msrp.StatusStopSending:
		return "message not sent: too large for this room"
	case msrp.StatusUnsupportedMedia:
		return "message not sent: the room does not take this kind of content"
	case msrp.StatusForbidden:
		return "not allowed in this room"
	case msrp.StatusSessionDoesNotExist:
		return "not in the room any more"
	}
	return fmt.Sprintf("refused by the server (%d)", code)
}

// explainSIP reads the focus's answer to the INVITE (or BYE, SUBSCRIBE).
func explainSIP(room string, e *client.SIPError) string {
	var s string
	switch e.Code {
	case 403:
		s = "the server does not let you in to " + room
	case 404:
		s = "there is no room " + room
	case 408, 480:
		s = "the server did not answer"
	case 486, 600:
		s = "room " + room + " is full"
	case 488, 606:
		s = "the server refused our session description (is it a chat room?)"
	case 503:
		s = "the server is shutting down or overloaded; try again later"
	default:
		s = fmt.Sprintf("%s refused: %d %s", e.Method, e.Code, e.Reason)
	}
	if e.Warning != "" {
		s += " (" + e.Warning + ")"
	}
	return s
}
