package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/parley-im/parley/client"
)

// tui is the terminal UI of `parley join`: the messages, the roster on
// the right, a status line (who is typing), the input line.
//
// Goroutines: the tview event loop (app.Run, on the caller's goroutine)
// owns every primitive; everything else changes them through
// app.QueueUpdateDraw, which waits for the loop. So the loop must outlive
// every emitter: /quit, Ctrl-C and a canceled ctx all go through quit,
// which leaves the room, waits for the chat's pump and typing goroutines
// (c.wait), and only then stops the app. The worker goroutine runs the
// lines the user enters, in order, off the event loop.
type tui struct {
	app    *tview.Application
	msgs   *tview.TextView
	roster *tview.TextView
	status *tview.TextView
	input  *tview.InputField

	s       *client.Session
	c       *chat
	display string

	history bool // the event loop's: the last line shown was history

	lines      chan string   // entered lines, to the worker
	quitOnce   sync.Once     // quit runs once
	quitting   chan struct{} // closed by quit
	workerDone chan struct{} // closed when the worker returns
}

func runTUI(ctx context.Context, s *client.Session, self, room, display string, join func(c *chat)) error {
	t := &tui{app: tview.NewApplication(), s: s, display: display, lines: make(chan string, 64),
		quitting: make(chan struct{}), workerDone: make(chan struct{})}
	t.build(room)
	t.c = newChat(s, self, t.show)
	t.c.echo = true
	t.c.onTyping = func(names []string) {
		t.app.QueueUpdateDraw(func() { t.status.SetText(tview.Escape(typingLine(names))) })
	}
	t.c.start()
	go t.worker(ctx, join)
	go func() {
		select {
		case <-ctx.Done():
			t.quit(false)
		case <-t.quitting:
		}
	}()
	return t.app.Run()
}

func (t *tui) build(room string) {
	header := tview.NewTextView().SetDynamicColors(true)
	header.SetText("[::b]parley[::-] " + tview.Escape(room) + "   [gray]/help for commands, /quit to leave[-]")
	t.msgs = tview.NewTextView().SetDynamicColors(true).SetWordWrap(true).SetMaxLines(5000)
	t.msgs.SetChangedFunc(func() { t.msgs.ScrollToEnd() })
	t.roster = tview.NewTextView().SetDynamicColors(true)
	t.roster.SetBorder(true).SetTitle(" here ")
	t.status = tview.NewTextView().SetDynamicColors(true).SetTextColor(tcell.ColorGray)
	t.input = tview.NewInputField().SetLabel("> ").SetFieldBackgroundColor(tcell.ColorDefault)
	t.input.SetPlaceholder("type a message, or /help")
	t.input.SetChangedFunc(func(text string) { t.c.comp.typed(text) })
	t.input.SetDoneFunc(func(key tcell.Key) {
		if key != tcell.KeyEnter {
			return
		}
		line := t.input.GetText()
		t.input.SetText("")
		if strings.TrimSpace(line) == "" {
			return
		}
		select {
		case t.lines <- line:
		default:
			t.msgs.Write([]byte(markup(Event{Type: evError, Text: "too many lines waiting to be sent; slow down"}) + "\n"))
		}
	})
	body := tview.NewFlex().AddItem(t.msgs, 0, 1, false).AddItem(t.roster, 24, 0, false)
	root := tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(header, 1, 0, false).
		AddItem(body, 0, 1, false).
		AddItem(t.status, 1, 0, false).
		AddItem(t.input, 1, 0, true)
	t.app.SetRoot(root, true).SetFocus(t.input)
	t.app.SetInputCapture(func(ev *tcell.EventKey) *tcell.EventKey {
		switch ev.Key() {
		case tcell.KeyCtrlC:
			go t.quit(false) // not on the event loop: quit waits for emitters that need it
			return nil
		case tcell.KeyPgUp, tcell.KeyPgDn:
			t.msgs.InputHandler()(ev, nil) // scroll the messages while typing
			return nil
		}
		return ev
	})
}

// show is the chat's emit: it adds the event to the message pane (a run
// of history between dividers), keeps the roster pane up to date, and
// says on the input line when the room is being rejoined.
func (t *tui) show(e Event) {
	line := markup(e)
	roster := e.Type == evJoin || e.Type == evLeave || e.Type == evChange || e.Type == evRoster || e.Type == evReconnecting
	var members []member
	if roster {
		members = t.c.roster()
	}
	t.app.QueueUpdateDraw(func() {
		if line != "" {
			if (e.Type == evHistory) != t.history {
				t.history = !t.history
				div := historyEnd
				if t.history {
					div = historyStart
				}
				fmt.Fprintln(t.msgs, historyDivider(div))
			}
			fmt.Fprintln(t.msgs, line)
		}
		if roster {
			t.drawRoster(members)
		}
		switch e.Type {
		case evReconnecting:
			t.input.SetLabel("reconnecting (attempt " + strconv.Itoa(e.Attempt) + ")… ")
		case evReconnected:
			t.input.SetLabel("> ")
		}
	})
}

func (t *tui) drawRoster(ms []member) {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString("[" + nameColor(m.Name) + "]" + tview.Escape(sanitizeLine(m.Name)) + "[-]")
		if m.URI == t.c.self {
			b.WriteString(" [gray](you)[-]")
		}
		b.WriteByte('\n')
	}
	t.roster.SetText(b.String())
	t.roster.SetTitle(" here (" + strconv.Itoa(len(ms)) + ") ")
}

// worker runs join (the nickname, the greeting: the event loop is
// already running), then the entered lines, one at a time.
func (t *tui) worker(ctx context.Context, join func(*chat)) {
	defer close(t.workerDone)
	join(t.c)
	for {
		select {
		case line := <-t.lines:
			if err := t.c.exec(ctx, line, t.display); errors.Is(err, errLeave) {
				t.quit(true)
				return
			}
		case <-t.quitting:
			return
		}
	}
}

// quit leaves the room, waits for everything that draws (the worker,
// unless quit runs on it, the chat's goroutines), and stops the app. It
// runs once, never on the event loop.
func (t *tui) quit(onWorker bool) {
	t.quitOnce.Do(func() {
		close(t.quitting)
		if !onWorker {
			<-t.workerDone
		}
		t.c.comp.close()
		t.app.QueueUpdateDraw(func() { t.input.SetLabel("leaving… ").SetText("") })
		ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
		defer cancel()
		t.s.Leave(ctx)
		t.c.wait()
		t.app.Stop()
	})
}
