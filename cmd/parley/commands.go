package main

import (
	"fmt"
	"strings"
)

// command is one line of input: a chat line or a slash command.
type command struct {
	name string // "say", "me", "msg", "nick", "register", "who", "topic", "away", "join", "part", "leave", "help"
	arg  string // the text (say, me, msg), the nickname (nick), the note (away), the room (join)
	to   string // msg: the recipient, a nickname or a URI
}

// helpText is what /help shows.
const helpText = `Commands:
  TEXT              say TEXT to the room
  /me ACTION        say what you do ("* alice waves")
  /msg NICK TEXT    say TEXT to NICK only (a private message); NICK may also be a URI
  /nick NAME        take the nickname NAME; "/nick" alone drops yours
  /nick register [NAME]  make NAME (default: your nickname) your account's:
                    nobody else can take it or a look-alike (needs --account)
  /who              who is in the room
  /topic            the room's subject
  /away [NOTE]      mark yourself away (on your screen only: the room has no
                    presence); a private message gets one automatic answer with
                    NOTE per sender. "/away" alone: back
  /join ROOM        open ROOM in a new tab (a name on this server, or a sip: URI)
  /part             leave this tab's room (the last one: quit)
  /leave, /quit     leave every room and quit
  /help [COMMAND]   this text, or what COMMAND does (/help msg)
A line starting with "//" sends the rest starting with one "/".
Keys: Enter sends, Alt+Enter starts a new line (a paste is one message);
Tab completes names and commands (again: the next one); Up/Down recall
earlier lines; PgUp/PgDn (or the mouse wheel) scroll, End goes back down;
Alt+1..9, Ctrl+N, Ctrl+P switch tabs; Ctrl+C quits.`

// commandHelp explains each command for /help COMMAND, by its name and
// aliases.
var commandHelp = map[string]string{
	"me": `/me ACTION: say what you do; the room sees "* YOURNAME ACTION".`,
	"msg": `/msg NICK TEXT (also /query, /tell): say TEXT to one participant only, a private
message (RFC 7701 §6.2). NICK is a nickname from /who, or a SIP URI. The room
must allow private messages, and NICK's client must take them.`,
	"nick": `/nick NAME: take the nickname NAME in this room (RFC 7701 §7); "/nick" alone
drops yours. A taken, reserved or too long name is refused and you keep yours.
/nick register [NAME]: make NAME (default: the nickname you hold) your account's,
in every room: nobody else can take it or a look-alike (needs --account).`,
	"who":   `/who (also /names): who is in the room, with their nicknames.`,
	"topic": `/topic: the room's subject, as the room describes itself (RFC 4575 <subject>).`,
	"away": `/away NOTE: mark yourself away. This is local to parley: a room has no
presence, so nobody is told; your own screen says so, and whoever sends you a
private message meanwhile gets one automatic answer ("[auto-reply] YOU is away:
NOTE"), once per sender. "/away" alone: you are back.`,
	"join": `/join ROOM: join ROOM as well, in a new tab (the tab bar at the top; Alt+1..9,
Ctrl+N and Ctrl+P switch). ROOM is a name on the first room's server (lobby),
or a sip: URI. Only in the terminal UI.`,
	"part":  `/part: leave the room of this tab and close it; with one room open, quit.`,
	"leave": `/leave (also /quit, /exit): leave every room and quit.`,
	"help":  `/help [COMMAND]: the list of commands, or what COMMAND does.`,
}

// helpFor is /help's answer for arg: the command list, or one command's
// explanation (a leading "/" and an alias are fine).
func helpFor(arg string) string {
	word := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(arg), "/"))
	switch word {
	case "":
		return helpText
	case "query", "tell":
		word = "msg"
	case "names":
		word = "who"
	case "quit", "exit":
		word = "leave"
	case "subject":
		word = "topic"
	case "?":
		word = "help"
	}
	if h, ok := commandHelp[word]; ok {
		return h
	}
	return fmt.Sprintf("no command /%s; /help lists them", word)
}

// errUsage is a command used wrongly; its text says how to use it.
type errUsage string

func (e errUsage) Error() string { return string(e) }

// parseCommand reads one line of input. An empty line is no command (ok
// false). Text not starting with "/" is said to the room; "//x" says "/x".
func parseCommand(line string) (cmd command, ok bool, err error) {
	line = strings.TrimRight(line, "\r\n")
	if strings.TrimSpace(line) == "" {
		return command{}, false, nil
	}
	if !strings.HasPrefix(line, "/") {
		return command{name: "say", arg: line}, true, nil
	}
	if strings.HasPrefix(line, "//") {
		return command{name: "say", arg: line[1:]}, true, nil
	}
	word, rest := line[1:], ""
	if i := strings.IndexAny(word, " \t\n"); i >= 0 {
		word, rest = word[:i], word[i+1:]
	}
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(word) {
	case "me":
		if rest == "" {
			return command{}, false, errUsage("usage: /me ACTION")
		}
		return command{name: "me", arg: rest}, true, nil
	case "msg", "query", "tell":
		to, text, _ := strings.Cut(rest, " ")
		text = strings.TrimSpace(text)
		if to == "" || text == "" {
			return command{}, false, errUsage("usage: /msg NICK TEXT")
		}
		return command{name: "msg", to: to, arg: text}, true, nil
	case "nick":
		if w, name, _ := strings.Cut(rest, " "); strings.EqualFold(w, "register") {
			// /nick register [NAME]: take NAME (default: the nickname
			// held) and register it to the account (issue 17).
			name = strings.TrimSpace(name)
			if strings.ContainsAny(name, " \t\n") {
				return command{}, false, errUsage("usage: /nick register [NAME] (one word)")
			}
			return command{name: "register", arg: name}, true, nil
		}
		if strings.ContainsAny(rest, " \t\n") {
			return command{}, false, errUsage("usage: /nick NAME (one word)")
		}
		return command{name: "nick", arg: rest}, true, nil
	case "who", "names":
		return command{name: "who"}, true, nil
	case "topic", "subject":
		return command{name: "topic"}, true, nil
	case "away":
		return command{name: "away", arg: rest}, true, nil
	case "join":
		if rest == "" || strings.ContainsAny(rest, " \t\n") {
			return command{}, false, errUsage("usage: /join ROOM (a room name, or a sip: URI)")
		}
		return command{name: "join", arg: rest}, true, nil
	case "part":
		return command{name: "part"}, true, nil
	case "leave", "quit", "exit":
		return command{name: "leave"}, true, nil
	case "help", "?":
		return command{name: "help", arg: rest}, true, nil
	}
	return command{}, false, errUsage(fmt.Sprintf("unknown command /%s (try /help)", word))
}

// commandNames are the commands Tab completes, in the order offered.
var commandNames = []string{"/away", "/help", "/join", "/leave", "/me", "/msg", "/names", "/nick", "/part", "/query", "/quit", "/tell", "/topic", "/who"}

// typingTarget says where a line being typed would go, for the typing
// indication (RFC 3994): ok is false for a command that sends nothing; to
// is "" for the room, else the /msg recipient as typed.
func typingTarget(line string) (to string, ok bool) {
	if strings.TrimSpace(line) == "" {
		return "", false
	}
	if !strings.HasPrefix(line, "/") || strings.HasPrefix(line, "//") {
		return "", true
	}
	word, rest, _ := strings.Cut(line[1:], " ")
	switch strings.ToLower(word) {
	case "me":
		return "", true
	case "msg", "query", "tell":
		to, text, found := strings.Cut(rest, " ")
		if !found || strings.TrimSpace(text) == "" || to == "" {
			return "", false // still typing the recipient
		}
		return to, true
	}
	return "", false
}
