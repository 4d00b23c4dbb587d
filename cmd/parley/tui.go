package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/parley-im/parley/client"
)

// tui is the terminal UI of `parley join`: a tab bar (one tab per room),
// the active room's messages with its roster on the right, a status line
// (who is typing, lines below the view), the input area.
//
// Goroutines: the tview event loop (app.Run, on the caller's goroutine)
// owns every primitive and every field marked "event loop"; everything
// else changes them through app.QueueUpdateDraw, which waits for the loop.
// So the loop must outlive every emitter: /quit, Ctrl-C and a canceled ctx
// all go through quit, which waits for the worker, leaves every room,
// waits for each room's chat (its pump, typing and away senders: c.wait),
// and only then stops the app. The worker goroutine runs the lines the
// user enters, in order, off the event loop; it alone joins a room (/join)
// and leaves one (/part), so the rooms change only while it runs, and not
// once quit has waited for it.
type tui struct {
	app    *tview.Application
	root   *tview.Flex
	tabs   *tview.TextView
	pages  *tview.Pages
	status *tview.TextView
	input  *tview.TextArea

	cfg  tuiConfig
	away *awayState // /away, for every room

	mu     sync.Mutex
	rooms  []*room // in tab order; changed on the event loop, at the worker's request
	active int     // the index of the room shown

	// Event loop only.
	screen       tcell.Screen // for the bell; known from the first draw
	hist         inputHistory
	comp         tabCompletion
	inputRows    int
	inputResized bool // since the last draw
	pageID       int

	lines      chan entered       // entered lines, to the worker
	joinCtx    context.Context    // the worker's joins; canceled by quit
	joinCancel context.CancelFunc // cancels joinCtx
	quitOnce   sync.Once          // quit runs once
	quitting   chan struct{}      // closed by quit
	workerDone chan struct{}      // closed when the worker returns
}

// tuiConfig is what runTUI needs from `parley join`.
type tuiConfig struct {
	self, display string // our From URI, our display name
	first         *client.Session
	firstRoom     string   // its URI
	firstLog      *lineLog // --log of the first room, or nil
	logDir        string   // --log, for the rooms /join opens
	// greet runs on the worker once a room is joined: the nickname, the
	// "joined" line.
	greet func(ctx context.Context, c *chat, room string)
	// resolve turns /join's argument into a room URI (a name is a room
	// on the first room's server); dial joins it.
	resolve func(arg string) (string, error)
	dial    func(ctx context.Context, room string) (*client.Session, error)
	// screen, if set, replaces the terminal (tests).
	screen tcell.Screen
}

// entered is a line the user entered in a room's tab.
type entered struct {
	r    *room
	line string
}

// room is one room's tab.
type room struct {
	t    *tui
	s    *client.Session
	c    *chat
	uri  string
	name string   // the tab's label: the room's user part
	log  *lineLog // --log, or nil
	id   string   // its page's name

	parted bool // worker only: /part left it

	// Event loop only.
	page      *tview.Flex
	msgs      *tview.TextView
	roster    *tview.TextView
	history   bool   // the last line shown was history
	scrolled  bool   // the user scrolled up: new lines do not move the view
	unread    int    // lines added below the view since
	unseen    int    // messages while another tab was shown
	mentioned bool   // one of them mentions us
	typing    string // the status line's "x is typing…"
	label     string // the input's label in this tab
}

func runTUI(ctx context.Context, cfg tuiConfig) error {
	t := &tui{app: tview.NewApplication(), cfg: cfg, away: &awayState{}, lines: make(chan entered, 64),
		quitting: make(chan struct{}), workerDone: make(chan struct{}), inputRows: 1}
	t.joinCtx, t.joinCancel = context.WithCancel(ctx)
	defer t.joinCancel()
	if cfg.screen != nil {
		t.app.SetScreen(cfg.screen)
	}
	// Bracketed paste: a paste arrives as one event, whatever its size
	// and line breaks, and becomes one message (issue 19).
	t.app.EnablePaste(true).EnableMouse(true)
	t.build()
	first := t.newRoom(cfg.first, cfg.firstRoom, cfg.firstLog)
	t.addRoom(first) // the loop is not running yet
	first.c.start()
	go t.worker(ctx, first)
	go func() {
		select {
		case <-ctx.Done():
			t.quit(false)
		case <-t.quitting:
		}
	}()
	return t.app.Run()
}

func (t *tui) build() {
	t.tabs = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	t.pages = tview.NewPages()
	t.status = tview.NewTextView().SetDynamicColors(true).SetTextColor(tcell.ColorGray)
	t.input = tview.NewTextArea().SetLabel("> ").SetPlaceholder("type a message, or /help (Alt+Enter: new line)")
	t.input.SetTextStyle(tcell.StyleDefault).SetPlaceholderStyle(tcell.StyleDefault.Foreground(tcell.ColorGray))
	t.input.SetChangedFunc(t.changed)
	t.root = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(t.tabs, 1, 0, false).
		AddItem(t.pages, 0, 1, false).
		AddItem(t.status, 1, 0, false).
		AddItem(t.input, 1, 0, true)
	t.app.SetRoot(t.root, true).SetFocus(t.input)
	t.app.SetInputCapture(t.key)
	t.app.SetMouseCapture(t.mouse)
	t.app.SetBeforeDrawFunc(func(s tcell.Screen) bool {
		t.screen = s
		if t.inputResized {
			// The input was scrolled for its old height (the cursor
			// placed after the change that resized it): show as much as
			// fits, the cursor's row included.
			t.inputResized = false
			_, _, row, _ := t.input.GetCursor()
			t.input.SetOffset(max(0, row-t.inputRows+1), 0)
		}
		return false
	})
}

// newRoom makes the tab of a joined room (not yet shown; its chat not
// started).
func (t *tui) newRoom(s *client.Session, uri string, log *lineLog) *room {
	r := &room{t: t, s: s, uri: uri, name: roomLabel(uri), log: log, label: "> "}
	r.msgs = tview.NewTextView().SetDynamicColors(true).SetWordWrap(true).SetMaxLines(5000)
	r.msgs.ScrollToEnd() // follow the end until the user scrolls up
	r.roster = tview.NewTextView().SetDynamicColors(true)
	r.roster.SetBorder(true).SetTitle(" here ")
	r.page = tview.NewFlex().AddItem(r.msgs, 0, 1, false).AddItem(r.roster, 24, 0, false)
	r.c = newChat(s, t.cfg.self, r.show)
	r.c.echo, r.c.display, r.c.away = true, t.cfg.display, t.away
	r.c.onTyping = func(names []string) {
		line := typingLine(names)
		t.app.QueueUpdateDraw(func() {
			r.typing = line
			if t.activeRoom() == r {
				t.drawStatus()
			}
		})
	}
	return r
}

// roomLabel is a room's name in its tab: the user part of its URI.
func roomLabel(uri string) string {
	rest := uri
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		rest = rest[i+1:]
	}
	if user, _, ok := strings.Cut(rest, "@"); ok && user != "" {
		return user
	}
	return rest
}

// addRoom adds r's tab at the end and shows it. Event loop (or before it
// runs).
func (t *tui) addRoom(r *room) {
	t.pageID++
	r.id = "room" + strconv.Itoa(t.pageID)
	t.pages.AddPage(r.id, r.page, true, false)
	t.mu.Lock()
	t.rooms = append(t.rooms, r)
	n := len(t.rooms)
	t.mu.Unlock()
	t.switchTo(n - 1)
}

// removeRoom closes r's tab. Event loop.
func (t *tui) removeRoom(r *room) {
	t.mu.Lock()
	i := slices.Index(t.rooms, r)
	if i < 0 {
		t.mu.Unlock()
		return
	}
	t.rooms = slices.Delete(t.rooms, i, i+1)
	next := t.active
	if i < next || next >= len(t.rooms) {
		next--
	}
	t.active = max(next, 0)
	t.mu.Unlock()
	t.pages.RemovePage(r.id)
	t.switchTo(next)
}

// activeRoom is the room shown.
func (t *tui) activeRoom() *room {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.active < len(t.rooms) {
		return t.rooms[t.active]
	}
	return nil
}

// switchTo shows the tab at index i (wrapping around). What is being
// typed now goes to that room: the room left sees our typing end (RFC 3994
// §3: idle when the text will not be sent there). Event loop.
func (t *tui) switchTo(i int) {
	t.mu.Lock()
	n := len(t.rooms)
	if n == 0 {
		t.mu.Unlock()
		return
	}
	i = (i%n + n) % n
	var old *room
	if t.active < n {
		old = t.rooms[t.active]
	}
	t.active = i
	r := t.rooms[i]
	t.mu.Unlock()
	if old != nil && old != r {
		old.c.comp.typed("")
		if text := t.input.GetText(); text != "" {
			r.c.comp.typed(text)
		}
	}
	r.unseen, r.mentioned = 0, false
	t.pages.SwitchToPage(r.id)
	t.input.SetLabel(r.label)
	t.drawTabs()
	t.drawStatus()
}

// drawTabs draws the tab bar: each room, the active one highlighted, the
// others with the count of messages not seen (and "!" when one mentions
// us); then whether we are away. Event loop.
func (t *tui) drawTabs() {
	t.mu.Lock()
	rooms, active := slices.Clone(t.rooms), t.active
	t.mu.Unlock()
	var b strings.Builder
	b.WriteString("[::b]parley[::-] ")
	for i, r := range rooms {
		label := " " + strconv.Itoa(i+1) + " " + tview.Escape(r.name) + " "
		switch {
		case i == active:
			b.WriteString("[black:white:b]" + label + "[-:-:-]")
		case r.unseen > 0 && r.mentioned:
			b.WriteString(label + "[red::b](" + strconv.Itoa(r.unseen) + "!)[-::-]")
		case r.unseen > 0:
			b.WriteString(label + "[yellow](" + strconv.Itoa(r.unseen) + ")[-]")
		default:
			b.WriteString(label)
		}
	}
	if note := t.away.get(); note != "" {
		b.WriteString("  [orange::b]away:[-::-] [orange]" + tview.Escape(sanitizeLine(note)) + "[-]")
	}
	if active < len(rooms) {
		b.WriteString("  [gray]" + tview.Escape(rooms[active].uri) + "  /help for commands, /quit to leave[-]")
	}
	t.tabs.SetText(b.String())
}

// drawStatus draws the status line of the active room: the lines below
// the view while it is scrolled up, who is typing. Event loop.
func (t *tui) drawStatus() {
	r := t.activeRoom()
	if r == nil {
		return
	}
	var b strings.Builder
	if r.unread > 0 {
		b.WriteString("[black:yellow] " + tview.Escape(unreadText(r.unread)) + " [-:-] ")
	}
	b.WriteString(tview.Escape(r.typing))
	t.status.SetText(b.String())
}

// unreadText is the status line's indicator of n lines below the view.
func unreadText(n int) string {
	s := "s"
	if n == 1 {
		s = ""
	}
	return fmt.Sprintf("-- %d new line%s below (PgDn / End) --", n, s)
}

// key handles the keys parley uses before the input area sees them.
// Event loop.
func (t *tui) key(ev *tcell.EventKey) *tcell.EventKey {
	if ev.Key() != tcell.KeyTab {
		t.comp.reset()
	}
	r := t.activeRoom()
	if r == nil {
		return ev
	}
	alt := ev.Modifiers()&tcell.ModAlt != 0
	switch ev.Key() {
	case tcell.KeyCtrlC:
		go t.quit(false) // not on the event loop: quit waits for emitters that need it
		return nil
	case tcell.KeyPgUp, tcell.KeyPgDn:
		r.msgs.InputHandler()(ev, nil) // scroll the messages while typing
		t.scrolledBy(r)
		return nil
	case tcell.KeyEnd:
		if r.scrolled {
			t.follow(r)
		}
		return ev // and the cursor goes to the end of its line
	case tcell.KeyEnter:
		if alt {
			return tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModNone) // a new line in the input
		}
		t.submit(r)
		return nil
	case tcell.KeyTab:
		t.complete(r)
		return nil
	case tcell.KeyUp:
		if row, _, _, _ := t.input.GetCursor(); row == 0 && ev.Modifiers() == tcell.ModNone {
			if line, ok := t.hist.up(t.input.GetText()); ok {
				t.input.SetText(line, true)
			}
			return nil
		}
	case tcell.KeyDown:
		if t.hist.browsing() && ev.Modifiers() == tcell.ModNone {
			if _, cur, _ := t.input.GetSelection(); cur >= t.input.GetTextLength() {
				if line, ok := t.hist.down(); ok {
					t.input.SetText(line, true)
				}
				return nil
			}
		}
	case tcell.KeyCtrlN:
		t.switchTo(t.index(r) + 1)
		return nil
	case tcell.KeyCtrlP:
		t.switchTo(t.index(r) - 1)
		return nil
	case tcell.KeyRune:
		if alt && ev.Rune() >= '1' && ev.Rune() <= '9' {
			t.switchTo(int(ev.Rune() - '1'))
			return nil
		}
	}
	return ev
}

// index is r's tab index.
func (t *tui) index(r *room) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Index(t.rooms, r)
}

// mouse scrolls the messages with the wheel; other mouse events are
// dropped, so that the input keeps the focus. Event loop.
func (t *tui) mouse(ev *tcell.EventMouse, action tview.MouseAction) (*tcell.EventMouse, tview.MouseAction) {
	r := t.activeRoom()
	if r == nil {
		return nil, action
	}
	key := tcell.KeyUp
	switch action {
	case tview.MouseScrollUp:
	case tview.MouseScrollDown:
		key = tcell.KeyDown
	default:
		return nil, action
	}
	for range 3 {
		r.msgs.InputHandler()(tcell.NewEventKey(key, 0, tcell.ModNone), nil)
	}
	t.scrolledBy(r)
	return nil, action
}

// scrolledBy notes where the user scrolled r's messages: at the end, the
// view follows new lines again and the indicator goes; above it, new
// lines are counted, not scrolled to. Event loop.
func (t *tui) scrolledBy(r *room) {
	row, _ := r.msgs.GetScrollOffset()
	_, _, _, height := r.msgs.GetInnerRect()
	if row+height >= r.msgs.GetWrappedLineCount() {
		t.follow(r)
		return
	}
	r.scrolled = true
	t.drawStatus()
}

// follow makes r's messages follow the end again. Event loop.
func (t *tui) follow(r *room) {
	r.msgs.ScrollToEnd()
	r.scrolled, r.unread = false, 0
	t.drawStatus()
}

// changed follows the input's text: the typing indication, the input's
// height. Called once per keystroke, and once per paste. Event loop.
func (t *tui) changed() {
	text := t.input.GetText()
	if r := t.activeRoom(); r != nil {
		r.c.comp.typed(text)
	}
	rows := 1 + strings.Count(text, "\n")
	if _, _, w, _ := t.input.GetInnerRect(); w > 4 {
		rows += len(text) / (w - 2)
	}
	rows = min(rows, 8)
	if rows != t.inputRows {
		t.inputRows = rows
		t.root.ResizeItem(t.input, rows, 0)
		t.inputResized = true
	}
}

// submit sends the input to the worker as one line, whatever line breaks
// it holds: one message. Event loop.
func (t *tui) submit(r *room) {
	text := t.input.GetText()
	if strings.TrimSpace(text) == "" {
		return
	}
	r.c.comp.sent() // the message ends our typing at the receivers: no idle
	t.hist.add(text)
	t.input.SetText("", false)
	select {
	case t.lines <- entered{r: r, line: text}:
	default:
		r.write(Event{Type: evError}, markup(Event{Time: time.Now(), Type: evError, Text: "too many lines waiting to be sent; slow down"}))
	}
}

// complete completes the word before the cursor (Tab). Event loop.
func (t *tui) complete(r *room) {
	_, cursor, _ := t.input.GetSelection()
	start, end, insert, ok := t.comp.tab(t.input.GetText(), cursor, completionNames(r.c.roster(), r.c.self), commandNames)
	if !ok {
		return
	}
	t.input.Replace(start, end, insert)
}

// beep rings the terminal's bell. Event loop.
func (t *tui) beep() {
	if t.screen != nil {
		t.screen.Beep()
	}
}

// show is a room's chat's emit: it logs the event, adds it to the room's
// message pane (a run of history between dividers), keeps the roster pane
// up to date, says on the input line when the room is being rejoined, and
// rings the bell for a message that mentions us.
func (r *room) show(e Event) {
	t := r.t
	text := markup(e)
	logErr := r.log.event(e)
	roster := e.Type == evJoin || e.Type == evLeave || e.Type == evChange || e.Type == evRoster || e.Type == evReconnecting
	var members []member
	if roster {
		members = r.c.roster()
	}
	t.app.QueueUpdateDraw(func() {
		if text != "" {
			r.write(e, text)
		}
		if logErr != nil {
			le := Event{Time: time.Now(), Type: evError, Text: logErr.Error()}
			r.write(le, markup(le))
		}
		if roster {
			r.drawRoster(members)
		}
		switch e.Type {
		case evReconnecting:
			r.label = "reconnecting (attempt " + strconv.Itoa(e.Attempt) + ")… "
		case evReconnected:
			r.label = "> "
		case evInfo:
			t.drawTabs() // /away changes the tab bar
		}
		if t.activeRoom() == r {
			t.input.SetLabel(r.label)
		}
		if e.Mention && !e.Self && e.Type != evHistory {
			t.beep()
		}
	})
}

// write adds text, the markup of e, to the message pane. When the user
// has scrolled up, the view stays where it is and the lines are counted
// below it; in a tab not shown, messages are counted on the tab. Event
// loop.
func (r *room) write(e Event, text string) {
	t := r.t
	n := 1 + strings.Count(text, "\n")
	if (e.Type == evHistory) != r.history {
		r.history = !r.history
		div := historyEnd
		if r.history {
			div = historyStart
		}
		fmt.Fprintln(r.msgs, historyDivider(div))
		n++
	}
	fmt.Fprintln(r.msgs, text)
	active := t.activeRoom() == r
	if r.scrolled {
		r.unread += n
		if active {
			t.drawStatus()
		}
	}
	if !active && (e.Type == evMessage || e.Type == evPrivate) {
		r.unseen++
		r.mentioned = r.mentioned || e.Mention
		t.drawTabs()
	}
}

func (r *room) drawRoster(ms []member) {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString("[" + nameColor(m.Name) + "]" + tview.Escape(sanitizeLine(m.Name)) + "[-]")
		if m.URI == r.c.self {
			b.WriteString(" [gray](you)[-]")
		}
		b.WriteByte('\n')
	}
	r.roster.SetText(b.String())
	r.roster.SetTitle(" here (" + strconv.Itoa(len(ms)) + ") ")
}

// worker greets the first room (the nickname, the greeting: the event
// loop is already running), then runs the entered lines, one at a time.
func (t *tui) worker(ctx context.Context, first *room) {
	defer close(t.workerDone)
	t.cfg.greet(t.joinCtx, first.c, first.uri)
	for {
		select {
		case in := <-t.lines:
			if !t.run(ctx, in) {
				return
			}
		case <-t.quitting:
			return
		}
	}
}

// run runs one entered line in its room; false when it quit. Worker.
func (t *tui) run(ctx context.Context, in entered) bool {
	if in.r.parted {
		return true
	}
	if cmd, ok, err := parseCommand(in.line); err == nil && ok {
		switch cmd.name {
		case "join":
			t.join(in.r, cmd.arg)
			return true
		case "part":
			if t.part(in.r) {
				return true
			}
			t.quit(true) // the last room: /part is /quit
			return false
		}
	}
	if err := in.r.c.exec(ctx, in.line, t.cfg.display); errors.Is(err, errLeave) {
		t.quit(true)
		return false
	}
	return true
}

// join joins the room arg names (/join) and opens its tab; from is the
// room /join was typed in, which is told what went wrong. Worker.
func (t *tui) join(from *room, arg string) {
	uri, err := t.cfg.resolve(arg)
	if err != nil {
		from.c.emit(Event{Time: time.Now(), Type: evError, Text: err.Error()})
		return
	}
	t.mu.Lock()
	i := slices.IndexFunc(t.rooms, func(r *room) bool { return r.uri == uri })
	t.mu.Unlock()
	if i >= 0 {
		t.app.QueueUpdateDraw(func() { t.switchTo(i) })
		return
	}
	from.c.emit(Event{Time: time.Now(), Type: evInfo, Text: "joining " + uri + "…"})
	s, err := t.cfg.dial(t.joinCtx, uri)
	if err != nil {
		from.c.emit(Event{Time: time.Now(), Type: evError, Text: "cannot join " + uri + ": " + err.Error()})
		return
	}
	var log *lineLog
	var logErr error
	if t.cfg.logDir != "" {
		log, logErr = openLog(t.cfg.logDir, uri)
	}
	r := t.newRoom(s, uri, log)
	t.app.QueueUpdateDraw(func() { t.addRoom(r) })
	r.c.start()
	if logErr != nil {
		r.c.emit(Event{Time: time.Now(), Type: evError, Text: logErr.Error()})
	}
	t.cfg.greet(t.joinCtx, r.c, uri)
}

// part leaves r and closes its tab (/part); false, leaving nothing, when r
// is the only room (the caller quits). Worker.
func (t *tui) part(r *room) bool {
	t.mu.Lock()
	n := len(t.rooms)
	t.mu.Unlock()
	if n <= 1 {
		return false
	}
	r.parted = true
	r.c.comp.close()
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	r.s.Leave(ctx)
	cancel()
	r.c.wait() // nothing of r's emits after this
	r.log.close()
	t.app.QueueUpdateDraw(func() { t.removeRoom(r) })
	return true
}

// quit leaves every room, waits for everything that draws (the worker,
// unless quit runs on it, the chats' goroutines), and stops the app. It
// runs once, never on the event loop.
func (t *tui) quit(onWorker bool) {
	t.quitOnce.Do(func() {
		close(t.quitting)
		t.joinCancel()
		if !onWorker {
			<-t.workerDone
		}
		// The worker is done: the rooms no longer change.
		t.mu.Lock()
		rooms := slices.Clone(t.rooms)
		t.mu.Unlock()
		for _, r := range rooms {
			r.c.comp.close()
		}
		t.app.QueueUpdateDraw(func() { t.input.SetLabel("leaving… ").SetText("", false) })
		var wg sync.WaitGroup
		for _, r := range rooms {
			wg.Add(1)
			go func() { // owned by quit, which waits for it
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
				defer cancel()
				r.s.Leave(ctx)
				r.c.wait()
				r.log.close()
			}()
		}
		wg.Wait()
		t.app.Stop()
	})
}
