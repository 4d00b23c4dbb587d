package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parley-im/parley/client"
)

func TestEventLine(t *testing.T) {
	at := time.Date(2026, 11, 22, 12, 0, 1, 0, time.Local)
	cases := []struct {
		e    Event
		want string
	}{
		{Event{Type: evMessage, Name: "alice", Text: "hello"}, "12:00:01 <alice> hello"},
		{Event{Type: evMessage, Name: "alice", Text: "waves", Action: true}, "12:00:01 * alice waves"},
		{Event{Type: evMessage, Name: "alice", Text: "<b>hi</b>", ContentType: "text/html"}, "12:00:01 <alice> <b>hi</b> (text/html)"},
		{Event{Type: evPrivate, Name: "bob", Text: "psst"}, "12:00:01 [private] <bob> psst"},
		{Event{Type: evPrivate, Name: "me", To: []string{"bob"}, Text: "psst", Self: true}, "12:00:01 [private to bob] <me> psst"},
		{Event{Type: evTyping, Name: "bob", State: "active"}, "12:00:01 ~~ bob is typing…"},
		{Event{Type: evTyping, Name: "bob", State: "idle"}, ""},
		{Event{Type: evJoin, Name: "carol"}, "12:00:01 -- carol joined"},
		{Event{Type: evLeave, Name: "carol"}, "12:00:01 -- carol left"},
		{Event{Type: evChange, Name: "robert", OldName: "bob"}, "12:00:01 -- bob is now known as robert"},
		{Event{Type: evChange, Name: "bob", OldName: "bob"}, ""},
		{Event{Type: evRoster, Members: []member{{Name: "a"}, {Name: "b"}}}, "12:00:01 -- here: a, b"},
		{Event{Type: evRoster}, "12:00:01 -- here: nobody"},
		{Event{Type: evNotice, Text: "the room closes at 6"}, "12:00:01 -- the room closes at 6"},
		{Event{Type: evError, Text: "no"}, "12:00:01 !! no"},
		{Event{Type: evEnded, Text: "bye"}, "12:00:01 == bye"},
		{Event{Type: evReconnecting, Attempt: 2, DelayMS: 1480, Text: "the server is shutting down"}, "12:00:01 == reconnecting in 1.5s (attempt 2): the server is shutting down"},
		{Event{Type: evReconnected, Attempt: 2, Text: "back in the room"}, "12:00:01 == back in the room"},
		// A message cannot break the line or drive the terminal.
		{Event{Type: evMessage, Name: "eve", Text: "two\nlines\x1b[2J"}, "12:00:01 <eve> two lines�[2J"},
	}
	for _, c := range cases {
		c.e.Time = at
		if got := c.e.Line(); got != c.want {
			t.Errorf("Line(%+v) = %q, want %q", c.e, got, c.want)
		}
	}
}

func TestEventJSON(t *testing.T) {
	e := Event{Time: time.Date(2026, 11, 22, 12, 0, 1, 0, time.UTC), Type: evPrivate, From: "sip:bob@example.com", Name: "bob",
		To: []string{"sip:alice@example.com"}, Text: "psst"}
	line := e.JSON()
	if strings.Contains(string(line), "\n") {
		t.Fatalf("JSON spans lines: %s", line)
	}
	var back map[string]any
	if err := json.Unmarshal(line, &back); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"time": "2026-11-22T12:00:01Z", "type": "private", "from": "sip:bob@example.com", "name": "bob",
		"to": []any{"sip:alice@example.com"}, "text": "psst"}
	if len(back) != len(want) {
		t.Fatalf("JSON %s has fields %v, want %v", line, back, want)
	}
	for k, v := range want {
		if got, _ := json.Marshal(back[k]); string(got) != mustJSON(v) {
			t.Errorf("%s = %s, want %s", k, got, mustJSON(v))
		}
	}
}

// History is shown with its date unless it is from today; its JSON is
// a message's with type history.
func TestHistoryEvent(t *testing.T) {
	now := time.Now()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 1, 0, time.Local)
	if got := (Event{Time: today, Type: evHistory, Name: "a", Text: "x"}).Line(); got != "00:00:01 <a> x" {
		t.Errorf("history from today: %q", got)
	}
	if today.Day() != 1 { // earlier this month
		y := today.AddDate(0, 0, -1)
		if got := (Event{Time: y, Type: evHistory, Name: "a", Text: "x"}).Line(); got != y.Format("Jan 02")+" 00:00:01 <a> x" {
			t.Errorf("history from yesterday: %q", got)
		}
	}
	old := time.Date(2001, 11, 22, 12, 0, 1, 0, time.Local)
	if got := (Event{Time: old, Type: evHistory, Name: "carol", Text: "waves", Action: true}).Line(); got != "2001-11-22 12:00:01 * carol waves" {
		t.Errorf("history from another year: %q", got)
	}
	e := Event{Time: time.Date(2026, 11, 22, 12, 0, 1, 0, time.UTC), Type: evHistory, From: "sip:carol@example.com", Name: "carol", Text: "hi"}
	var back map[string]any
	if err := json.Unmarshal(e.JSON(), &back); err != nil {
		t.Fatal(err)
	}
	if back["type"] != "history" || back["time"] != "2026-11-22T12:00:01Z" || back["text"] != "hi" || back["from"] != "sip:carol@example.com" || len(back) != 5 {
		t.Errorf("history JSON %s", e.JSON())
	}
	r := Event{Time: e.Time, Type: evReconnecting, Attempt: 3, DelayMS: 2000, Text: "lost the connection to the server"}
	if got := string(r.JSON()); got != `{"time":"2026-11-22T12:00:01Z","type":"reconnecting","text":"lost the connection to the server","attempt":3,"delay_ms":2000}` {
		t.Errorf("reconnecting JSON %s", got)
	}
}

// The text printer sets a run of history apart with dividers; JSON has
// none.
func TestPrinterHistoryDividers(t *testing.T) {
	at := time.Date(2026, 11, 22, 12, 0, 1, 0, time.Local)
	then := time.Date(2001, 11, 22, 12, 0, 1, 0, time.Local)
	evs := []Event{
		{Time: at, Type: evReconnected, Text: "back in the room"},
		{Time: then, Type: evHistory, Name: "carol", Text: "one"},
		{Time: at, Type: evTyping, Name: "carol", State: "idle"}, // not shown: no divider either
		{Time: then, Type: evHistory, Name: "carol", Text: "two"},
		{Time: at, Type: evMessage, Name: "carol", Text: "live"},
	}
	var b strings.Builder
	p := newPrinter(&b, false)
	for _, e := range evs {
		p.emit(e)
	}
	want := "12:00:01 == back in the room\n" + historyStart + "\n2001-11-22 12:00:01 <carol> one\n2001-11-22 12:00:01 <carol> two\n" +
		historyEnd + "\n12:00:01 <carol> live\n"
	if b.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	p = newPrinter(&b, true)
	for _, e := range evs {
		p.emit(e)
	}
	if strings.Contains(b.String(), historyStart) || strings.Count(b.String(), "\n") != len(evs) {
		t.Errorf("JSON printed:\n%s", b.String())
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// What comes from the network cannot inject tview color tags.
func TestMarkupEscapes(t *testing.T) {
	e := Event{Time: time.Now(), Type: evMessage, Name: "[red]eve", Text: "[::b]bold[-] [#ff0000]x"}
	m := markup(e)
	if strings.Contains(m, "[red]eve") || strings.Contains(m, "[::b]bold") {
		t.Errorf("markup did not escape: %q", m)
	}
	if markup(Event{Type: evTyping, State: "active", Name: "x"}) != "" {
		t.Error("typing shows in the message pane")
	}
}

func TestTypingLine(t *testing.T) {
	cases := map[string][]string{
		"":                       nil,
		"a is typing…":           {"a"},
		"a and b are typing…":    {"a", "b"},
		"a, b and c are typing…": {"a", "b", "c"},
		"4 people are typing…":   {"a", "b", "c", "d"},
	}
	for want, names := range cases {
		if got := typingLine(names); got != want {
			t.Errorf("typingLine(%q) = %q, want %q", names, got, want)
		}
	}
}

// Why a session ended, in words: a reconnection that gave up says why
// its last attempt failed, not what ended the session first.
func TestEndedText(t *testing.T) {
	room := "sip:lobby@127.0.0.1"
	shutdown := fmt.Errorf("%w: %w", client.ErrEndedByFocus, &client.ByeReason{Protocol: "SIP", Cause: 503, Text: "Server shutting down"})
	cases := []struct {
		err  error
		want string
	}{
		{shutdown, "the server is shutting down"},
		{fmt.Errorf("%w: %w", client.ErrEndedByFocus, &client.ByeReason{Protocol: "SIP", Cause: 410, Text: "Room deleted"}), "the room was closed (Room deleted)"},
		{fmt.Errorf("%w: EOF", client.ErrConnectionLost), "lost the connection to the server"},
		{fmt.Errorf("%w after 1 attempt(s): %w (the session had ended: %w)", client.ErrReconnectFailed, &client.SIPError{Method: "INVITE", Code: 404}, shutdown),
			"could not get back into the room: there is no room " + room},
		{fmt.Errorf("%w after 20 attempt(s): %w (the session had ended: %w)", client.ErrReconnectFailed, fmt.Errorf("dial: %w", syscall.ECONNREFUSED), shutdown),
			"could not get back into the room: the server is not answering yet"},
	}
	for _, c := range cases {
		if got := endedText(room, c.err); got != c.want {
			t.Errorf("endedText(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// TestNameOf: parley names a member by the nickname the server granted,
// else by the user part of its URI marked "~" — never by the display name
// it chose — and marks a guest (issue 17).
func TestNameOf(t *testing.T) {
	cases := []struct {
		m    client.Member
		want string
	}{
		{client.Member{URI: "sip:alice@example.com", Nickname: "Alice", Display: "The Admin"}, "Alice"},
		{client.Member{URI: "sip:alice@example.com", Display: "The Admin"}, "~alice"},
		{client.Member{URI: "sip:bob-x1@example.com", Display: "alice", Guest: true}, "~bob-x1 (guest)"},
		{client.Member{URI: "sip:bob@example.com", Nickname: "bobby", Guest: true}, "bobby (guest)"},
		{client.Member{URI: "sip:example.com"}, "~example.com"},
	}
	for _, c := range cases {
		if got := nameOf(c.m); got != c.want {
			t.Errorf("nameOf(%+v) = %q, want %q", c.m, got, c.want)
		}
	}
}

// When the server goes away the screen says so once: the first attempt's
// line, not one per attempt (the input line counts them); and the roster
// is cleared until the room is back.
func TestReconnectSaysSoOnce(t *testing.T) {
	if markup(Event{Type: evReconnecting, Attempt: 1, DelayMS: 500, Text: "the server is shutting down"}) == "" {
		t.Error("the first attempt is not shown")
	}
	if got := markup(Event{Type: evReconnecting, Attempt: 2, DelayMS: 1000}); got != "" {
		t.Errorf("the second attempt is shown: %q", got)
	}
	var events []Event
	c := newChat(nil, "sip:me@example.com", func(e Event) { events = append(events, e) })
	c.members["sip:alice@example.com"] = client.Member{URI: "sip:alice@example.com"}
	c.reconnectEvent(client.ReconnectEvent{Kind: client.Reconnecting, Attempt: 1, Delay: time.Second})
	if len(c.roster()) != 0 {
		t.Errorf("roster while reconnecting: %+v", c.roster())
	}
	if len(events) != 1 || events[0].Type != evReconnecting {
		t.Errorf("events %+v", events)
	}
}
