package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/internal/certs"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/testserver"
)

// syncBuf is a bytes.Buffer safe for a writer and a reader at once.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs parleyd in-process on loopback, its roster NOTIFYs
// every 100 ms instead of 5 s so that tests need not wait.
func startServer(t *testing.T) *server.Server {
	t.Helper()
	cfg := testserver.Config()
	cfg.SIP.NotifyInterval = config.Duration(100 * time.Millisecond)
	srv := testserver.Start(t, cfg)
	return srv
}

// cli runs one parley command in-process.
type cli struct {
	out, err *syncBuf
	code     chan int
	cancel   context.CancelFunc
}

func start(t *testing.T, stdin io.Reader, args ...string) *cli {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &cli{out: &syncBuf{}, err: &syncBuf{}, code: make(chan int, 1), cancel: cancel}
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	go func() { c.code <- run(ctx, args, stdio{in: stdin, out: c.out, err: c.err}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-c.code:
		case <-time.After(15 * time.Second):
			t.Errorf("parley %q did not end", args)
		}
	})
	return c
}

// exit waits for the command's exit status.
func (c *cli) exit(t *testing.T) int {
	t.Helper()
	select {
	case code := <-c.code:
		c.code <- code // for the cleanup
		return code
	case <-time.After(15 * time.Second):
		t.Fatalf("no exit; stdout:\n%s\nstderr:\n%s", c.out, c.err)
	}
	return -1
}

// events parses the JSON lines printed so far.
func (c *cli) events(t *testing.T) []Event {
	t.Helper()
	var evs []Event
	for _, line := range strings.Split(strings.TrimSpace(c.out.String()), "\n") {
		if line == "" {
			continue
		}
		var e Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON object: %q: %v", line, err)
		}
		evs = append(evs, e)
	}
	return evs
}

// await waits until an event matching match has been printed.
func (c *cli) await(t *testing.T, what string, match func(Event) bool) Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, e := range c.events(t) {
			if match(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("never printed %s; stdout:\n%s\nstderr:\n%s", what, c.out, c.err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// `parley listen --json` prints every kind of event: regular, private,
// action and typing messages, and the roster's joins, nickname changes
// and leaves; `parley send` and `parley join` with lines on stdin produce
// them.
func TestListenJSON(t *testing.T) {
	srv := startServer(t)
	addr := srv.Addrs().SIPTCP
	room := "sip:lobby@" + addr
	lis := start(t, nil, "listen", "lobby", "--json", "--server", addr, "--from", "sip:listener@127.0.0.1", "--nick", "ears")
	lis.await(t, "the start", func(e Event) bool { return e.Type == evInfo && e.Text == "listening to "+room })
	lis.await(t, "its own nickname", func(e Event) bool { return e.Type == evInfo && e.Nickname == "ears" })

	// send: join, say, leave.
	snd := start(t, nil, "send", room, "hello", "listeners", "--nick", "alice", "--server", addr)
	if code := snd.exit(t); code != 0 {
		t.Fatalf("send exited %d: %s", code, snd.err)
	}
	m := lis.await(t, "alice's message", func(e Event) bool { return e.Type == evMessage && e.Text == "hello listeners" })
	if !named(m.Name, "alice") || !strings.HasPrefix(m.From, "sip:alice-") {
		t.Errorf("message %+v", m)
	}

	// A library participant: roster join, nickname change, typing,
	// private message, leave.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bob, err := client.Join(ctx, room, client.Options{From: "sip:bob@127.0.0.1", DisplayName: "Bob B", NoRoster: true})
	if err != nil {
		t.Fatal(err)
	}
	lis.await(t, "bob's join", func(e Event) bool {
		return e.Type == evJoin && e.From == "sip:bob@127.0.0.1" && e.Name == "~bob (guest)"
	})
	if err := bob.SetNickname(ctx, "bobby"); err != nil {
		t.Fatal(err)
	}
	ch := lis.await(t, "bob's nickname", func(e Event) bool { return e.Type == evChange && e.From == "sip:bob@127.0.0.1" })
	if ch.Name != "bobby (guest)" || ch.Nickname != "bobby" || ch.OldName != "~bob (guest)" {
		t.Errorf("change %+v", ch)
	}
	if err := bob.SendComposing(ctx, "", true); err != nil {
		t.Fatal(err)
	}
	ty := lis.await(t, "bob typing", func(e Event) bool { return e.Type == evTyping && e.State == "active" })
	if ty.From != "sip:bob@127.0.0.1" || ty.Name != "bobby (guest)" || len(ty.To) != 0 {
		t.Errorf("typing %+v", ty)
	}
	if err := bob.SendComposing(ctx, "sip:listener@127.0.0.1", false); err != nil {
		t.Fatal(err)
	}
	ty = lis.await(t, "bob idle, privately", func(e Event) bool { return e.Type == evTyping && e.State == "idle" })
	if len(ty.To) != 1 || ty.To[0] != "sip:listener@127.0.0.1" {
		t.Errorf("private typing %+v", ty)
	}
	if err := bob.SendPrivate(ctx, "sip:listener@127.0.0.1", "for your ears only"); err != nil {
		t.Fatal(err)
	}
	p := lis.await(t, "a private message", func(e Event) bool { return e.Type == evPrivate })
	if p.Text != "for your ears only" || p.Name != "bobby (guest)" || len(p.To) != 1 || p.To[0] != "sip:listener@127.0.0.1" {
		t.Errorf("private %+v", p)
	}

	// join, reading lines: a line, an action, a private message by
	// nickname, a refused nickname.
	lines := "hi from carol\n/me dances\n/msg ears psst\n/nick bobby\n"
	car := start(t, strings.NewReader(lines), "join", "lobby", "--nick", "carol", "--server", addr)
	lis.await(t, "carol's line", func(e Event) bool { return e.Type == evMessage && named(e.Name, "carol") && e.Text == "hi from carol" })
	lis.await(t, "carol's action", func(e Event) bool { return e.Type == evMessage && e.Action && e.Text == "dances" })
	lis.await(t, "carol's private message", func(e Event) bool { return e.Type == evPrivate && named(e.Name, "carol") && e.Text == "psst" })
	if code := car.exit(t); code != 1 {
		t.Errorf("join with a refused /nick exited %d, want 1", code)
	}
	out := car.out.String()
	for _, want := range []string{"you are now known as carol", "joined " + room + " as carol", `!! nickname "bobby" is taken`} {
		if !strings.Contains(out, want) {
			t.Errorf("join's output lacks %q:\n%s", want, out)
		}
	}
	// (carol's join and leave may fall within one NOTIFY interval: the
	// roster need not show her at all.)

	if err := bob.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	lis.await(t, "bob's leave", func(e Event) bool { return e.Type == evLeave && e.From == "sip:bob@127.0.0.1" })
	lis.cancel()
	if code := lis.exit(t); code != 0 {
		t.Errorf("listen exited %d after an interrupt", code)
	}
	for _, e := range lis.events(t) {
		if e.Type == evError || e.Type == evEnded {
			t.Errorf("listen printed %+v", e)
		}
	}
}

// Mistakes get words and exit statuses: a room nobody serves, bad usage.
func TestCLIErrors(t *testing.T) {
	c := start(t, nil, "send", "lobby", "hi", "--server", "127.0.0.1:1")
	if code := c.exit(t); code != 1 || !strings.Contains(c.err.String(), "is parleyd running?") {
		t.Errorf("send to nothing: exit %d, stderr %q", code, c.err)
	}
	for _, args := range [][]string{{}, {"frob"}, {"join"}, {"send", "lobby"}, {"join", "a", "b"}, {"listen", "--bogus", "x"}} {
		c := start(t, nil, args...)
		if code := c.exit(t); code != 2 || c.err.String() == "" {
			t.Errorf("parley %q: exit %d, stderr %q", args, code, c.err)
		}
	}
	srv := startServer(t)
	c = start(t, nil, "join", "sip:lobby@"+srv.Addrs().SIPTCP, "--transport", "sctp")
	if code := c.exit(t); code != 1 || !strings.Contains(c.err.String(), "want udp, tcp, tls or ws") {
		t.Errorf("bad transport: exit %d, stderr %q", code, c.err)
	}
}

// startTLSServer is startServer with SIP and MSRP over TLS, its
// self-signed certificate in a temporary data directory; it returns that
// certificate's file, what parley --ca takes.
func startTLSServer(t *testing.T) (*server.Server, string) {
	t.Helper()
	return startSecureServer(t, "")
}

// startWSServer is startTLSServer with the HTTPS port on too: SIP and MSRP
// over secure WebSockets.
func startWSServer(t *testing.T) (*server.Server, string) {
	t.Helper()
	return startSecureServer(t, "127.0.0.1:0")
}

func startSecureServer(t *testing.T, https string) (*server.Server, string) {
	t.Helper()
	cfg := config.Default()
	cfg.SIP.UDP, cfg.SIP.TCP, cfg.MSRP.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.SIP.TLS, cfg.MSRP.TLSListen, cfg.HTTPS.Listen = "127.0.0.1:0", "127.0.0.1:0", https
	cfg.Server.DataDir = t.TempDir()
	cfg.SIP.NotifyInterval = config.Duration(100 * time.Millisecond)
	srv, err := server.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv, filepath.Join(cfg.Server.DataDir, certs.SelfSignedCert)
}

// parley over TLS: a listener on a sips: room trusting the server's
// self-signed certificate with --ca sees a sender over TLS (a room name
// with --transport tls) and one over TCP, and gets its roster; without --ca the
// join fails naming the certificate problem and how to trust it;
// --insecure joins and warns.
func TestCLITLS(t *testing.T) {
	srv, ca := startTLSServer(t)
	tlsAddr := srv.Addrs().SIPTLS
	room := "sips:lobby@" + tlsAddr
	lis := start(t, nil, "listen", room, "--json", "--ca", ca, "--from", "sip:listener@127.0.0.1", "--nick", "ears")
	lis.await(t, "the start", func(e Event) bool { return e.Type == evInfo && e.Text == "listening to "+room })
	lis.await(t, "its own nickname", func(e Event) bool { return e.Type == evInfo && e.Nickname == "ears" })
	// The roster: its SUBSCRIBE and NOTIFYs over the listener's TLS connection.
	// The nickname is in the first document when the NICKNAME was granted
	// before it, else a change follows.
	nicked := false
	lis.await(t, "the roster", func(e Event) bool {
		if e.Type == evRoster && len(e.Members) == 1 && e.Members[0].URI == "sip:listener@127.0.0.1" {
			nicked = e.Members[0].Nickname == "ears"
			return true
		}
		return false
	})
	if !nicked {
		lis.await(t, "its nickname in the roster", func(e Event) bool { return e.Type == evChange && e.Nickname == "ears" })
	}

	snd := start(t, nil, "send", "lobby", "hello", "over", "TLS", "--transport", "tls", "--server", tlsAddr, "--ca", ca, "--nick", "alice")
	if code := snd.exit(t); code != 0 {
		t.Fatalf("send over TLS exited %d: %s", code, snd.err)
	}
	lis.await(t, "alice's message", func(e Event) bool { return e.Type == evMessage && named(e.Name, "alice") && e.Text == "hello over TLS" })

	tcp := start(t, nil, "send", "sip:lobby@"+srv.Addrs().SIPTCP, "hello", "over", "TCP", "--nick", "bob")
	if code := tcp.exit(t); code != 0 {
		t.Fatalf("send over TCP exited %d: %s", code, tcp.err)
	}
	lis.await(t, "bob's message", func(e Event) bool { return e.Type == evMessage && named(e.Name, "bob") && e.Text == "hello over TCP" })

	bad := start(t, nil, "send", room, "hi")
	if code := bad.exit(t); code != 1 {
		t.Errorf("send without --ca exited %d", code)
	}
	for _, w := range []string{"certificate does not verify", "x509: certificate signed by unknown authority", "--ca FILE", "--insecure"} {
		if !strings.Contains(bad.err.String(), w) {
			t.Errorf("without --ca, stderr lacks %q:\n%s", w, bad.err)
		}
	}

	ins := start(t, nil, "send", room, "insecurely", "--insecure", "--nick", "carol")
	if code := ins.exit(t); code != 0 {
		t.Fatalf("send --insecure exited %d: %s", code, ins.err)
	}
	if !strings.Contains(ins.err.String(), "WARNING") || !strings.Contains(ins.err.String(), "encrypted, but the server is not authenticated") {
		t.Errorf("--insecure printed no warning: %q", ins.err)
	}
	lis.await(t, "carol's message", func(e Event) bool { return e.Type == evMessage && named(e.Name, "carol") && e.Text == "insecurely" })
	lis.cancel()
	if code := lis.exit(t); code != 0 {
		t.Errorf("listen exited %d: %s", code, lis.err)
	}
}

// parley over secure WebSockets (--transport ws): a listener on a room
// name at the server's HTTPS port (--server host:port), trusting its
// self-signed certificate with --ca, gets its roster and sees a sender
// over WebSockets (--server a wss: URL with the path /ws) and one over
// TCP, with messages larger than a WebSocket chunk both ways; without
// --ca the join fails naming the certificate problem and how to trust
// it; --insecure joins and warns; a port where nothing listens gets a
// hint about the HTTPS port.
func TestCLIWS(t *testing.T) {
	srv, ca := startWSServer(t)
	https := srv.Addrs().HTTPS
	room := "sip:lobby@127.0.0.1"
	lis := start(t, nil, "listen", "lobby", "--transport", "ws", "--server", https, "--json", "--ca", ca, "--from", "sip:listener@127.0.0.1", "--nick", "ears")
	lis.await(t, "the start", func(e Event) bool { return e.Type == evInfo && e.Text == "listening to "+room })
	lis.await(t, "its own nickname", func(e Event) bool { return e.Type == evInfo && e.Nickname == "ears" })
	// The roster: its SUBSCRIBE and NOTIFYs over the listener's SIP WebSocket.
	lis.await(t, "the roster", func(e Event) bool {
		return e.Type == evRoster && len(e.Members) == 1 && e.Members[0].URI == "sip:listener@127.0.0.1"
	})

	big := strings.Repeat("0123456789", 500) // 5,000 octets: three chunks each way
	snd := start(t, nil, "send", "lobby", "hello over WebSocket "+big, "--transport", "ws", "--server", "wss://"+https+"/ws", "--ca", ca, "--nick", "alice")
	if code := snd.exit(t); code != 0 {
		t.Fatalf("send over WebSocket exited %d: %s", code, snd.err)
	}
	lis.await(t, "alice's message", func(e Event) bool {
		return e.Type == evMessage && named(e.Name, "alice") && e.Text == "hello over WebSocket "+big
	})

	tcp := start(t, nil, "send", "sip:lobby@"+srv.Addrs().SIPTCP, "hello over TCP "+big, "--nick", "bob")
	if code := tcp.exit(t); code != 0 {
		t.Fatalf("send over TCP exited %d: %s", code, tcp.err)
	}
	lis.await(t, "bob's message", func(e Event) bool {
		return e.Type == evMessage && named(e.Name, "bob") && e.Text == "hello over TCP "+big
	})

	bad := start(t, nil, "send", "lobby", "hi", "--transport", "ws", "--server", https)
	if code := bad.exit(t); code != 1 {
		t.Errorf("send without --ca exited %d", code)
	}
	for _, w := range []string{"certificate does not verify", "x509: certificate signed by unknown authority", "--ca FILE", "--insecure"} {
		if !strings.Contains(bad.err.String(), w) {
			t.Errorf("without --ca, stderr lacks %q:\n%s", w, bad.err)
		}
	}

	ins := start(t, nil, "send", room, "insecurely", "--transport", "ws", "--server", https, "--insecure", "--nick", "carol")
	if code := ins.exit(t); code != 0 {
		t.Fatalf("send --insecure exited %d: %s", code, ins.err)
	}
	if !strings.Contains(ins.err.String(), "WARNING") || !strings.Contains(ins.err.String(), "encrypted, but the server is not authenticated") {
		t.Errorf("--insecure printed no warning: %q", ins.err)
	}
	lis.await(t, "carol's message", func(e Event) bool { return e.Type == evMessage && named(e.Name, "carol") && e.Text == "insecurely" })

	none := start(t, nil, "send", "lobby", "hi", "--transport", "ws", "--server", "127.0.0.1:1", "--ca", ca)
	if code := none.exit(t); code != 1 || !strings.Contains(none.err.String(), "nothing answers at 127.0.0.1:1") || !strings.Contains(none.err.String(), "HTTPS port") {
		t.Errorf("send to nothing over ws: exit %d, stderr %q", code, none.err)
	}

	lis.cancel()
	if code := lis.exit(t); code != 0 {
		t.Errorf("listen exited %d: %s", code, lis.err)
	}
	for _, e := range lis.events(t) {
		if e.Type == evError || e.Type == evEnded {
			t.Errorf("listen printed %+v", e)
		}
	}
}

// named reports whether name is how parley shows a guest who asked for the
// nickname nick (issue 17): nick itself once the roster says the server
// granted it, else the user part of its URI ("~nick-XXXX", the default
// From's), marked "(guest)" once the roster says so — never a display
// name.
func named(name, nick string) bool {
	name = strings.TrimSuffix(name, " (guest)")
	if name == nick {
		return true
	}
	u, ok := strings.CutPrefix(name, "~")
	return ok && (u == nick || strings.HasPrefix(u, nick+"-"))
}

// parley -version prints one line naming the program, its version and Go's.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"-version", "--version", "version"} {
		c := start(t, nil, arg)
		if code := c.exit(t); code != 0 {
			t.Fatalf("%s: exit %d", arg, code)
		}
		out := c.out.String()
		if !strings.HasPrefix(out, "parley ") || !strings.Contains(out, runtime.Version()) || strings.Count(out, "\n") != 1 {
			t.Errorf("%s printed %q", arg, out)
		}
	}
}

// An empty or blank message is not sent: parley send refuses it before
// joining anything.
func TestSendEmpty(t *testing.T) {
	for _, text := range []string{"", "   ", "\t"} {
		c := start(t, nil, "send", "sip:lobby@127.0.0.1:1", text)
		if code := c.exit(t); code != 2 || !strings.Contains(c.err.String(), "what to say") {
			t.Errorf("send %q: exit %d, stderr %q", text, code, c.err.String())
		}
	}
}

// parley help COMMAND explains that command and its flags.
func TestHelpCommand(t *testing.T) {
	for cmd, want := range map[string]string{"join": "Usage: parley join ROOM", "send": "Usage: parley send ROOM TEXT", "listen": "Usage: parley listen ROOM"} {
		c := start(t, nil, "help", cmd)
		if code := c.exit(t); code != 0 || !strings.HasPrefix(c.out.String(), want) || !strings.Contains(c.out.String(), "-server") {
			t.Errorf("help %s: exit %d, %q", cmd, code, c.out.String())
		}
	}
	c := start(t, nil, "help", "dance")
	if code := c.exit(t); code != 2 || !strings.Contains(c.err.String(), `no command "dance"`) {
		t.Errorf("help dance: exit %d, %q", code, c.err.String())
	}
}

// -v logs to a file only where the chat's UI has the screen: join on a
// terminal, without --json.
func TestVerboseToFile(t *testing.T) {
	for _, c := range []struct {
		args     []string
		terminal bool
		want     bool
	}{
		{[]string{"join", "lobby", "-v"}, true, true},
		{[]string{"join", "lobby", "-v", "--json"}, true, false},
		{[]string{"join", "lobby", "-v"}, false, false},
		{[]string{"listen", "lobby", "-v"}, true, false},
		{[]string{"send", "lobby", "hi", "-v"}, true, false},
	} {
		if got := verboseToFile(c.args, c.terminal); got != c.want {
			t.Errorf("verboseToFile(%q, %v) = %v", c.args, c.terminal, got)
		}
	}
}

// parley send with a --nick someone holds still sends, under another name,
// and its advice is one the command line can follow (--nick, not /nick).
func TestSendNickTaken(t *testing.T) {
	srv := startServer(t)
	addr := srv.Addrs().SIPTCP
	room := "sip:lobby@" + addr
	lis := start(t, nil, "listen", "lobby", "--json", "--server", addr, "--nick", "alice")
	lis.await(t, "the listener's nickname", func(e Event) bool { return e.Type == evInfo && e.Nickname == "alice" })
	snd := start(t, nil, "send", room, "hi", "--nick", "alice", "--server", addr)
	if code := snd.exit(t); code != 0 {
		t.Fatalf("send exited %d: %s", code, snd.err)
	}
	if e := snd.err.String(); !strings.Contains(e, "choose another with --nick") || strings.Contains(e, "/nick") {
		t.Errorf("send's advice: %q", e)
	}
	lis.await(t, "the message", func(e Event) bool { return e.Type == evMessage && e.Text == "hi" })
}
