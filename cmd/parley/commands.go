package main

import (
	"fmt"
	"strings"
)

// command is one line of input: a chat line or a slash command.
type command struct {
	name string // "say", "me", "msg", "nick", "who", "leave", "help"
	arg  string // the text (say, me, msg), the nickname (nick)
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
  /leave, /quit     leave the room and quit
  /help [COMMAND]   this text, or what COMMAND does (/help msg)
A line starting with "//" sends the rest starting with one "/".`

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
	"leave": `/leave (also /quit, /part, /exit): leave the room and quit.`,
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
	case "quit", "part", "exit":
		word = "leave"
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
	word, rest, _ := strings.Cut(line[1:], " ")
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
			if strings.ContainsAny(name, " \t") {
				return command{}, false, errUsage("usage: /nick register [NAME] (one word)")
			}
			return command{name: "register", arg: name}, true, nil
		}
		if strings.ContainsAny(rest, " \t") {
			return command{}, false, errUsage("usage: /nick NAME (one word)")
		}
		return command{name: "nick", arg: rest}, true, nil
	case "who", "names":
		return command{name: "who"}, true, nil
	case "leave", "quit", "part", "exit":
		return command{name: "leave"}, true, nil
	case "help", "?":
		return command{name: "help", arg: rest}, true, nil
	}
	return command{}, false, errUsage(fmt.Sprintf("unknown command /%s (try /help)", word))
}

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
