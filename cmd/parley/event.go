package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parley-im/parley/client"
)

// The kinds of Event.
const (
	evMessage = "message" // a regular message to the room
	evHistory = "history" // a message the room replayed from its history (on joining, or coming back): Time is when the room got it
	evPrivate = "private" // a private message (to us, or from us)
	evNotice  = "notice"  // a system notice from the room itself
	evTyping  = "typing"  // an RFC 3994 isComposing status
	evJoin    = "join"    // a member joined (conference event package)
	evLeave   = "leave"   // a member left
	evChange  = "change"  // a member's nickname, display name or devices changed
	evRoster  = "roster"  // the whole roster (first document, or after a reset)
	evInfo    = "info"    // something parley itself says (joined, nickname set, /who…)
	evError   = "error"   // a command failed; Text says why in words
	evEnded   = "ended"   // the session ended; Text says why

	evReconnecting = "reconnecting" // the connection to the room was lost: attempt Attempt in DelayMS; Text says why
	evReconnected  = "reconnected"  // back in the room; what was missed follows as history
)

// Event is one line of `parley listen` and of the terminal UI: a message,
// a roster change, a notice. Its JSON form is what `listen --json` prints,
// one object per line.
type Event struct {
	Time time.Time `json:"time"`
	Type string    `json:"type"`
	// From is the sender's URI (messages, typing) or the member's URI
	// (join, leave, change).
	From string `json:"from,omitempty"`
	// Name is how parley shows From: the nickname, else the display name,
	// else the URI.
	Name string   `json:"name,omitempty"`
	To   []string `json:"to,omitempty"` // private messages: the CPIM To
	// Text is the message's text (text/* content), or what happened in
	// words (notice, info, error, ended).
	Text string `json:"text,omitempty"`
	// Action marks a "/me" message: Text is what Name does.
	Action bool `json:"action,omitempty"`
	// ContentType is the content's media type when it is not text/plain.
	ContentType string `json:"content_type,omitempty"`
	// State is "active" or "idle" for typing.
	State    string `json:"state,omitempty"`
	Nickname string `json:"nickname,omitempty"` // join, leave, change
	Display  string `json:"display,omitempty"`  // join, leave, change
	// OldName is the member's name before a change.
	OldName string `json:"old_name,omitempty"`
	// Members is the roster (type roster).
	Members []member `json:"members,omitempty"`
	// Self marks what we sent ourselves (the terminal UI echoes it).
	Self bool `json:"self,omitempty"`
	// Mention marks a message from someone else whose text names us (our
	// nickname, else our user name) as a word: the terminal UI highlights
	// it and rings the bell.
	Mention bool `json:"mention,omitempty"`
	// Code is the status code behind an error, when there is one.
	Code int `json:"code,omitempty"`
	// Attempt is the attempt at rejoining (reconnecting, reconnected),
	// DelayMS the wait before it in milliseconds (reconnecting).
	Attempt int   `json:"attempt,omitempty"`
	DelayMS int64 `json:"delay_ms,omitempty"`
}

// member is a roster entry as Event carries it.
type member struct {
	URI      string `json:"uri"`
	Name     string `json:"name"`
	Nickname string `json:"nickname,omitempty"`
	Display  string `json:"display,omitempty"`
}

func memberOf(m client.Member) member {
	return member{URI: m.URI, Name: nameOf(m), Nickname: m.Nickname, Display: m.Display}
}

// nameOf is how a member is shown: its nickname, else its display name,
// else its URI.
func nameOf(m client.Member) string {
	n := m.Nickname
	if n == "" {
		n = uriName(m.URI)
	}
	if m.Guest {
		n += " (guest)"
	}
	return n
}

// uriName is how parley names a participant without a nickname: the user
// part of its URI, marked with "~" (issue 17: names others can trust — a
// display name is whatever its sender typed, so it is never the name;
// only a nickname the server granted, unique in the room, is shown bare).
func uriName(uri string) string {
	rest := uri
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		rest = rest[i+1:]
	}
	user, _, ok := strings.Cut(rest, "@")
	if !ok || user == "" {
		return "~" + rest
	}
	return "~" + user
}

// JSON is the event as one line of JSON, without the newline.
func (e Event) JSON() []byte {
	b, err := json.Marshal(e)
	if err != nil { // cannot happen: every field marshals
		return []byte(`{"type":"error","text":"cannot encode event"}`)
	}
	return b
}

// Line is the event as one line of text, without the newline:
//
//	12:00:01 <alice> hello
//	12:00:02 [private] <bob> psst
//	12:00:03 * alice waves
//	12:00:04 -- carol joined
//	12:00:05 ~~ alice is typing…
//	12:00:06 !! nickname "bob" is taken (425)
//	12:00:07 == reconnecting in 1.5s (attempt 2): the server is shutting down
//	Dec 24 18:00:00 <carol> what you missed (history, with its date unless today)
//
// Typing events that end a typing state, and changes that leave the name
// as it was, give "" (nothing to show).
func (e Event) Line() string {
	var b strings.Builder
	b.WriteString(stamp(e))
	b.WriteByte(' ')
	switch e.Type {
	case evMessage, evPrivate, evHistory:
		if e.Type == evPrivate {
			if e.Self {
				b.WriteString("[private to " + strings.Join(e.To, ", ") + "] ")
			} else {
				b.WriteString("[private] ")
			}
		}
		if e.Action {
			b.WriteString("* " + e.Name + " " + e.Text)
		} else {
			b.WriteString("<" + e.Name + "> " + e.Text)
		}
		if e.ContentType != "" {
			b.WriteString(" (" + e.ContentType + ")")
		}
	case evTyping:
		if e.State != "active" {
			return ""
		}
		b.WriteString("~~ " + e.Name + " is typing…")
	case evJoin:
		b.WriteString("-- " + e.Name + " joined")
	case evLeave:
		b.WriteString("-- " + e.Name + " left")
	case evChange:
		if e.OldName == "" || e.OldName == e.Name {
			return "" // a nickname equal to the display name: nothing shows
		}
		b.WriteString("-- " + e.OldName + " is now known as " + e.Name)
	case evRoster:
		b.WriteString("-- here: " + rosterNames(e.Members))
	case evNotice:
		b.WriteString("-- " + e.Text)
	case evError:
		b.WriteString("!! " + e.Text)
	case evEnded, evReconnected:
		b.WriteString("== " + e.Text)
	case evReconnecting:
		b.WriteString("== " + reconnectingText(e))
	default:
		b.WriteString("-- " + e.Text)
	}
	return sanitizeLine(b.String())
}

// stamp is the time an event is shown with: the time of day, and for
// history not from today the date as well.
func stamp(e Event) string {
	t := e.Time.Local()
	if e.Type == evHistory {
		now := time.Now()
		switch y, m, d := t.Date(); {
		case y != now.Year():
			return t.Format("2006-01-02 15:04:05")
		case m != now.Month() || d != now.Day():
			return t.Format("Jan 02 15:04:05")
		}
	}
	return t.Format("15:04:05")
}

// reconnectingText says when the next attempt at rejoining comes, and why.
func reconnectingText(e Event) string {
	d := time.Duration(e.DelayMS) * time.Millisecond
	if d >= time.Second {
		d = d.Round(100 * time.Millisecond)
	}
	s := fmt.Sprintf("reconnecting in %v (attempt %d)", d, e.Attempt)
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

// Dividers set a run of history apart in the text output and the
// terminal UI (never in JSON, where type history does).
const (
	historyStart = "—— history ——"
	historyEnd   = "—— end of history ——"
)

// rosterNames lists members' names, or says that nobody is there.
func rosterNames(ms []member) string {
	if len(ms) == 0 {
		return "nobody"
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	return strings.Join(names, ", ")
}

// textLines splits a message's text into the lines it is shown as: one
// per line of the text ("\r\n" or "\n"), blank lines kept, trailing
// line breaks dropped. One message stays one message; the terminal UI
// and the log show it on several lines.
func textLines(text string) []string {
	text = strings.TrimRight(text, "\r\n")
	if !strings.Contains(text, "\n") {
		return []string{text}
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// multiline reports whether e is a message shown on several lines.
func multiline(e Event) bool {
	switch e.Type {
	case evMessage, evPrivate, evHistory:
		return strings.Contains(strings.TrimRight(e.Text, "\r\n"), "\n")
	}
	return false
}

// continuation is the indentation of a message's second and later lines:
// under the text, past the time stamp.
func continuation(e Event) string { return strings.Repeat(" ", len(stamp(e))+3) }

// plainLines is the event as lines of plain text, for the log: Line, and
// a multi-line message's further lines indented under it.
func plainLines(e Event) []string {
	if !multiline(e) {
		if l := e.Line(); l != "" {
			return []string{l}
		}
		return nil
	}
	tl := textLines(e.Text)
	first := e
	first.Text = tl[0]
	out := []string{first.Line()}
	ind := continuation(e)
	for _, l := range tl[1:] {
		out = append(out, strings.TrimRight(ind+sanitizeLine(l), " "))
	}
	return out
}

// sanitizeLine keeps a line one line: control characters (a message's own
// line breaks, escape sequences that would drive the terminal) become
// visible or spaces.
func sanitizeLine(s string) string {
	if strings.IndexFunc(s, isControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case isControl(r):
			return '�'
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }
