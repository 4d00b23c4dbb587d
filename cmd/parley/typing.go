package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/iscomposing"
)

// composer sends our typing indications (RFC 3994 §3): active when the
// user starts typing a line that will be sent (to the room, or to the
// /msg recipient), again every iscomposing.RefreshInterval while typing
// goes on, idle after iscomposing.IdleTimeout without a keystroke or when
// the line is cleared; nothing when the line is sent (the message itself
// ends the indication at the receivers).
type composer struct {
	c *chat

	mu       sync.Mutex
	active   bool
	to       string // "" the room, else the recipient's URI
	lastSent time.Time
	idle     *time.Timer
	closed   bool

	idleTimeout time.Duration // iscomposing.IdleTimeout; tests shorten it
}

// typingHead is how much of the line typed looks at: where it goes is
// said at its start (a /msg and its recipient).
const typingHead = 256

// typed is called with the input after each change: once per keystroke,
// once per paste. Its work does not grow with the line (it reads the
// first typingHead bytes; a long line that starts blank is the one case
// it scans on), so a long message costs nothing more per keystroke.
func (p *composer) typed(line string) {
	head := line
	if len(head) > typingHead {
		head = head[:typingHead]
		if strings.TrimSpace(head) == "" && strings.TrimSpace(line) != "" {
			head = "x" // blank so far, text after: a line for the room
		}
	}
	target, ok := typingTarget(head)
	to := ""
	if ok && target != "" {
		uri, err, found := p.c.known(target)
		if !found || err != nil {
			ok = false // an unknown recipient: say nothing
		} else {
			to = uri
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if !ok {
		p.goIdle()
		return
	}
	now := time.Now()
	if p.active && p.to != to {
		p.goIdle() // the line now goes elsewhere: the old recipient sees the end
	}
	if !p.active || now.Sub(p.lastSent) >= iscomposing.RefreshInterval {
		p.active, p.to, p.lastSent = true, to, now
		p.send(to, true)
	}
	d := p.idleTimeout
	if d <= 0 {
		d = iscomposing.IdleTimeout
	}
	if p.idle == nil {
		p.idle = time.AfterFunc(d, p.timeout)
	} else {
		p.idle.Reset(d)
	}
}

// timeout: no keystroke for IdleTimeout.
func (p *composer) timeout() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.goIdle()
	}
}

// sent is called when a line is sent: receivers end the indication on the
// message itself, so no idle goes out.
func (p *composer) sent() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active = false
	if p.idle != nil {
		p.idle.Stop()
	}
}

// close stops the composer for good (the session is ending).
func (p *composer) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed, p.active = true, false
	if p.idle != nil {
		p.idle.Stop()
	}
}

// goIdle sends idle if we were active. p.mu is held.
func (p *composer) goIdle() {
	if !p.active {
		return
	}
	p.active = false
	if p.idle != nil {
		p.idle.Stop()
	}
	p.send(p.to, false)
}

// send sends one indication on a goroutine of its own (the UI never waits
// for the network), tracked by the chat's wait group and bounded by the
// Session's Timeout. A failure is shown once as an error event, except for
// a private peer that is gone (the /msg itself will say so).
func (p *composer) send(to string, active bool) {
	c := p.c
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := c.s.SendComposing(ctx, to, active)
		if err != nil && to == "" && !errors.Is(err, client.ErrSessionEnded) && !errors.Is(err, client.ErrConnectionLost) &&
			!errors.Is(err, client.ErrReconnecting) {
			text, code := explain("say", "", err)
			c.emit(Event{Time: time.Now(), Type: evError, Text: fmt.Sprintf("typing indication not sent: %s", text), Code: code})
		}
	}()
}
