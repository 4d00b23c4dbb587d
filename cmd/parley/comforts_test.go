package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Issue 19, item 3: the pure parts of the terminal UI's comforts.

// apply is what the UI does with a Tab's answer.
func apply(text string, start, end int, insert string) string {
	return text[:start] + insert + text[end:]
}

func TestTabCompletion(t *testing.T) {
	names := []string{"bob", "Bobby", "carol", "~dave"}
	var tc tabCompletion

	// A name at the start of the line gets ": "; Tab again cycles.
	text := "bo"
	var seen []string
	for range 3 {
		start, end, insert, ok := tc.tab(text, len(text), names, commandNames)
		if !ok {
			t.Fatalf("no completion for %q", text)
		}
		text = apply(text, start, end, insert)
		seen = append(seen, text)
	}
	if want := []string{"bob: ", "Bobby: ", "bob: "}; !slices.Equal(seen, want) {
		t.Errorf("Tab, Tab, Tab on \"bo\" = %q, want %q", seen, want)
	}

	// Elsewhere in the line: a space; the cycle ended with the edit.
	tc.reset()
	text = "hi ca and"
	start, end, insert, ok := tc.tab(text, len("hi ca"), names, commandNames)
	if !ok || apply(text, start, end, insert) != "hi carol  and" {
		t.Errorf("mid-line completion = %q, %v", apply(text, start, end, insert), ok)
	}

	// "@" stays; "~" and case are ignored.
	tc.reset()
	if s, e, in, ok := tc.tab("ping @CA", 8, names, commandNames); !ok || apply("ping @CA", s, e, in) != "ping @carol " {
		t.Errorf("@ completion = %q", apply("ping @CA", s, e, in))
	}

	// Commands at the start of the line only.
	tc.reset()
	if s, e, in, ok := tc.tab("/to", 3, names, commandNames); !ok || apply("/to", s, e, in) != "/topic " {
		t.Errorf("command completion = %q, %v", apply("/to", s, e, in), ok)
	}
	tc.reset()
	text = "/msg b"
	var got []string
	for range 2 {
		s, e, in, ok := tc.tab(text, len(text), names, commandNames)
		if !ok {
			t.Fatal("no completion after /msg")
		}
		text = apply(text, s, e, in)
		got = append(got, text)
	}
	if want := []string{"/msg bob ", "/msg Bobby "}; !slices.Equal(got, want) {
		t.Errorf("/msg completion = %q, want %q", got, want)
	}

	// Nothing matches: nothing changes.
	tc.reset()
	if _, _, _, ok := tc.tab("zed", 3, names, commandNames); ok {
		t.Error("completed a name nobody has")
	}
}

func TestCompletionNames(t *testing.T) {
	ms := []member{
		{URI: "sip:alice-1@h", Nickname: "alice"},
		{URI: "sip:bob-2@h"},
		{URI: "sip:me@h", Nickname: "me"},
	}
	if got, want := completionNames(ms, "sip:me@h"), []string{"alice", "bob-2"}; !slices.Equal(got, want) {
		t.Errorf("completionNames = %q, want %q (nicknames, else the user part; never ourselves)", got, want)
	}
}

func TestInputHistory(t *testing.T) {
	var h inputHistory
	if _, ok := h.up("draft"); ok {
		t.Error("Up with no history recalled something")
	}
	for _, l := range []string{"one", "two", "two", "three\nlines"} {
		h.add(l)
	}
	var ups []string
	for {
		l, ok := h.up("half typed")
		if !ok {
			break
		}
		ups = append(ups, l)
	}
	if want := []string{"three\nlines", "two", "one"}; !slices.Equal(ups, want) {
		t.Errorf("Up, Up, Up = %q, want %q (a repeat kept once)", ups, want)
	}
	var downs []string
	for {
		l, ok := h.down()
		if !ok {
			break
		}
		downs = append(downs, l)
	}
	if want := []string{"two", "three\nlines", "half typed"}; !slices.Equal(downs, want) {
		t.Errorf("Down… = %q, want %q (the draft last)", downs, want)
	}
	if h.browsing() {
		t.Error("still browsing after coming back to the draft")
	}
	h.add("four")
	if l, _ := h.up(""); l != "four" {
		t.Errorf("Up after a new line = %q, want four", l)
	}
}

func TestMentions(t *testing.T) {
	for _, c := range []struct {
		text string
		want bool
	}{
		{"alice: hi", true},
		{"hi @Alice!", true},
		{"ALICE", true},
		{"is that you, alice?", true},
		{"malice aforethought", false},
		{"alice2 is someone else", false},
		{"alice_b too", false},
		{"nobody here", false},
	} {
		if got := mentions(c.text, "alice"); got != c.want {
			t.Errorf("mentions(%q, alice) = %v, want %v", c.text, got, c.want)
		}
	}
	if mentions("anything", "") || mentions("anything") {
		t.Error("an empty name mentioned")
	}
}

func TestAwayAnswersOncePerSender(t *testing.T) {
	var a awayState
	if _, ok := a.replyTo("sip:bob@h"); ok {
		t.Error("answered while not away")
	}
	a.set("lunch")
	if note, ok := a.replyTo("sip:bob@h"); !ok || note != "lunch" {
		t.Errorf("first message from bob: %q, %v; want an answer with the note", note, ok)
	}
	if _, ok := a.replyTo("sip:bob@h"); ok {
		t.Error("bob answered twice")
	}
	if _, ok := a.replyTo("sip:carol@h"); !ok {
		t.Error("carol not answered")
	}
	a.set("meeting") // away again: everyone gets the new note once
	if note, ok := a.replyTo("sip:bob@h"); !ok || note != "meeting" {
		t.Errorf("after a new /away: %q, %v", note, ok)
	}
	if old, was := a.set(""); !was || old != "meeting" {
		t.Errorf("/away alone: %q, %v", old, was)
	}
	if _, ok := a.replyTo("sip:dave@h"); ok {
		t.Error("answered after coming back")
	}
	if got := awayReply("alice", "lunch"); got != "[auto-reply] alice is away: lunch" || !strings.HasPrefix(got, autoReplyMark) {
		t.Errorf("awayReply = %q", got)
	}
}

func TestLogFileName(t *testing.T) {
	for in, want := range map[string]string{
		"sip:lobby@127.0.0.1:5060":               "lobby@127.0.0.1_5060.log",
		"sips:Dev-Room@chat.example.com":         "Dev-Room@chat.example.com.log",
		"sip:a/b@[::1]:5060;transport=tcp":       "a_b@___1__5060.log",
		"sip:..@host":                            "@host.log",
		"sip:x@h?subject=../../etc/passwd":       "x@h.log",
		"sip:%2e%2e%2fup@host":                   "_2e_2e_2fup@host.log",
		"sip:" + strings.Repeat("r", 300) + "@h": strings.Repeat("r", 200) + ".log",
	} {
		if got := logFileName(in); got != want {
			t.Errorf("logFileName(%q) = %q, want %q", in, got, want)
		}
		if strings.ContainsAny(logFileName(in), `/\:`) {
			t.Errorf("logFileName(%q) = %q: not one file name", in, logFileName(in))
		}
	}
}

func TestLogWrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	l, err := openLog(dir, "sip:lobby@example.com")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 12, 0, 1, 0, time.Local)
	l.event(Event{Time: at, Type: evMessage, Name: "bob", Text: "hello"})
	l.event(Event{Time: at, Type: evTyping, Name: "bob", State: "active"}) // the status line's: not logged
	l.event(Event{Time: at, Type: evMessage, Name: "bob", Text: "one\n\nthree\n"})
	l.close()
	l.event(Event{Time: at, Type: evMessage, Name: "bob", Text: "after close"})
	// Appending: a second run adds to the file.
	l2, err := openLog(dir, "sip:lobby@example.com")
	if err != nil {
		t.Fatal(err)
	}
	l2.event(Event{Time: at, Type: evJoin, Name: "carol"})
	l2.close()

	path := filepath.Join(dir, "lobby@example.com.log")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "12:00:01 <bob> hello\n" +
		"12:00:01 <bob> one\n" +
		"\n" +
		"           three\n" +
		"12:00:01 -- carol joined\n"
	if string(b) != want {
		t.Errorf("log:\n%s\nwant:\n%s", b, want)
	}
	for p, mode := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), mode)
		}
	}
	var none *lineLog // no --log
	if err := none.event(Event{Type: evMessage, Text: "x"}); err != nil {
		t.Error(err)
	}
	none.close()
}

// A message of several lines is one message, shown on several lines: its
// blank lines kept, further lines indented under the first, each line
// escaped; the line modes keep one line per event.
func TestMultilineDisplay(t *testing.T) {
	if got, want := textLines("one\r\n\r\nthree\n\n"), []string{"one", "", "three"}; !slices.Equal(got, want) {
		t.Errorf("textLines = %q, want %q", got, want)
	}
	if got := textLines("single"); !slices.Equal(got, []string{"single"}) {
		t.Errorf("textLines(single) = %q", got)
	}
	e := Event{Time: time.Date(2026, 1, 2, 12, 0, 1, 0, time.Local), Type: evMessage, Name: "bob", Text: "one\n\n[red]three"}
	m := markup(e)
	lines := strings.Split(m, "\n")
	if len(lines) != 3 {
		t.Fatalf("markup gave %d lines, want 3: %q", len(lines), m)
	}
	if !strings.HasSuffix(lines[0], ": one") || strings.TrimSpace(lines[1]) != "" || !strings.HasPrefix(lines[2], continuation(e)) ||
		!strings.Contains(lines[2], "[red[]three") {
		t.Errorf("markup = %q", m)
	}
	if l := e.Line(); strings.Contains(l, "\n") {
		t.Errorf("Line = %q: the line modes print one line per event", l)
	}
	if got := plainLines(e); len(got) != 3 || got[1] != "" || strings.TrimSpace(got[2]) != "[red]three" {
		t.Errorf("plainLines = %q", got)
	}
	// A mention is highlighted, every line of it; our own lines never.
	e.Mention = true
	if m := markup(e); strings.Count(m, mentionStyle) != 2 {
		t.Errorf("mention markup = %q, want the style on both non-empty lines", m)
	}
	e.Self = true
	if m := markup(e); strings.Contains(m, mentionStyle) {
		t.Errorf("our own line highlighted: %q", m)
	}
}

// The typing code looks at the head of the line only: a 5,000-character
// line costs no more per keystroke than a short one.
func TestTypingReadsTheHeadOnly(t *testing.T) {
	long := "/msg bob " + strings.Repeat("x", 5000)
	if to, ok := typingTarget(long[:typingHead]); !ok || to != "bob" {
		t.Errorf("typingTarget(head) = %q, %v", to, ok)
	}
}
