package main

import (
	"strings"
	"sync"
)

// autoReplyMark starts every automatic answer parley sends while away, so
// that the reader sees no person wrote it and another parley never answers
// it in turn.
const autoReplyMark = "[auto-reply] "

// awayState is /away: a note, and whom parley has answered since it was
// set. There is no presence in a room (RFC 7701 has none, and the
// conference event package's roster has no status), so being away is
// local: shown on our own screen, and told to whoever writes to us
// privately, once each. Safe for concurrent use (the worker sets it, every
// room's pump asks it).
type awayState struct {
	mu      sync.Mutex
	note    string          // "" not away
	replied map[string]bool // sender URIs answered since the note was set
}

// set sets the note ("" back) and forgets whom we answered; it returns
// the note before, and whether we were away.
func (a *awayState) set(note string) (old string, was bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old, was = a.note, a.note != ""
	a.note = strings.TrimSpace(note)
	a.replied = nil
	return old, was
}

// get is the note, "" when not away.
func (a *awayState) get() string {
	if a == nil {
		return ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.note
}

// replyTo says whether a private message from uri gets an automatic
// answer now (we are away and have not answered uri yet), and with which
// note; it counts the answer as given.
func (a *awayState) replyTo(uri string) (note string, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.note == "" || a.replied[uri] {
		return "", false
	}
	if a.replied == nil {
		a.replied = map[string]bool{}
	}
	a.replied[uri] = true
	return a.note, true
}

// awayReply is the automatic answer: "[auto-reply] alice is away: lunch".
func awayReply(me, note string) string {
	return autoReplyMark + me + " is away: " + note
}
