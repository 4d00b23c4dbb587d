package interop

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tmuxSession drives terminal programs in panes of a private tmux server.
type tmuxSession struct {
	t    *testing.T
	bin  string
	sock string // -L: a server of our own, killed at the end
}

func newTmux(t *testing.T, bin string) *tmuxSession {
	ts := &tmuxSession{t: t, bin: bin, sock: fmt.Sprintf("parley-test-%d", time.Now().UnixNano())}
	t.Cleanup(func() { exec.Command(bin, "-L", ts.sock, "kill-server").Run() })
	return ts
}

func (ts *tmuxSession) run(args ...string) string {
	ts.t.Helper()
	out, err := exec.Command(ts.bin, append([]string{"-u", "-L", ts.sock, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil {
		ts.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// screen is what pane shows now, wrapped lines joined.
func (ts *tmuxSession) screen(pane string) string {
	ts.t.Helper()
	return ts.run("capture-pane", "-p", "-J", "-t", pane)
}

// await waits until pane shows every one of want (at most 20 s).
func (ts *tmuxSession) await(pane, what string, want ...string) string {
	ts.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := ts.screen(pane)
		missing := ""
		for _, w := range want {
			if !strings.Contains(s, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return s
		}
		if time.Now().After(deadline) {
			ts.t.Fatalf("%s: pane %s never showed %q; it shows:\n%s", what, pane, missing, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// awaitGone waits until pane no longer shows text.
func (ts *tmuxSession) awaitGone(pane, what, text string) {
	ts.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Contains(ts.screen(pane), text) {
		if time.Now().After(deadline) {
			ts.t.Fatalf("%s: pane %s still shows %q:\n%s", what, pane, text, ts.screen(pane))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// typeText types text into pane, then presses the keys given (Enter…).
func (ts *tmuxSession) typeText(pane, text string, keys ...string) {
	ts.t.Helper()
	if text != "" {
		ts.run("send-keys", "-t", pane, "-l", text)
	}
	if len(keys) > 0 {
		ts.run(append([]string{"send-keys", "-t", pane}, keys...)...)
	}
}

// Issue 6, as a newcomer would do it: parleyd and two `parley join` TUIs
// in tmux panes; a message, typing, /nick, /msg, a refused /msg and /quit,
// each checked on the screens. Issue 17: neither has an account, so each
// shows as a guest everywhere, and a refused nickname never becomes
// anyone's name on screen.
func TestTerminalChatInTmux(t *testing.T) {
	tmux := needTool(t, "tmux", "tmux")
	d := startParleyd(t, buildParleyd(t))
	parley := buildCommand(t, "parley")
	ts := newTmux(t, tmux)

	join := func(nick string) string {
		return fmt.Sprintf("env LC_ALL=C.UTF-8 TERM=screen %s join lobby --server %s --nick %s", parley, d.sipTCP, nick)
	}
	alice := ts.run("new-session", "-d", "-P", "-F", "#{pane_id}", "-x", "150", "-y", "40", join("alice"))
	ts.await(alice, "alice joins", "joined sip:lobby@"+d.sipTCP+" as alice", "alice (guest) (you)")
	bob := ts.run("split-window", "-v", "-P", "-F", "#{pane_id}", "-t", alice, join("bob"))
	ts.await(bob, "bob joins", "joined sip:lobby@"+d.sipTCP+" as bob", "bob (guest) (you)", "here: alice (guest)")
	ts.await(alice, "alice's roster shows bob", "(guest) joined", "bob (guest)", "here (2)")

	ts.typeText(alice, "hello from alice", "Enter")
	ts.await(alice, "alice's own line", "alice: hello from alice")
	ts.await(bob, "bob reads alice", "alice (guest): hello from alice")

	// Typing: shown while alice types, gone when she clears the line.
	ts.typeText(bob, "still thinking")
	ts.await(alice, "alice sees bob typing", "bob (guest) is typing…")
	ts.typeText(bob, "", "C-u")
	ts.awaitGone(alice, "bob's typing ends", "is typing…")

	ts.typeText(bob, "/nick robert", "Enter")
	ts.await(bob, "bob's nickname", "you are now known as robert", "robert (guest) (you)")
	ts.await(alice, "alice sees the nickname", "bob (guest) is now known as robert (guest)")

	ts.typeText(alice, "/msg robert just between us", "Enter")
	ts.await(bob, "bob reads the private message", "private alice (guest) → you: just between us")
	ts.await(alice, "alice's private line", "private you → robert: just between us")

	ts.typeText(bob, "/msg nobody hello?", "Enter")
	ts.await(bob, "a /msg to nobody", "nobody called nobody is here")
	ts.typeText(alice, "/nick robert", "Enter")
	ts.await(alice, "a taken nickname", `nickname "robert" is taken`)
	// The refused nickname is nobody's name on alice's screen but robert's:
	// she still speaks as alice.
	ts.typeText(alice, "still alice", "Enter")
	ts.await(alice, "alice's line after the refusal", "alice: still alice", "alice (guest) (you)")
	ts.await(bob, "bob reads it from alice", "alice (guest): still alice")

	ts.typeText(bob, "/me waves goodbye", "Enter")
	ts.await(alice, "an action", "* robert (guest) waves goodbye")
	ts.typeText(bob, "/quit", "Enter")
	ts.await(alice, "robert leaves", "robert (guest) left", "here (1)")
	ts.typeText(alice, "/quit", "Enter")
	ts.awaitAllQuit()
	d.stop(t)
	log := d.log.String()
	if n := strings.Count(log, `msg="participant left"`); n != 2 {
		t.Errorf("parleyd saw %d participants leave, want 2:\n%s", n, log)
	}
}

// awaitAllQuit waits (at most 10 s) until every pane's program has quit:
// the last pane closed, the tmux server is gone.
func (ts *tmuxSession) awaitAllQuit() {
	ts.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := exec.Command(ts.bin, "-L", ts.sock, "list-panes", "-a").CombinedOutput()
		if err != nil {
			return
		}
		if time.Now().After(deadline) {
			ts.t.Fatalf("parley did not quit:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// awaitMatch waits until pane shows a line matching re (at most 20 s).
func (ts *tmuxSession) awaitMatch(pane, what string, re *regexp.Regexp) string {
	ts.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := ts.screen(pane)
		if m := re.FindString(s); m != "" {
			return m
		}
		if time.Now().After(deadline) {
			ts.t.Fatalf("%s: pane %s never showed %v; it shows:\n%s", what, pane, re, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Issue 19, items 1 and 2, as users see them: alice addresses the room
// as sip:lobby@localhost, bob as sip:LOBBY@127.0.0.1; it is one room and
// each sees the other's messages as regular, not private. carol is sent
// a private message the moment her screen says she joined; a visit of
// less than a second (`parley send`) is announced, join and leave, on the
// screens of those in the room.
func TestTerminalRosterInTmux(t *testing.T) {
	tmux := needTool(t, "tmux", "tmux")
	d := startParleyd(t, buildParleyd(t))
	parley := buildCommand(t, "parley")
	ts := newTmux(t, tmux)
	_, port, _ := strings.Cut(d.sipTCP, ":")

	join := func(room, nick string) string {
		return fmt.Sprintf("env LC_ALL=C.UTF-8 TERM=screen %s join %s --server %s --nick %s", parley, room, d.sipTCP, nick)
	}
	alice := ts.run("new-session", "-d", "-P", "-F", "#{pane_id}", "-x", "150", "-y", "50", join("sip:lobby@localhost:"+port, "alice"))
	ts.await(alice, "alice joins", "as alice", "alice (guest) (you)")
	bob := ts.run("split-window", "-v", "-P", "-F", "#{pane_id}", "-t", alice, join("sip:LOBBY@127.0.0.1:"+port, "bob"))
	ts.await(bob, "bob joins the same room", "as bob", "bob (guest) (you)", "alice (guest)")
	ts.await(alice, "alice's roster shows bob", "bob (guest)", "here (2)")

	ts.typeText(alice, "hi from localhost", "Enter")
	ts.await(bob, "bob reads alice's message as regular", "alice (guest): hi from localhost")
	ts.typeText(bob, "hi from 127.0.0.1", "Enter")
	ts.await(alice, "alice reads bob's message as regular", "bob (guest): hi from 127.0.0.1")
	for pane, name := range map[string]string{alice: "alice", bob: "bob"} {
		if s := ts.screen(pane); strings.Contains(s, "private") {
			t.Errorf("%s's screen calls a room message private:\n%s", name, s)
		}
	}

	// A private message to carol the moment her screen says she joined.
	carol := ts.run("split-window", "-v", "-P", "-F", "#{pane_id}", "-t", bob, join("lobby", "carol"))
	ts.await(carol, "carol joins", "as carol")
	ts.typeText(alice, "/msg carol welcome, carol", "Enter")
	ts.await(carol, "carol reads the private message", "private alice (guest) → you: welcome, carol")
	ts.await(alice, "alice's private line", "private you → carol: welcome, carol")

	// A visit of well under a second: join, say, leave.
	start := time.Now()
	out, err := exec.Command(parley, "send", "lobby", "drive-by", "--server", d.sipTCP, "--nick", "dave").CombinedOutput()
	if err != nil {
		t.Fatalf("parley send: %v\n%s", err, out)
	}
	t.Logf("the visit took %v", time.Since(start))
	for pane, name := range map[string]string{alice: "alice", bob: "bob"} {
		ts.awaitMatch(pane, name+" sees the visitor join", regexp.MustCompile(`-- \S*dave\S* \(guest\) joined`))
		ts.awaitMatch(pane, name+" sees the visitor leave", regexp.MustCompile(`-- \S*dave\S* \(guest\) left`))
		ts.awaitMatch(pane, name+" reads the visitor", regexp.MustCompile(`dave\S*( \(guest\))?: drive-by`))
	}
	ts.await(alice, "the roster after the visit", "here (3)")
}
