package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/parley-im/parley/client"
)

// defaultServer is where a default parleyd listens for SIP.
const defaultServer = "127.0.0.1:5060"

// common are the options every subcommand takes.
type common struct {
	from      string
	nick      string
	anonymous bool
	transport string
	server    string
	timeout   time.Duration
	json      bool
	verbose   bool
	noRoster  bool
}

// flags declares the common options on fs.
func (c *common) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.from, "from", "", "your SIP URI (default sip:NAME-XXXX@HOST, NAME from --nick or $USER)")
	fs.StringVar(&c.nick, "nick", "", "the nickname to take in the room (join: default $USER)")
	fs.BoolVar(&c.anonymous, "anonymous", false, "ask the room to hide who you are (Privacy: id); others see an anonymous URI")
	fs.StringVar(&c.transport, "transport", "tcp", "SIP transport: udp or tcp")
	fs.StringVar(&c.server, "server", "", "the server's SIP address host:port (default: the room URI's host and port, or "+defaultServer+")")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "how long to wait for each answer from the server")
	fs.BoolVar(&c.verbose, "v", false, "log the client library's events (SIP, MSRP) to stderr")
}

// parseArgs parses args with fs, allowing flags after the positional
// arguments ("parley join ROOM --nick bob"); "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" { // fs.Parse consumed a "--" before; what follows is positional
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// roomURI turns the ROOM argument into a room URI and the address to send
// the INVITE to: "sip:lobby@example.com" as it is; "lobby" is the room
// "lobby" on the server (--server, else 127.0.0.1:5060).
func (c *common) roomURI(arg string) (room, server string, err error) {
	server = c.server
	if server != "" {
		if h, p, err := net.SplitHostPort(server); err != nil || h == "" || p == "" {
			return "", "", fmt.Errorf("--server %q: want host:port, e.g. %s", server, defaultServer)
		}
	}
	switch {
	case arg == "":
		return "", "", errors.New("no room given (e.g. sip:lobby@127.0.0.1, or just lobby)")
	case strings.HasPrefix(arg, "sip:"), strings.HasPrefix(arg, "sips:"):
		return arg, server, nil
	case strings.ContainsAny(arg, ":@ <>\"") || strings.IndexFunc(arg, unicode.IsControl) >= 0:
		return "", "", fmt.Errorf("room %q: give a sip: URI (sip:lobby@127.0.0.1) or a plain room name", arg)
	}
	if server == "" {
		server = defaultServer
	}
	host, port, _ := net.SplitHostPort(server)
	if port == "5060" {
		return "sip:" + arg + "@" + hostForURI(host), server, nil
	}
	return "sip:" + arg + "@" + net.JoinHostPort(host, port), server, nil
}

// hostForURI brackets an IPv6 literal.
func hostForURI(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// options builds the client options for room; name is the default user
// name (the nickname, else $USER).
func (c *common) options(room string, stderr io.Writer) (client.Options, error) {
	o := client.Options{
		Transport: c.transport,
		Server:    c.server,
		Timeout:   c.timeout,
		Privacy:   c.anonymous,
		NoRoster:  c.noRoster,
	}
	switch strings.ToLower(c.transport) {
	case "udp", "tcp":
	default:
		return o, fmt.Errorf("--transport %q: want udp or tcp", c.transport)
	}
	name := c.nick
	if name == "" {
		name = userName()
	}
	o.DisplayName = name
	o.From = c.from
	if o.From == "" {
		o.From = "sip:" + uriUser(name) + "-" + randomTag() + "@" + uriHost(room)
	}
	if c.verbose {
		o.Logger = verboseLogger(stderr)
	}
	return o, nil
}

// userName is the name of the user running parley: $USER, $LOGNAME, or
// "guest".
func userName() string {
	for _, k := range []string{"USER", "LOGNAME", "USERNAME"} {
		if v := strings.TrimSpace(os.Getenv(k)); v != "" {
			return v
		}
	}
	return "guest"
}

// uriUser keeps the characters of name that go in a SIP URI's user part
// unescaped (RFC 3261 §25.1 unreserved), lower-cased; "guest" if none.
func uriUser(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.!~*'()", r)) {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "guest"
	}
	return b.String()
}

// uriHost is the host (and port) of a sip: URI, for our own From.
func uriHost(room string) string {
	_, rest, _ := strings.Cut(room, ":")
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if i := strings.IndexAny(rest, ";?"); i >= 0 {
		rest = rest[:i]
	}
	if rest == "" {
		return "localhost"
	}
	return rest
}

// randomTag makes the default From unique: two people (or two terminals)
// with one user name are two participants, not one user's two devices.
func randomTag() string {
	var b [2]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func verboseLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
