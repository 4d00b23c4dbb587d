package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/parley-im/parley/client"
)

// printer writes events to stdout, one per line, as text or JSON. It is
// safe for concurrent use; a failed write (a closed pipe: `| head`) closes
// broken. As text, a run of history is set apart by divider lines.
type printer struct {
	mu      sync.Mutex
	w       io.Writer
	json    bool
	history bool // text: the last line shown was history
	once    sync.Once
	broken  chan struct{}
}

func newPrinter(w io.Writer, json bool) *printer {
	return &printer{w: w, json: json, broken: make(chan struct{})}
}

func (p *printer) emit(e Event) {
	var line []byte
	if p.json {
		line = e.JSON()
	} else if l := e.Line(); l != "" {
		line = []byte(l)
	} else {
		return
	}
	line = append(line, '\n')
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.json && (e.Type == evHistory) != p.history {
		p.history = !p.history
		div := historyEnd
		if p.history {
			div = historyStart
		}
		line = append([]byte(div+"\n"), line...)
	}
	if _, err := p.w.Write(line); err != nil {
		p.once.Do(func() { close(p.broken) })
	}
}

func cmdJoin(ctx context.Context, c *common, arg string, io stdio) int {
	server := c.server // --server as given: connect sets the one it used
	s, room, o, ok := connect(ctx, c, arg, io)
	if !ok {
		return 1
	}
	var log *lineLog
	if c.logDir != "" {
		var err error
		if log, err = openLog(c.logDir, room); err != nil {
			fmt.Fprintf(io.err, "parley: %v\n", err)
			lctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
			defer cancel()
			s.Leave(lctx)
			return 1
		}
	}
	nick, explicit := c.nick, c.nick != ""
	if nick == "" && !c.anonymous {
		nick = userName()
	}
	greet := func(ctx context.Context, ch *chat, room string) {
		ch.takeNick(ctx, nick, explicit)
		ch.emit(Event{Time: time.Now(), Type: evInfo, Text: "joined " + room + " as " + ch.myName(o.DisplayName) + "; /help for commands"})
	}
	if io.terminal && !c.json {
		cfg := tuiConfig{self: o.From, display: o.DisplayName, first: s, firstRoom: room, firstLog: log, logDir: c.logDir, greet: greet,
			resolve: func(arg string) (string, error) { return siblingRoom(room, arg) },
			dial: func(ctx context.Context, uri string) (*client.Session, error) {
				// The same participant in every room: the first room's
				// From (an account's, or the random one), and its server
				// for a room on it; a URI elsewhere goes where --server
				// says, else to its own host.
				c2 := *c
				c2.from = o.From
				if uriHost(uri) != uriHost(room) {
					c2.server = server
				}
				s, _, _, err := dial(ctx, &c2, uri, nil) // --insecure warned once, before the UI
				return s, err
			}}
		if err := runTUI(ctx, cfg); err != nil {
			fmt.Fprintf(io.err, "parley: terminal: %v\n", err)
			return 1
		}
		return 0
	}
	return runLines(ctx, s, o.From, o.DisplayName, io, c.json, func(ch *chat) { greet(ctx, ch, room) }, log)
}

// runLines is `parley join` without a terminal: each line of stdin is a
// line typed (text or a command), every event a line of stdout; at the
// end of stdin parley leaves. It returns 1 when a line failed or the
// session ended by itself.
func runLines(ctx context.Context, s *client.Session, self, display string, io stdio, json bool, greet func(*chat), log *lineLog) int {
	out := newPrinter(io.out, json)
	defer log.close()
	ch := newChat(s, self, func(e Event) {
		if err := log.event(e); err != nil {
			fmt.Fprintf(io.err, "parley: %v\n", err)
		}
		out.emit(e)
	})
	ch.display = display
	ch.start()
	greet(ch)
	lines, stop := readLines(io.in)
	defer close(stop)
	failed := false
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				ch.leave()
				return exitStatus(failed)
			}
			err := ch.exec(ctx, line, display)
			if errors.Is(err, errLeave) {
				ch.leave()
				return exitStatus(failed)
			}
			failed = failed || err != nil
		case <-ch.done:
			ch.leave()
			return 1
		case <-ctx.Done():
			ch.leave()
			return exitStatus(failed)
		case <-out.broken:
			ch.leave()
			return exitStatus(failed)
		}
	}
}

func exitStatus(failed bool) int {
	if failed {
		return 1
	}
	return 0
}

// readLines reads r line by line on a goroutine of its own, which ends at
// the end of r, on a read error, or (after its current read) once stop is
// closed. A read blocked on a terminal or pipe that never ends outlives
// the caller until the process exits: nothing can interrupt it.
func readLines(r io.Reader) (<-chan string, chan<- struct{}) {
	lines, stop := make(chan string), make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 4096), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-stop:
				return
			}
		}
	}()
	return lines, stop
}

func cmdListen(ctx context.Context, c *common, arg string, io stdio) int {
	s, room, o, ok := connect(ctx, c, arg, io)
	if !ok {
		return 1
	}
	out := newPrinter(io.out, c.json)
	ch := newChat(s, o.From, out.emit)
	ch.display = o.DisplayName
	ch.start()
	ch.takeNick(ctx, c.nick, true)
	ch.emit(Event{Time: time.Now(), Type: evInfo, Text: "listening to " + room})
	select {
	case <-ch.done:
		ch.leave()
		return 1
	case <-ctx.Done():
	case <-out.broken:
	}
	ch.leave()
	return 0
}

func cmdSend(ctx context.Context, c *common, arg, text string, io stdio) int {
	c.noRoster = true    // nothing to show: no subscription
	c.noReconnect = true // one message: a lost connection is a failure to report
	s, room, o, ok := connect(ctx, c, arg, io)
	if !ok {
		return 1
	}
	defer func() {
		lctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
		defer cancel()
		s.Leave(lctx)
	}()
	if c.nick != "" {
		if err := s.SetNickname(ctx, c.nick); err != nil {
			msg, _ := explain("nick", c.nick, err)
			// The advice is the chat's; here a nickname is chosen with
			// the flag.
			msg = strings.ReplaceAll(msg, "with /nick", "with --nick")
			fmt.Fprintf(io.err, "parley: %s; sending as %s\n", msg, o.DisplayName)
		}
	}
	if err := s.Send(ctx, text); err != nil {
		msg, _ := explain("say", "", err)
		fmt.Fprintf(io.err, "parley: not sent to %s: %s\n", room, msg)
		return 1
	}
	return 0
}
