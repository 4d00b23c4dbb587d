package main

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/parley-im/parley/client"
)

// errLeave is what run returns for /leave and /quit.
var errLeave = errors.New("leave")

// chat is one joined room as the terminal UI and the line modes see it: it
// turns what the Session receives (messages, typing indications, roster
// changes) into Events, and runs what the user types.
//
// Goroutines: pump (started by start, ended when the Session's Messages
// channel closes, that is right after the Session ends) owns the typing
// table and emits the received events; the caller runs commands (exec) on
// its own goroutine, one at a time; typing indications go out on short
// goroutines tracked by wg, each bounded by the Session's Timeout. emit
// must be safe for use from several goroutines.
type chat struct {
	s    *client.Session
	self string // our From URI
	emit func(Event)
	// onTyping, if set, gets the names of who is typing now (from pump).
	onTyping func(names []string)
	// echo: emit what we send ourselves too (the terminal UI; a script
	// that pipes lines in does not want them back).
	echo bool
	// display is our display name (--nick, else $USER): the name others'
	// messages mention us by when we hold no nickname.
	display string
	// away is the /away state: the chat's own, or one the rooms of a
	// terminal UI share (set before start).
	away *awayState

	mu      sync.Mutex
	nick    string                   // our nickname in effect
	members map[string]client.Member // the roster by URI, as pump last applied it

	typing map[string]typist // pump only: who is typing, by URI

	comp       composer
	wg         sync.WaitGroup // typing indications in flight
	done       chan struct{}  // closed when pump returns
	rosterOnce sync.Once
	rosterIn   chan struct{} // closed when the first roster document is applied
}

// typist is someone typing, as the receiver tracks it (RFC 3994 §4).
type typist struct {
	name    string
	expires time.Time
}

func newChat(s *client.Session, self string, emit func(Event)) *chat {
	c := &chat{s: s, self: self, emit: emit, members: map[string]client.Member{}, away: &awayState{},
		typing: map[string]typist{}, done: make(chan struct{}), rosterIn: make(chan struct{})}
	c.comp.c = c
	return c
}

// start runs pump.
func (c *chat) start() { go c.pump() }

// wait waits for pump and the typing indications in flight to end.
func (c *chat) wait() {
	<-c.done
	c.wg.Wait()
}

// pump turns what the Session receives into Events until the Session
// ends, then emits an "ended" event unless we left.
func (c *chat) pump() {
	defer close(c.done)
	msgs, roster, rejoin := c.s.Messages(), c.s.RosterEvents(), c.s.ReconnectEvents()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for msgs != nil {
		select {
		case m, ok := <-msgs:
			if !ok {
				msgs = nil
				continue
			}
			c.received(m)
		case ev, ok := <-roster:
			if !ok {
				roster = nil
				continue
			}
			c.rosterEvent(ev)
		case ev, ok := <-rejoin:
			if !ok {
				rejoin = nil
				continue
			}
			c.reconnectEvent(ev)
		case now := <-tick.C:
			c.expireTyping(now)
		}
	}
	if err := c.s.Err(); err != nil {
		c.emit(Event{Time: time.Now(), Type: evEnded, Text: endedText(c.s.Room(), err)})
	}
}

// endedText says why the session in room ended.
func endedText(room string, err error) string {
	if errors.Is(err, client.ErrReconnectFailed) {
		// ErrReconnectFailed wraps the last attempt's failure, then what
		// ended the session in the first place: the former says why.
		last := err
		if u, ok := err.(interface{ Unwrap() []error }); ok && len(u.Unwrap()) > 1 {
			last = u.Unwrap()[1]
		}
		return "could not get back into the room: " + lossText(room, last)
	}
	return lossText(room, err)
}

// lossText says why the session in room ended, or was lost.
func lossText(room string, err error) string {
	var br *client.ByeReason
	switch {
	case errors.As(err, &br) && br.Cause == 410:
		return "the room was closed (" + br.Text + ")"
	case errors.As(err, &br) && br.Cause == 503:
		return "the server is shutting down"
	case errors.As(err, &br):
		return "the server ended the session: " + br.Error()
	case errors.Is(err, client.ErrConnectionLost):
		return "lost the connection to the server"
	case errors.Is(err, client.ErrEndedByFocus):
		return "the server ended the session (room closed or server shutting down)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the server is not answering yet"
	case errors.Is(err, client.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "no answer from the server"
	}
	var se *client.SIPError
	if errors.As(err, &se) {
		return explainSIP(room, se)
	}
	return "session ended: " + err.Error()
}

// reconnectEvent shows a step of a reconnection. While the Session is
// away, who was typing is forgotten, and so is who is in the room (the
// roster is empty until the rejoined room's first document, a RosterReset,
// fills it again); a nickname the room did not give back is no longer
// ours.
func (c *chat) reconnectEvent(ev client.ReconnectEvent) {
	now := time.Now()
	switch ev.Kind {
	case client.Reconnecting:
		if ev.Attempt <= 1 {
			c.mu.Lock()
			clear(c.members)
			c.mu.Unlock()
		}
		if len(c.typing) > 0 {
			clear(c.typing)
			c.typingChanged()
		}
		e := Event{Time: now, Type: evReconnecting, Attempt: ev.Attempt, DelayMS: ev.Delay.Milliseconds()}
		if ev.Err != nil {
			e.Text = lossText(c.s.Room(), ev.Err)
		}
		c.emit(e)
	case client.Reconnected:
		c.emit(Event{Time: now, Type: evReconnected, Attempt: ev.Attempt, Text: "back in the room"})
		if ev.NicknameErr != nil {
			c.mu.Lock()
			nick := c.nick
			c.nick = ""
			c.mu.Unlock()
			text, code := explain("nick", nick, ev.NicknameErr)
			c.emit(Event{Time: now, Type: evError, Text: "your nickname was not given back: " + text, Code: code})
		}
	}
}

// received handles one message from the switch.
func (c *chat) received(m client.Message) {
	now := time.Now()
	if !m.History.IsZero() {
		c.replayed(m)
		return
	}
	if st, ok := m.Composing(); ok {
		name := c.nameOf(m.From, m.FromDisplay)
		if st.IsActive() {
			c.typing[m.From] = typist{name: name, expires: st.Expires(now)}
		} else {
			delete(c.typing, m.From)
		}
		c.typingChanged()
		c.emit(Event{Time: now, Type: evTyping, From: m.From, Name: name, State: st.State, To: privateTo(m)})
		return
	}
	if m.System {
		if c.rosterShowsIt(string(m.Body)) {
			return
		}
		c.emit(Event{Time: now, Type: evNotice, From: m.From, Text: string(m.Body)})
		return
	}
	if _, ok := c.typing[m.From]; ok { // a message ends its sender's typing (RFC 3994 §4)
		delete(c.typing, m.From)
		c.typingChanged()
	}
	ev := Event{Time: now, Type: evMessage, From: m.From, Name: c.nameOf(m.From, m.FromDisplay)}
	if m.Private {
		ev.Type, ev.To = evPrivate, m.To
	}
	ev.Text, ev.ContentType = content(m.ContentType, m.Body)
	if rest, ok := strings.CutPrefix(ev.Text, "/me "); ok && ev.ContentType == "" {
		ev.Text, ev.Action = rest, true
	}
	ev.Mention = m.From != c.self && mentions(ev.Text, c.mentionNames()...)
	c.emit(ev)
	if m.Private && m.From != c.self {
		c.answerAway(m.From, ev.Name, ev.Text)
	}
}

// mentionNames are the names a message mentions us by: our nickname, else
// our display name (the user name).
func (c *chat) mentionNames() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nick != "" {
		return []string{c.nick}
	}
	if c.display != "" {
		return []string{c.display}
	}
	return nil
}

// answerAway answers a private message from uri (shown as name) while we
// are away: once per sender, with the note, on a goroutine tracked by wg
// (it runs on pump, before done closes, so wait covers it). An answer is
// never answered: two people away do not talk to each other forever.
func (c *chat) answerAway(uri, name, text string) {
	if strings.HasPrefix(text, autoReplyMark) {
		return
	}
	note, ok := c.away.replyTo(uri)
	if !ok {
		return
	}
	reply := awayReply(c.myName(""), note)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.s.SendPrivate(ctx, uri, reply); err != nil {
			text, code := explain("msg", name, err)
			c.emit(Event{Time: time.Now(), Type: evError, Text: "automatic away answer not sent: " + text, Code: code})
			return
		}
		c.emit(Event{Time: time.Now(), Type: evInfo, Text: "you are away: " + name + " got an automatic answer"})
	}()
}

// replayed handles a message the room replayed from its history: shown
// as history, at the time the room received it. A typing indication from
// history is stale, and not shown.
func (c *chat) replayed(m client.Message) {
	if _, ok := m.Composing(); ok {
		return
	}
	ev := Event{Time: m.History, Type: evHistory, From: m.From, Name: c.nameOf(m.From, m.FromDisplay), To: privateTo(m)}
	ev.Text, ev.ContentType = content(m.ContentType, m.Body)
	if rest, ok := strings.CutPrefix(ev.Text, "/me "); ok && ev.ContentType == "" {
		ev.Text, ev.Action = rest, true
	}
	ev.Mention = m.From != c.self && mentions(ev.Text, c.mentionNames()...)
	c.emit(ev)
}

func privateTo(m client.Message) []string {
	if m.Private {
		return m.To
	}
	return nil
}

// content is the text to show for a message's content: the text itself
// for text/plain (ct ""), the text and its type for other text, a
// description for the rest.
func content(contentType string, body []byte) (text, ct string) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(contentType)
	}
	isUTF8 := params["charset"] == "" || strings.EqualFold(params["charset"], "utf-8") || strings.EqualFold(params["charset"], "us-ascii")
	switch {
	case mt == "text/plain" && isUTF8 && utf8.Valid(body):
		return string(body), ""
	case strings.HasPrefix(mt, "text/") && isUTF8 && utf8.Valid(body):
		return string(body), mt
	}
	return fmt.Sprintf("[%d octets]", len(body)), mt
}

// rosterShowsIt reports whether a system notice from the room is a join or
// a leave that the roster reports too (with names): those are not shown
// twice.
func (c *chat) rosterShowsIt(text string) bool {
	if c.s.RosterErr() != nil {
		return false
	}
	return strings.HasSuffix(text, " joined the room") || strings.HasSuffix(text, " left the room")
}

// nameOf is how the sender uri is shown: its roster name, else the CPIM
// display name, else the URI.
func (c *chat) nameOf(uri, _ string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.members[uri]
	if !ok {
		m = client.Member{URI: uri}
	}
	n := nameOf(m)
	if m.Nickname == "" {
		// Two people never look the same: another member with the same
		// user part (another domain) makes both show their whole URI.
		for u, o := range c.members {
			if u != uri && o.Nickname == "" && uriName(u) == uriName(uri) {
				return strings.Replace(n, uriName(uri), "~"+strings.TrimPrefix(strings.TrimPrefix(uri, "sip:"), "sips:"), 1)
			}
		}
	}
	return n
}

// rosterEvent applies one change of the roster and emits it.
func (c *chat) rosterEvent(ev client.RosterEvent) {
	now := time.Now()
	switch ev.Kind {
	case client.RosterReset:
		c.mu.Lock()
		clear(c.members)
		ms := make([]member, 0, len(ev.Members))
		for _, m := range ev.Members {
			c.members[m.URI] = m
			ms = append(ms, memberOf(m))
		}
		c.mu.Unlock()
		c.rosterOnce.Do(func() { close(c.rosterIn) })
		c.emit(Event{Time: now, Type: evRoster, Members: ms})
	case client.MemberJoined:
		c.mu.Lock()
		c.members[ev.Member.URI] = ev.Member
		c.mu.Unlock()
		c.emit(memberEvent(now, evJoin, ev.Member))
	case client.MemberLeft:
		c.mu.Lock()
		delete(c.members, ev.Member.URI)
		c.mu.Unlock()
		if _, ok := c.typing[ev.Member.URI]; ok {
			delete(c.typing, ev.Member.URI)
			c.typingChanged()
		}
		c.emit(memberEvent(now, evLeave, ev.Member))
	case client.MemberChanged:
		c.mu.Lock()
		old, had := c.members[ev.Member.URI]
		c.members[ev.Member.URI] = ev.Member
		c.mu.Unlock()
		if had && old.Nickname == ev.Member.Nickname && old.Display == ev.Member.Display {
			return // only its devices changed: nothing to show
		}
		e := memberEvent(now, evChange, ev.Member)
		if had {
			e.OldName = nameOf(old)
		}
		c.emit(e)
	}
}

func memberEvent(t time.Time, kind string, m client.Member) Event {
	return Event{Time: t, Type: kind, From: m.URI, Name: nameOf(m), Nickname: m.Nickname, Display: m.Display}
}

// roster is the roster as members, sorted by name.
func (c *chat) roster() []member {
	c.mu.Lock()
	defer c.mu.Unlock()
	ms := make([]member, 0, len(c.members))
	for _, m := range c.members {
		ms = append(ms, memberOf(m))
	}
	sortMembers(ms)
	return ms
}

// expireTyping forgets typing states whose refresh ran out (RFC 3994 §4).
func (c *chat) expireTyping(now time.Time) {
	changed := false
	for uri, t := range c.typing {
		if !now.Before(t.expires) {
			delete(c.typing, uri)
			changed = true
		}
	}
	if changed {
		c.typingChanged()
	}
}

func (c *chat) typingChanged() {
	if c.onTyping == nil {
		return
	}
	names := make([]string, 0, len(c.typing))
	for _, t := range c.typing {
		names = append(names, t.name)
	}
	sortStrings(names)
	c.onTyping(names)
}

// myName is how we appear: our nickname, else our display name.
func (c *chat) myName(string) string {
	c.mu.Lock()
	nick := c.nick
	c.mu.Unlock()
	if nick != "" {
		return nick
	}
	return c.nameOf(c.self, "")
}

// exec runs one line of input. It returns errLeave for /leave; other
// failures are emitted as error events (and returned, for exit statuses).
func (c *chat) exec(ctx context.Context, line, display string) error {
	cmd, ok, err := parseCommand(line)
	if err != nil {
		c.emit(Event{Time: time.Now(), Type: evError, Text: err.Error()})
		return err
	}
	if !ok {
		return nil
	}
	c.comp.sent()
	now := time.Now()
	switch cmd.name {
	case "say", "me":
		text := cmd.arg
		if cmd.name == "me" {
			text = "/me " + cmd.arg
		}
		if err := c.s.Send(ctx, text); err != nil {
			return c.failed("say", "", err)
		}
		if c.echo {
			c.emit(Event{Time: now, Type: evMessage, From: c.self, Name: c.myName(display), Text: cmd.arg, Action: cmd.name == "me", Self: true})
		}
	case "msg":
		c.awaitRoster(ctx)
		uri, name, err := c.resolve(ctx, cmd.to)
		if err != nil {
			c.emit(Event{Time: now, Type: evError, Text: err.Error()})
			return err
		}
		if err := c.s.SendPrivate(ctx, uri, cmd.arg); err != nil {
			return c.failed("msg", name, err)
		}
		if c.echo {
			c.emit(Event{Time: now, Type: evPrivate, From: c.self, Name: c.myName(display), To: []string{name}, Text: cmd.arg, Self: true})
		}
	case "register":
		c.mu.Lock()
		nick := cmd.arg
		if nick == "" {
			nick = c.nick
		}
		c.mu.Unlock()
		if nick == "" {
			err := errUsage("usage: /nick register [NAME]: you hold no nickname to register")
			c.emit(Event{Time: now, Type: evError, Text: err.Error()})
			return err
		}
		if err := c.s.RegisterNickname(ctx, nick); err != nil {
			return c.failed("register", nick, err)
		}
		c.mu.Lock()
		c.nick = nick
		c.mu.Unlock()
		c.emit(Event{Time: now, Type: evInfo, Text: "the nickname " + nick + " is yours now: nobody else can take it", Nickname: nick})
	case "nick":
		if err := c.s.SetNickname(ctx, cmd.arg); err != nil {
			return c.failed("nick", cmd.arg, err)
		}
		c.mu.Lock()
		c.nick = cmd.arg
		c.mu.Unlock()
		text := "you are now known as " + cmd.arg
		if cmd.arg == "" {
			text = "you dropped your nickname"
		}
		c.emit(Event{Time: now, Type: evInfo, Text: text, Nickname: cmd.arg})
	case "who":
		if err := c.s.RosterErr(); err != nil {
			c.emit(Event{Time: now, Type: evInfo, Text: "this room does not say who is here (" + err.Error() + ")"})
			return nil
		}
		c.emit(Event{Time: now, Type: evRoster, Members: c.roster()})
	case "topic":
		subject := c.s.Subject()
		if subject == "" {
			c.emit(Event{Time: now, Type: evInfo, Text: "no subject set"})
		} else {
			c.emit(Event{Time: now, Type: evInfo, Text: "subject: " + subject})
		}
	case "away":
		if cmd.arg == "" {
			if _, was := c.away.set(""); was {
				c.emit(Event{Time: now, Type: evInfo, Text: "you are back (no longer away)"})
			} else {
				c.emit(Event{Time: now, Type: evInfo, Text: "you were not away; /away NOTE to be"})
			}
			return nil
		}
		c.away.set(cmd.arg)
		c.emit(Event{Time: now, Type: evInfo, Text: "you are away: " + cmd.arg + " (on this screen only; a private message gets one automatic answer per sender)"})
	case "join":
		err := errUsage("/join opens a tab: only in the terminal UI (run one parley per room here)")
		c.emit(Event{Time: now, Type: evError, Text: err.Error()})
		return err
	case "help":
		for _, l := range strings.Split(helpFor(cmd.arg), "\n") {
			c.emit(Event{Time: now, Type: evInfo, Text: l})
		}
	case "leave", "part":
		return errLeave
	}
	return nil
}

// failed emits the error event of a command that failed and returns err.
func (c *chat) failed(what, arg string, err error) error {
	text, code := explain(what, arg, err)
	c.emit(Event{Time: time.Now(), Type: evError, Text: text, Code: code})
	return err
}

// rosterWait bounds how long a /msg right after joining waits for the
// roster's first document (the NOTIFY that follows the SUBSCRIBE's 200).
const rosterWait = 3 * time.Second

// awaitRoster waits (at most rosterWait) for the first roster document, so
// that a /msg sent right after joining (a script's second line) can find
// nicknames. It returns at once when the roster is in, or off.
func (c *chat) awaitRoster(ctx context.Context) {
	select {
	case <-c.rosterIn:
		return
	default:
	}
	if c.s.RosterErr() != nil {
		return
	}
	t := time.NewTimer(rosterWait)
	defer t.Stop()
	select {
	case <-c.rosterIn:
	case <-t.C:
	case <-ctx.Done():
	case <-c.done:
	}
}

// resolve finds the participant a /msg names: a URI as given; a nickname
// (the roster's, RFC 7701 §7); a display name. A name the roster does not
// have is looked for again in the whole roster, fetched anew from the
// room (Session.Find, at most findWait): someone who joined or took the
// name a moment ago is found.
func (c *chat) resolve(ctx context.Context, to string) (uri, name string, err error) {
	if uri, err, ok := c.known(to); ok {
		return uri, to, err
	}
	if c.s.RosterErr() != nil {
		return "", "", fmt.Errorf("this room does not say who is here: give a URI, e.g. /msg sip:%s@host TEXT", to)
	}
	fctx, cancel := context.WithTimeout(ctx, findWait)
	defer cancel()
	if m, ok := c.s.Find(fctx, to); ok {
		return m.URI, to, nil
	}
	if uri, err, ok := byDisplay(c.s.Roster(), to); ok {
		return uri, to, err
	}
	return "", "", fmt.Errorf("nobody called %s is here (see /who)", to)
}

// known is resolve without asking the room: ok when the roster as it is
// names to (err when it names several). It never waits, for the typing
// indications, which resolve the recipient on every keystroke.
func (c *chat) known(to string) (uri string, err error, ok bool) {
	if strings.Contains(to, ":") {
		return to, nil, true
	}
	if m, ok := c.s.Lookup(to); ok {
		return m.URI, nil, true
	}
	return byDisplay(c.s.Roster(), to)
}

// findWait bounds how long a /msg waits for the room's whole roster.
const findWait = 3 * time.Second

// byDisplay finds the member without a nickname whose display name is
// name: ok when there is one, or several (err says so).
func byDisplay(ms []client.Member, name string) (uri string, err error, ok bool) {
	var found []client.Member
	for _, m := range ms {
		if m.Nickname == "" && strings.EqualFold(m.Display, name) {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 0:
		return "", nil, false
	case 1:
		return found[0].URI, nil, true
	}
	return "", fmt.Errorf("%d people are called %s; use a URI (see /who)", len(found), name), true
}
