package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/msrp"
)

// connect joins the room arg names. On failure it says why on stderr and
// returns ok false.
func connect(ctx context.Context, c *common, arg string, io stdio) (s *client.Session, room string, o client.Options, ok bool) {
	room, server, err := c.roomURI(arg)
	if err != nil {
		fmt.Fprintf(io.err, "parley: %v\n", err)
		return nil, "", o, false
	}
	c.server = server
	c.vlog = io.vlog
	if o, err = c.options(room, io.err); err != nil {
		fmt.Fprintf(io.err, "parley: %v\n", err)
		return nil, "", o, false
	}
	s, err = client.Join(ctx, room, o)
	if err != nil {
		fmt.Fprintf(io.err, "parley: cannot join %s: %s\n", room, joinFailure(room, server, o.Transport, err))
		return nil, "", o, false
	}
	return s, room, o, true
}

// joinFailure explains why Join failed, with a hint when nobody answers.
// transport is the client.Options one.
func joinFailure(room, server, transport string, err error) string {
	where := server
	if where == "" {
		where = "the room's host"
		if transport == "ws" {
			where += " (port 8443)"
		}
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED) && transport == "ws":
		return "nothing answers at " + where + ": is parleyd running there with its HTTPS port on? (-https host:port, or [https] listen; " +
			"SIP and the chat over WebSockets go to that port)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing answers at " + where + ": is parleyd running? (go run ./cmd/parleyd)"
	case errors.Is(err, client.ErrTimeout) && transport == "ws", errors.Is(err, context.DeadlineExceeded) && transport == "ws":
		return "no answer from " + where + ": is parleyd running there with its HTTPS port on?"
	case errors.Is(err, client.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "no answer from " + where + ": is parleyd running there? (over UDP a missing server looks like this; try --transport tcp)"
	case errors.Is(err, context.Canceled):
		return "interrupted"
	}
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return "the server's certificate does not verify: " + cv.Err.Error() + ". If this is your server, trust its certificate with --ca FILE " +
			"(a parleyd with no certificate configured uses the self-signed parley-data/parley-selfsigned.crt; compare the SHA-256 " +
			"fingerprint parleyd logs), or skip the check with --insecure"
	}
	text, _ := explain("join", room, err)
	return text
}

// takeNick asks for nick; explicit says the user chose it (--nick). A
// nickname parley picked itself ($USER) that is taken gets a number
// (alice2 … alice9); one the user chose is reported when refused.
func (c *chat) takeNick(ctx context.Context, nick string, explicit bool) {
	if nick == "" {
		return
	}
	if caps, ok := c.s.Chatroom(); !ok || !caps.Nickname {
		if explicit {
			c.emit(Event{Time: time.Now(), Type: evError, Text: "this room does not allow nicknames; others see your display name"})
		}
		return
	}
	tries := []string{nick}
	if !explicit {
		for i := 2; i <= 9; i++ {
			tries = append(tries, nick+strconv.Itoa(i))
		}
	}
	for _, n := range tries {
		err := c.s.SetNickname(ctx, n)
		if err == nil {
			c.mu.Lock()
			c.nick = n
			c.mu.Unlock()
			c.emit(Event{Time: time.Now(), Type: evInfo, Text: "you are now known as " + n, Nickname: n})
			return
		}
		var se *msrp.StatusError
		if explicit || !errors.As(err, &se) || se.Code != msrp.StatusNicknameInUse {
			if explicit {
				c.failed("nick", n, err)
			}
			return
		}
	}
	c.emit(Event{Time: time.Now(), Type: evInfo, Text: "nicknames " + nick + " to " + tries[len(tries)-1] + " are taken; choose one with /nick"})
}

// leave sends BYE (bounded) and waits for the chat's goroutines.
func (c *chat) leave() {
	c.comp.close()
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	c.s.Leave(ctx)
	c.wait()
}
