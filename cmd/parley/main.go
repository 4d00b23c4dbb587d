// Command parley is the parley chat client: a terminal UI for RFC 7701
// chat rooms, and commands for scripts.
//
//	parley join ROOM        chat in ROOM (a terminal UI; lines on stdin otherwise)
//	parley send ROOM TEXT   join ROOM, say TEXT, leave
//	parley listen ROOM      print every message and roster change (--json: one object per line)
//
// ROOM is a room URI (sip:lobby@127.0.0.1) or a room name (lobby: the room
// on --server, default 127.0.0.1:5060). --transport picks udp, tcp, tls or
// ws (SIP and MSRP over secure WebSockets to the server's HTTPS port).
// join and listen rejoin the room by themselves when the connection is lost
// or the server restarts (--no-reconnect to quit instead), showing
// "reconnecting…", then what was said meanwhile as history (listen --json:
// type history). See README.md for a walk-through, and `parley help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/emiago/sipgo/sip"
	"golang.org/x/term"

	"github.com/parley-im/parley/internal/buildinfo"
)

// leaveTimeout bounds the BYE when parley leaves a room.
const leaveTimeout = 5 * time.Second

// stdio is the process's standard streams, and whether it talks to a
// person (a terminal on stdin and stdout).
type stdio struct {
	in       io.Reader
	out, err io.Writer
	terminal bool
	// vlog is where -v logs the client library's events: stderr, or a
	// file when the chat has the screen (verboseTarget). nil: err.
	vlog io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	io := stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr,
		terminal: term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd()))}
	// sipgo also logs through a package-level logger (on closing TCP
	// connections, for one): the process is ours, so those go where ours
	// do, and nowhere without -v. (Set here, once: run is also called by
	// tests, concurrently with servers that read the global.)
	quiet := slog.New(slog.DiscardHandler)
	var logFile *os.File
	if slices.ContainsFunc(os.Args[1:], func(a string) bool { return a == "-v" || a == "--v" || a == "-v=true" || a == "--v=true" }) {
		io.vlog = os.Stderr
		if verboseToFile(os.Args[1:], io.terminal) {
			// The terminal UI has the screen: the log goes to a file,
			// named before the UI starts and again when it ends.
			if f, err := os.CreateTemp("", "parley-*.log"); err == nil {
				logFile, io.vlog = f, f
				fmt.Fprintf(os.Stderr, "parley: -v: logging to %s\n", f.Name())
			}
		}
		quiet = verboseLogger(io.vlog)
	}
	sip.SetDefaultLogger(quiet)
	code := run(ctx, os.Args[1:], io)
	if logFile != nil {
		logFile.Close()
		fmt.Fprintf(os.Stderr, "parley: -v: the log is in %s\n", logFile.Name())
	}
	stop()
	os.Exit(code)
}

const usage = `parley: chat in SIP/MSRP chat rooms (RFC 7701)

Usage:
  parley join ROOM [flags]          chat in ROOM: a terminal UI, or lines on stdin
                                    when stdin is not a terminal (/help for commands)
  parley send ROOM TEXT... [flags]  join ROOM, say TEXT, leave
  parley listen ROOM [flags]        print every message and roster change until
                                    interrupted (--json: one JSON object per line)
  parley -version                   print the version and exit

ROOM is a room URI, e.g. sip:lobby@127.0.0.1, or a room name (lobby), which
means the room on --server. With a default parleyd running, this is enough:

  parley join lobby --nick alice

Over TLS (SIP and the chat both encrypted): a sips: room, or --transport tls,
with the server's certificate verified (--ca FILE to trust a self-signed one):

  parley join lobby --transport tls --ca parley-data/parley-selfsigned.crt

Over secure WebSockets, as a browser would (SIP and the chat to the server's
HTTPS port, --server host:port, default 127.0.0.1:8443; --ca and --insecure
as over TLS):

  parley join lobby --transport ws --ca parley-data/parley-selfsigned.crt

When the connection to the server is lost, or the server shuts down to
restart, join and listen say "reconnecting in …" and join the room again by
themselves, waiting longer after each failed attempt (1 s, 2 s, 4 s… up to
30 s, a little less at random; they give up after 20 attempts, or at once
when the room is gone). Back in the room, what was said meanwhile comes
first, set apart as history (listen --json: "type":"history", "time" when
the room got it), then the chat goes on. A room that was closed, or a
removal, is not rejoined. --no-reconnect quits instead.

Flags (every command):
`

// verboseToFile reports whether -v must log to a file rather than stderr:
// parley join on a terminal without --json, where the chat's UI has the
// screen and log lines would be written over it.
func verboseToFile(args []string, terminal bool) bool {
	if !terminal || len(args) == 0 || args[0] != "join" {
		return false
	}
	return !slices.ContainsFunc(args[1:], func(a string) bool { return a == "-json" || a == "--json" || a == "-json=true" || a == "--json=true" })
}

// run is the whole program; it returns the exit status: 0, 1 when
// something failed, 2 for bad usage.
func run(ctx context.Context, args []string, io stdio) int {
	if len(args) == 0 {
		fmt.Fprint(io.err, usage)
		printFlags(io.err, "join")
		return 2
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "help", "-h", "-help", "--help":
		if len(args) > 0 {
			u, ok := commandUsage[args[0]]
			if !ok {
				fmt.Fprintf(io.err, "parley help: no command %q (join, send, listen)\n", args[0])
				return 2
			}
			fmt.Fprint(io.out, u)
			printFlags(io.out, args[0])
			return 0
		}
		fmt.Fprint(io.out, usage)
		printFlags(io.out, "join")
		return 0
	case "version", "-version", "--version":
		fmt.Fprintln(io.out, "parley", buildinfo.Read())
		return 0
	case "join", "send", "listen":
	default:
		fmt.Fprintf(io.err, "parley: unknown command %q\n\n", cmd)
		fmt.Fprint(io.err, usage)
		return 2
	}
	var c common
	fs := flag.NewFlagSet("parley "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.err)
	c.commandFlags(fs, cmd)
	pos, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if len(pos) == 0 {
		fmt.Fprintf(io.err, "parley %s: which room? e.g. parley %s sip:lobby@127.0.0.1\n", cmd, cmd)
		return 2
	}
	switch cmd {
	case "join":
		if len(pos) > 1 {
			fmt.Fprintf(io.err, "parley join: one room only (got %q)\n", pos)
			return 2
		}
		return cmdJoin(ctx, &c, pos[0], io)
	case "send":
		text := strings.Join(pos[1:], " ")
		if len(pos) < 2 || strings.TrimSpace(text) == "" {
			// Nothing is joined for an empty message: it is not sent.
			fmt.Fprintln(io.err, "parley send: what to say? parley send ROOM TEXT (TEXT not empty)")
			return 2
		}
		return cmdSend(ctx, &c, pos[0], text, io)
	default:
		if len(pos) > 1 {
			fmt.Fprintf(io.err, "parley listen: one room only (got %q)\n", pos)
			return 2
		}
		return cmdListen(ctx, &c, pos[0], io)
	}
}

// commandUsage is parley help COMMAND's text, before the flags.
var commandUsage = map[string]string{
	"join": `Usage: parley join ROOM [flags]

Joins ROOM and chats in it: a terminal UI when stdin and stdout are a
terminal, else one line of stdin is one message (--json: events as JSON
lines). In the chat, /help lists the commands and /help COMMAND explains one.
If the connection drops or the server restarts, it joins again by itself and
shows what was said meanwhile (--no-reconnect: quit instead).

In the terminal UI:
  Enter sends; Alt+Enter starts a new line; a paste is one message, its
  lines and blank lines kept.
  Tab completes a name from the room (at the start of the line with ": ")
  or a /command; Tab again offers the next one.
  Up and Down recall the lines entered earlier.
  PgUp and PgDn (or the mouse wheel) scroll; new lines then wait below,
  counted on the status line, until PgDn or End brings you back down.
  A message that names you (your nickname, else your user name) is
  highlighted and rings the terminal's bell.
  /topic shows the room's subject; /away [NOTE] marks you away (on your
  screen only: a private message gets one automatic answer per sender).
  /join ROOM opens another room in a tab (Alt+1..9, Ctrl+N, Ctrl+P switch);
  /part closes it; /quit leaves them all.
--log DIR appends every line shown to DIR/ROOM.log.

`,
	"send": `Usage: parley send ROOM TEXT... [flags]

Joins ROOM, says TEXT (the words joined by spaces; not empty), and leaves.
Exit status 0 once the room has accepted the message, 1 if it did not (the
reason on stderr), 2 for a bad command line.

`,
	"listen": `Usage: parley listen ROOM [flags]

Joins ROOM and prints every message and roster change until interrupted;
--json prints one JSON object per line, its "type" one of message, history,
private, notice, typing, join, leave, change, roster, info, error, ended,
reconnecting, reconnected.

`,
}

func printFlags(w io.Writer, cmd string) {
	var c common
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	c.commandFlags(fs, cmd)
	fs.SetOutput(w)
	fs.PrintDefaults()
}
