package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/msrp"
)

func TestExplain(t *testing.T) {
	status := func(code int) error { return fmt.Errorf("client: SEND: %w", &msrp.StatusError{Code: code}) }
	cases := []struct {
		what, arg string
		err       error
		want      string
		code      int
	}{
		{"nick", "bob", status(425), `nickname "bob" is taken`, 425},
		{"nick", "b b", status(424), "not a valid nickname", 424},
		{"nick", "bobbybobbybob", fmt.Errorf("client: NICKNAME: %w", &msrp.StatusError{Code: 424, Comment: "nickname too long: at most 8 octets"}), `nickname "bobbybobbybob" is too long for this room (nickname too long: at most 8 octets)`, 424},
		{"nick", "bob", status(403), "does not allow nicknames", 403},
		{"msg", "carol", status(404), "nobody called carol is in the room", 404},
		{"msg", "carol", status(428), "carol's client does not take private messages", 428},
		{"msg", "carol", status(403), "does not allow private messages", 403},
		{"say", "", status(413), "too large", 413},
		{"say", "", status(415), "does not take this kind of content", 415},
		{"nick", "x", client.ErrNicknamesNotAllowed, "does not allow nicknames", 0},
		{"msg", "x", client.ErrPrivateMessagesNotAllowed, "does not allow private messages", 0},
		{"say", "", client.ErrSessionEnded, "not connected", 0},
		{"join", "sip:x@h", &client.SIPError{Method: "INVITE", Code: 404, Reason: "Not Found"}, "there is no room sip:x@h", 404},
		{"join", "sip:x@h", &client.SIPError{Method: "INVITE", Code: 486, Reason: "Busy Here", Warning: "399 parley \"room full\""}, "room sip:x@h is full (399", 486},
	}
	for _, c := range cases {
		text, code := explain(c.what, c.arg, c.err)
		if !strings.Contains(text, c.want) || code != c.code {
			t.Errorf("explain(%s, %q, %v) = %q, %d; want it to say %q, %d", c.what, c.arg, c.err, text, code, c.want, c.code)
		}
	}
}
