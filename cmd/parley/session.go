package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/msrp"
)

// connect joins the room arg names. On failure it says why on stderr and
// returns ok false.
func connect(ctx context.Context, c *common, arg string, io stdio) (s *client.Session, room string, o client.Options, ok bool) {
	c.vlog = io.vlog
	s, room, o, err := dial(ctx, c, arg, io.err)
	if err != nil {
		fmt.Fprintf(io.err, "parley: %v\n", err)
		return nil, "", o, false
	}
	return s, room, o, true
}

// dial joins the room arg names; its error says why in words. Warnings
// (--insecure) go to stderr (nil: nowhere).
func dial(ctx context.Context, c *common, arg string, stderr io.Writer) (s *client.Session, room string, o client.Options, err error) {
	if stderr == nil {
		stderr = io.Discard
	}
	room, server, err := c.roomURI(arg)
	if err != nil {
		return nil, "", o, err
	}
	c.server = server
	if o, err = c.options(room, stderr); err != nil {
		return nil, "", o, err
	}
	s, err = client.Join(ctx, room, o)
	if err != nil {
		return nil, "", o, fmt.Errorf("cannot join %s: %s", room, joinFailure(room, server, o.Transport, err))
	}
	return s, room, o, nil
}

// siblingRoom is the room /join NAME means: the room NAME on the server of
// first (its scheme, host and parameters); a sip: or sips: URI as it is.
func siblingRoom(first, name string) (string, error) {
	if err := checkRoomArg(name); err != nil {
		return "", err
	}
	if strings.HasPrefix(name, "sip:") || strings.HasPrefix(name, "sips:") {
		return name, nil
	}
	scheme, rest, ok := strings.Cut(first, ":")
	if !ok {
		return "", fmt.Errorf("cannot tell the server of %s", first)
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	return scheme + ":" + name + "@" + rest, nil
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
