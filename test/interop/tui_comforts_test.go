package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// paneText is a screen line without the roster pane to its right.
func paneText(line string) string {
	for _, border := range []string{"│", "┌", "└"} {
		if i := strings.Index(line, border); i >= 0 {
			line = line[:i]
		}
	}
	return strings.TrimRight(line, " ")
}

// Issue 19, item 3: the comforts of `parley join`'s terminal UI, checked
// on the screens of two parley in tmux: Tab completion, input history, a
// mention highlighted with the bell, a multi-line paste as one message, a
// 5,000-character paste, scrollback that stays put, /topic, /away's
// automatic answer, --log, and /join and /part in tabs.
func TestTerminalComforts(t *testing.T) {
	tmux := needTool(t, "tmux", "tmux")
	conf := filepath.Join(t.TempDir(), "parleyd.toml")
	if err := os.WriteFile(conf, []byte("[[room]]\nname = \"lobby\"\nsubject = \"Welcome to the comforts\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startParleyd(t, buildParleyd(t), "-config", conf)
	parley := buildCommand(t, "parley")
	ts := newTmux(t, tmux)
	logDir := filepath.Join(t.TempDir(), "logs")

	join := func(nick string, extra ...string) string {
		return fmt.Sprintf("env LC_ALL=C.UTF-8 TERM=screen %s join lobby --server %s --nick %s %s", parley, d.sipTCP, nick, strings.Join(extra, " "))
	}
	alice := ts.run("new-session", "-d", "-P", "-F", "#{pane_id}", "-x", "150", "-y", "40", join("alice", "--log", logDir))
	ts.await(alice, "alice joins", "alice (guest) (you)")
	// bob in a window of his own, not the current one: its bell flag is
	// his alone.
	bob := ts.run("new-window", "-d", "-P", "-F", "#{pane_id}", join("bob"))
	ts.await(bob, "bob joins", "bob (guest) (you)", "here: alice (guest)")
	ts.await(alice, "alice's roster shows bob", "bob (guest)", "here (2)")

	// Tab completes bob's nickname, with ": " at the start of the line.
	ts.typeText(alice, "bo", "Tab")
	ts.await(alice, "Tab completes bob", "> bob:") // the trailing space is not captured
	ts.typeText(alice, "are you there?", "Enter")
	ts.await(alice, "alice's line", "alice: bob: are you there?")

	// The mention: highlighted on bob's screen (black on yellow), and the
	// bell rang in his window.
	ts.await(bob, "bob reads the mention", "alice (guest): bob: are you there?")
	colored := ts.run("capture-pane", "-p", "-e", "-t", bob)
	if !regexp.MustCompile(`\x1b\[[0-9;]*43m(\x1b\[[0-9;]*m)*bob: are you there\?`).MatchString(colored) {
		t.Errorf("the mention is not highlighted (yellow background) on bob's screen:\n%q", colored)
	}
	if flag := ts.run("display-message", "-p", "-t", bob, "#{window_bell_flag}"); flag != "1" {
		t.Errorf("bob's window bell flag %q after a mention, want 1 (the bell rang)", flag)
	}
	if flag := ts.run("display-message", "-p", "-t", alice, "#{window_bell_flag}"); flag != "0" {
		t.Errorf("alice's window bell flag %q: her own line rang the bell", flag)
	}

	// Up recalls the last line entered.
	ts.typeText(alice, "", "Up")
	ts.await(alice, "Up recalls the last line", "> bob: are you there?")
	ts.typeText(alice, "", "C-u")
	ts.awaitGone(alice, "the recalled line is cleared", "> bob: are you there?")

	// A bracketed paste of several lines is one message; the blank line
	// is kept.
	ts.run("set-buffer", "-b", "multi", "first pasted line\n\nthird pasted line")
	ts.run("paste-buffer", "-p", "-b", "multi", "-t", alice)
	ts.typeText(alice, "", "Enter")
	screen := ts.await(bob, "bob reads the pasted lines", "alice (guest): first pasted line", "third pasted line")
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		if !strings.Contains(l, "alice (guest): first pasted line") {
			continue
		}
		if i+2 >= len(lines) || paneText(lines[i+1]) != "" || !strings.Contains(lines[i+2], "third pasted line") ||
			strings.Contains(lines[i+2], "alice (guest):") {
			t.Errorf("the paste is not shown as one message of three lines, the second blank:\n%s", screen)
		}
		break
	}

	// A 5,000-character paste: in the input and sent at once (it used to
	// take 18 s, one key event and one typing update per character).
	big := strings.Repeat("word ", 998) + "PASTE-END!"
	if len(big) != 5000 {
		t.Fatalf("the paste is %d characters", len(big))
	}
	ts.run("set-buffer", "-b", "big", big)
	start := time.Now()
	ts.run("paste-buffer", "-p", "-b", "big", "-t", alice)
	ts.typeText(alice, "", "Enter")
	ts.await(bob, "bob reads the big paste", "PASTE-END!")
	elapsed := time.Since(start)
	t.Logf("a 5,000-character paste, sent: on the other screen %v after the paste", elapsed.Round(time.Millisecond))
	if elapsed > 2*time.Second {
		t.Errorf("a 5,000-character paste took %v to reach the other screen, want well under 2 s", elapsed)
	}

	// Scrollback stays put: bob scrolls up, alice's new lines do not move
	// his view; the status line counts them; End brings him back.
	ts.typeText(bob, "", "PPage")
	ts.awaitGone(bob, "bob scrolled up", "PASTE-END!")
	for _, l := range []string{"scroll one", "scroll two", "scroll three"} {
		ts.typeText(alice, l, "Enter")
		ts.await(alice, "alice's line", "alice: "+l)
	}
	screen = ts.await(bob, "the unread indicator", "-- 3 new lines below (PgDn / End) --")
	if strings.Contains(screen, "scroll three") {
		t.Errorf("bob's view moved to the new lines while he was scrolled up:\n%s", screen)
	}
	ts.typeText(bob, "", "End")
	ts.await(bob, "End goes back down", "alice (guest): scroll three")
	ts.awaitGone(bob, "the indicator goes", "new lines below")

	// /topic
	ts.typeText(bob, "/topic", "Enter")
	ts.await(bob, "/topic", "subject: Welcome to the comforts")

	// /away: shown on alice's screen; bob's private messages get one
	// automatic answer.
	ts.typeText(alice, "/away gone fishing", "Enter")
	ts.await(alice, "alice is away", "away: gone fishing")
	ts.typeText(bob, "/msg alice ping one", "Enter")
	ts.await(bob, "the automatic answer", "→ you: [auto-reply] alice is away: gone fishing")
	ts.typeText(bob, "/msg alice ping two", "Enter")
	ts.await(alice, "alice gets the second message", "→ you: ping two")
	time.Sleep(time.Second) // time for a second answer, which must not come
	if n := strings.Count(ts.screen(bob), "[auto-reply]"); n != 1 {
		t.Errorf("bob got %d automatic answers, want 1 (once per sender):\n%s", n, ts.screen(bob))
	}
	ts.typeText(alice, "/away", "Enter")
	ts.await(alice, "alice is back", "you are back")

	// /join opens a second room in a tab; the first counts what alice
	// misses; /part closes the tab and shows the first again.
	ts.typeText(alice, "/join dev", "Enter")
	ts.await(alice, "alice joins dev", "joined sip:dev@"+d.sipTCP+" as alice", " 2 dev ")
	ts.typeText(bob, "meanwhile in the lobby", "Enter")
	ts.await(alice, "the lobby tab counts a message", " 1 lobby (1)")
	ts.typeText(alice, "/part", "Enter")
	ts.await(alice, "back in the lobby", "alice (guest) (you)", "bob (guest): meanwhile in the lobby")
	ts.awaitGone(alice, "the dev tab closed", " 2 dev ")

	// --log: alice's lines, as plain text with times, the paste's lines
	// and blank line kept; the dev room in a file of its own.
	host := strings.ReplaceAll(d.sipTCP, ":", "_")
	lobbyLog := filepath.Join(logDir, "lobby@"+host+".log")
	b, err := os.ReadFile(lobbyLog)
	if err != nil {
		t.Fatal(err)
	}
	logText := string(b)
	for _, want := range []string{
		"<alice> bob: are you there?\n",
		"<alice> first pasted line\n\n           third pasted line\n",
		"PASTE-END!\n",
		"<bob (guest)> meanwhile in the lobby\n",
	} {
		if !strings.Contains(logText, want) {
			t.Errorf("the lobby's log lacks %q:\n%s", want, logText)
		}
	}
	if !regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d <bob \(guest\)> meanwhile in the lobby$`).MatchString(logText) {
		t.Errorf("the log's lines are not timed plain text:\n%s", logText)
	}
	if fi, err := os.Stat(lobbyLog); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the log file: %v, %v; want mode 0600", fi.Mode().Perm(), err)
	}
	if b, err := os.ReadFile(filepath.Join(logDir, "dev@"+host+".log")); err != nil || !strings.Contains(string(b), "joined sip:dev@") {
		t.Errorf("the dev room's log: %q, %v", b, err)
	}

	ts.typeText(bob, "/quit", "Enter")
	ts.typeText(alice, "/quit", "Enter")
	ts.awaitAllQuit()
	d.stop(t)
}
