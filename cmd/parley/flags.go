package main

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/client"
)

// defaultServer is where a default parleyd listens for SIP,
// defaultTLSServer where it listens for SIP over TLS, and defaultWSServer
// its HTTPS port, for SIP and MSRP over secure WebSockets.
const (
	defaultServer    = "127.0.0.1:5060"
	defaultTLSServer = "127.0.0.1:5061"
	defaultWSServer  = "127.0.0.1:8443"
)

// insecureWarning is what --insecure prints on stderr, every time.
const insecureWarning = `parley: WARNING: --insecure: the server's certificate is NOT verified.
parley: WARNING: the connection is encrypted, but the server is not authenticated:
parley: WARNING: anyone on the way can pretend to be it and read or change what you send.
parley: WARNING: to check it instead, give its certificate with --ca FILE.
`

// common are the options every subcommand takes.
type common struct {
	from      string
	nick      string
	anonymous bool
	transport string
	ca        string // --ca: PEM file of the roots to trust over TLS (and WebSocket)
	insecure  bool   // --insecure: no certificate verification over TLS (and WebSocket)
	server    string // --server: host:port; over ws, of the HTTPS port, or a wss: URL
	timeout   time.Duration
	json      bool
	verbose   bool
	vlog      io.Writer // where -v logs; nil: stderr (stdio.vlog)
	noRoster  bool
	// noReconnect: leave when the connection to the room is lost, instead
	// of joining again (--no-reconnect; always for send).
	noReconnect bool
	// account: the server account to join as (--account; From becomes
	// sip:ACCOUNT@<room host>); its password comes from passwordFile
	// (--password-file) or $PARLEY_PASSWORD.
	account      string
	passwordFile string
	// logDir: join appends every line it shows to DIR/<room>.log (--log).
	logDir string
}

// reconnectPolicy is how join and listen come back to the room (tests
// shorten its waits): the client library's defaults.
var reconnectPolicy = client.Reconnect{}

// flags declares the common options on fs.
func (c *common) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.from, "from", "", "your SIP URI (default sip:NAME-XXXX@HOST, NAME from --nick or $USER)")
	fs.StringVar(&c.nick, "nick", "", "the nickname to take in the room (join: default $USER)")
	fs.BoolVar(&c.anonymous, "anonymous", false, "ask the room to hide who you are (Privacy: id); others see an anonymous URI")
	fs.StringVar(&c.transport, "transport", "", "SIP transport: udp, tcp, tls or ws (default tls for a sips: room, else tcp); tls also puts the chat (MSRP) over TLS; "+
		"ws puts SIP and the chat over secure WebSockets (wss) to the server's HTTPS port, as a browser does")
	fs.StringVar(&c.ca, "ca", "", "over TLS and ws, trust the certificates in this PEM `file` instead of the system's roots (e.g. parleyd's parley-data/parley-selfsigned.crt)")
	fs.BoolVar(&c.insecure, "insecure", false, "over TLS and ws, do not verify the server's certificate: encrypted, but the server is not authenticated")
	fs.StringVar(&c.server, "server", "", "the server's SIP address host:port (default: the room URI's host and port, or "+defaultServer+"); "+
		"with --transport ws, its HTTPS address host:port (default: the room URI's host, port 8443, or "+defaultWSServer+") or a wss:// URL")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "how long to wait for each answer from the server")
	fs.BoolVar(&c.verbose, "v", false, "log the client library's events (SIP, MSRP) to stderr, or to a file named on stderr while join has the terminal")
	fs.StringVar(&c.account, "account", "", "join as this `name`, an account of the server (From sip:NAME@HOST), proving it with the password "+
		"in $PARLEY_PASSWORD or --password-file; without it you are a guest")
	fs.StringVar(&c.passwordFile, "password-file", "", "read the account's password from the first line of this `file`")
	fs.BoolVar(&c.noReconnect, "no-reconnect", false, "when the connection to the room is lost or the server shuts down, quit instead of "+
		"joining again (join and listen reconnect by themselves, with growing waits, and show what was said meanwhile as history)")
}

// commandFlags declares the options of command cmd on fs: the common
// ones, --json, and join's own.
func (c *common) commandFlags(fs *flag.FlagSet, cmd string) {
	c.flags(fs)
	fs.BoolVar(&c.json, "json", false, "print events as JSON objects, one per line (listen, and join without a terminal)")
	if cmd == "join" {
		fs.StringVar(&c.logDir, "log", "", "append every line shown to `DIR`/ROOM.log (plain text with times; "+
			"the directory is created 0700, the files 0600)")
	}
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
// "lobby" on the server (--server, else 127.0.0.1:5060), with
// --transport tls "sips:lobby@…" (default server 127.0.0.1:5061). With
// --transport ws the server is the HTTPS address (host:port, default
// 127.0.0.1:8443, or a wss: URL) and "lobby" is "sip:lobby@<its host>":
// the HTTPS port is no SIP port.
func (c *common) roomURI(arg string) (room, server string, err error) {
	if strings.EqualFold(c.transport, "ws") {
		return c.wsRoomURI(arg)
	}
	scheme, defServer, defPort := "sip:", defaultServer, "5060"
	if strings.EqualFold(c.transport, "tls") {
		scheme, defServer, defPort = "sips:", defaultTLSServer, "5061"
	}
	server = c.server
	if server != "" {
		if h, p, err := net.SplitHostPort(server); err != nil || h == "" || p == "" {
			return "", "", fmt.Errorf("--server %q: want host:port, e.g. %s", server, defaultServer)
		}
	}
	if err := checkRoomArg(arg); err != nil {
		return "", "", err
	}
	if strings.HasPrefix(arg, "sip:") || strings.HasPrefix(arg, "sips:") {
		return arg, server, nil
	}
	if server == "" {
		server = defServer
	}
	host, port, _ := net.SplitHostPort(server)
	if port == defPort {
		return scheme + arg + "@" + hostForURI(host), server, nil
	}
	return scheme + arg + "@" + net.JoinHostPort(host, port), server, nil
}

// wsRoomURI is roomURI over ws.
func (c *common) wsRoomURI(arg string) (room, server string, err error) {
	server = c.server
	host := ""
	if server != "" {
		u, err := wsURL(server)
		if err != nil {
			return "", "", err
		}
		host = u.Hostname()
	}
	if err := checkRoomArg(arg); err != nil {
		return "", "", err
	}
	if strings.HasPrefix(arg, "sip:") || strings.HasPrefix(arg, "sips:") {
		return arg, server, nil
	}
	if server == "" {
		server, host = defaultWSServer, "127.0.0.1"
	}
	return "sip:" + arg + "@" + hostForURI(host), server, nil
}

// wsURL is the WebSocket URL --server names over ws: a wss: URL as it is,
// host:port as wss://host:port/.
func wsURL(server string) (*url.URL, error) {
	if len(server) >= 6 && strings.EqualFold(server[:6], "wss://") {
		u, err := url.Parse(server)
		if err != nil || u.Hostname() == "" {
			return nil, fmt.Errorf("--server %q: want host:port or wss://host[:port][/path], e.g. %s", server, defaultWSServer)
		}
		return u, nil
	}
	if h, p, err := net.SplitHostPort(server); err != nil || h == "" || p == "" {
		return nil, fmt.Errorf("--server %q: want host:port or wss://host[:port][/path], e.g. %s", server, defaultWSServer)
	}
	return &url.URL{Scheme: "wss", Host: server, Path: "/"}, nil
}

// checkRoomArg refuses an empty ROOM and one that is neither a sip: or
// sips: URI nor a plain room name.
func checkRoomArg(arg string) error {
	switch {
	case arg == "":
		return errors.New("no room given (e.g. sip:lobby@127.0.0.1, or just lobby)")
	case strings.HasPrefix(arg, "sip:"), strings.HasPrefix(arg, "sips:"):
		return nil
	case strings.ContainsAny(arg, ":@ <>\"") || strings.IndexFunc(arg, unicode.IsControl) >= 0:
		return fmt.Errorf("room %q: give a sip: URI (sip:lobby@127.0.0.1) or a plain room name", arg)
	}
	return nil
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
		Reconnect: reconnectPolicy,
	}
	o.Reconnect.Enabled = !c.noReconnect
	if err := c.tlsOptions(&o, room, stderr); err != nil {
		return o, err
	}
	if o.Transport == "ws" {
		// --server is the HTTPS address: the WebSocket URL (default: the
		// room URI's host, port 8443).
		o.Server = ""
		if c.server != "" {
			u, err := wsURL(c.server)
			if err != nil {
				return o, err
			}
			o.WebSocketURL = u.String()
		}
	}
	name := c.nick
	if name == "" {
		name = userName()
	}
	o.DisplayName = name
	o.From = c.from
	if c.account != "" {
		if o.From == "" {
			o.From = "sip:" + c.account + "@" + uriHost(room)
		}
		p, err := c.password()
		if err != nil {
			return o, err
		}
		o.Password = p
	}
	if o.From == "" {
		o.From = "sip:" + uriUser(name) + "-" + randomTag() + "@" + uriHost(room)
	}
	if c.verbose {
		w := stderr
		if c.vlog != nil {
			w = c.vlog // a file while the terminal UI has the screen
		}
		o.Logger = verboseLogger(w)
	}
	return o, nil
}

// tlsOptions checks --transport against room and, over TLS and ws, sets
// o.TLS from --ca and --insecure (the latter printing its warning on
// stderr).
func (c *common) tlsOptions(o *client.Options, room string, stderr io.Writer) error {
	var u sip.Uri
	_ = sip.ParseUri(room, &u) // Join reports a bad room URI
	sips := strings.EqualFold(u.Scheme, "sips")
	t := strings.ToLower(c.transport)
	switch t {
	case "":
		switch p, _ := u.UriParams.Get("transport"); {
		case strings.EqualFold(p, "ws"):
			t = "ws"
		case sips || strings.EqualFold(p, "tls"):
			t = "tls"
		}
	case "udp", "tcp":
		if sips {
			return fmt.Errorf("--transport %s cannot join %s: a sips: room is reached over TLS only (--transport tls or ws)", t, room)
		}
	case "tls", "ws":
	default:
		return fmt.Errorf("--transport %q: want udp, tcp, tls or ws", c.transport)
	}
	if t != "tls" && t != "ws" {
		if c.ca != "" || c.insecure {
			return errors.New("--ca and --insecure are for TLS: use --transport tls or ws, or a sips: room")
		}
		return nil
	}
	if c.ca != "" && c.insecure {
		return errors.New("--ca and --insecure contradict each other: --ca verifies the server, --insecure does not")
	}
	o.Transport = t
	o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	if c.ca != "" {
		pem, err := os.ReadFile(c.ca)
		if err != nil {
			return fmt.Errorf("--ca: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--ca %s: no PEM certificate in it", c.ca)
		}
		o.TLS.RootCAs = roots
	}
	if c.insecure {
		o.TLS.InsecureSkipVerify = true
		fmt.Fprint(stderr, insecureWarning)
	}
	return nil
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

// password is the account's password: the first line of --password-file,
// else $PARLEY_PASSWORD (never a flag: the command line is visible to
// everyone on the machine).
func (c *common) password() (string, error) {
	if c.passwordFile != "" {
		b, err := os.ReadFile(c.passwordFile)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if line = strings.TrimRight(line, "\r"); line != "" {
			return line, nil
		}
		return "", fmt.Errorf("--password-file %s: the first line is empty", c.passwordFile)
	}
	if p := os.Getenv("PARLEY_PASSWORD"); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("--account %s: no password: put it in $PARLEY_PASSWORD or a --password-file", c.account)
}
