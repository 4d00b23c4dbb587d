package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
)

// restartable is parleyd keeping history on disk, stopped and started
// again on the same ports and data directory.
type restartable struct {
	t     *testing.T
	dir   string
	srv   *server.Server
	addrs server.Addrs
}

func (r *restartable) start() {
	r.t.Helper()
	cfg := config.Default()
	cfg.SIP.UDP, cfg.SIP.TCP, cfg.MSRP.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if r.addrs.SIPTCP != "" {
		cfg.SIP.UDP, cfg.SIP.TCP, cfg.MSRP.Listen = r.addrs.SIPUDP, r.addrs.SIPTCP, r.addrs.MSRP
	}
	cfg.SIP.TLS, cfg.MSRP.TLSListen, cfg.HTTPS.Listen = "", "", ""
	cfg.Store.Mode, cfg.Server.DataDir = config.StoreFile, r.dir
	cfg.SIP.NotifyInterval = config.Duration(100 * time.Millisecond)
	var err error
	for range 50 { // a port just released may be briefly unavailable
		if r.srv, err = server.New(cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "in use") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	r.srv.Start()
	r.addrs = r.srv.Addrs()
}

func (r *restartable) stop() {
	if r.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.srv.Shutdown(ctx)
	r.srv = nil
}

// door forwards TCP connections from its own port to target while open:
// parley's way to the server's SIP port, which the test can shut so that
// parley's attempts to rejoin fail (connection refused) until it opens
// the door again. Shutting it leaves the connections through it as they
// are.
type door struct {
	t      *testing.T
	addr   string
	target string
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func (d *door) open() {
	d.t.Helper()
	addr := d.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var err error
	for range 50 {
		if d.ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		d.t.Fatal(err)
	}
	d.addr = d.ln.Addr().String()
	ln := d.ln
	d.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", d.target)
			if err != nil {
				c.Close()
				continue
			}
			d.mu.Lock()
			d.conns = append(d.conns, c, up)
			d.mu.Unlock()
			d.wg.Go(func() { io.Copy(up, c); up.Close() })
			d.wg.Go(func() { io.Copy(c, up); c.Close() })
		}
	})
}

// shut stops taking connections.
func (d *door) shut() { d.ln.Close() }

// close shuts the door and closes every connection through it.
func (d *door) close() {
	d.ln.Close()
	d.mu.Lock()
	for _, c := range d.conns {
		c.Close()
	}
	d.conns = nil
	d.mu.Unlock()
	d.wg.Wait()
}

// parley join and listen come back by themselves after a server restart:
// "reconnecting" (JSON: type reconnecting, with the attempt and the
// wait), then what was said while they were away as history (JSON: type
// history; text: between dividers), then live messages again.
func TestReconnectAfterRestart(t *testing.T) {
	saved := reconnectPolicy
	reconnectPolicy = client.Reconnect{Delay: 50 * time.Millisecond, MaxDelay: 200 * time.Millisecond, MaxAttempts: -1}
	t.Cleanup(func() { reconnectPolicy = saved })

	r := &restartable{t: t, dir: t.TempDir()}
	r.start()
	t.Cleanup(r.stop)
	d := &door{t: t, target: r.addrs.SIPTCP}
	d.open()
	t.Cleanup(func() { d.close() })

	lis := start(t, nil, "listen", "lobby", "--json", "--server", d.addr, "--from", "sip:listener@127.0.0.1", "--nick", "ears")
	lis.await(t, "its nickname", func(e Event) bool { return e.Type == evInfo && e.Nickname == "ears" })
	in, feed := io.Pipe() // join's stdin, open until the end
	t.Cleanup(func() { feed.Close() })
	joiner := start(t, in, "join", "lobby", "--server", d.addr, "--nick", "bob")
	awaitText(t, joiner, "joined sip:lobby@")

	d.shut() // parley's way back stays shut until the missed messages are sent
	r.stop()
	rc := lis.await(t, "reconnecting", func(e Event) bool { return e.Type == evReconnecting })
	if rc.Attempt != 1 || rc.Text != "the server is shutting down" {
		t.Errorf("reconnecting event %+v", rc)
	}
	lis.await(t, "a second attempt", func(e Event) bool { return e.Type == evReconnecting && e.Attempt == 2 && e.DelayMS > 0 })
	r.start()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	carol, err := client.Join(ctx, "sip:lobby@"+r.addrs.SIPTCP, client.Options{From: "sip:carol@127.0.0.1", DisplayName: "carol", NoRoster: true})
	if err != nil {
		t.Fatal(err)
	}
	defer carol.Leave(ctx)
	for _, text := range []string{"missed one", "missed two"} {
		if err := carol.Send(ctx, text); err != nil {
			t.Fatal(err)
		}
	}
	d.open()

	lis.await(t, "back", func(e Event) bool { return e.Type == evReconnected })
	h := lis.await(t, "the missed messages", func(e Event) bool { return e.Type == evHistory && e.Text == "missed two" })
	if !named(h.Name, "carol") || h.From != "sip:carol@127.0.0.1" || time.Since(h.Time) > 10*time.Second {
		t.Errorf("history event %+v", h)
	}
	awaitText(t, joiner, "== back in the room")
	lis.await(t, "its nickname again", func(e Event) bool {
		for _, m := range e.Members {
			if e.Type == evRoster && m.URI == "sip:listener@127.0.0.1" && m.Nickname == "ears" {
				return true
			}
		}
		return false
	})
	if err := carol.Send(ctx, "live again"); err != nil {
		t.Fatal(err)
	}
	lis.await(t, "a live message", func(e Event) bool { return e.Type == evMessage && e.Text == "live again" })
	for _, e := range lis.events(t) {
		if e.Type == evError || e.Type == evEnded || (e.Type == evMessage && strings.HasPrefix(e.Text, "missed")) {
			t.Errorf("listen printed %+v", e)
		}
	}

	// join, as text: the reconnection, then the history between dividers.
	// carol is "~carol (guest)" once the rejoined room's roster has come,
	// "~carol" if the live message overtakes it (it may: the roster is
	// the event package's, the message the switch's).
	out := awaitText(t, joiner, "> live again")
	if !inOrder(out, "== reconnecting in", "(attempt 1): the server is shutting down", historyStart, "<~carol> missed one", "<~carol> missed two",
		historyEnd, "<~carol", "> live again") || !strings.Contains(out, "== back in the room") {
		t.Errorf("join's output:\n%s", out)
	}
	lis.cancel()
	if code := lis.exit(t); code != 0 {
		t.Errorf("listen exited %d", code)
	}
}

// inOrder reports whether s contains each of want, in this order.
func inOrder(s string, want ...string) bool {
	for _, w := range want {
		i := strings.Index(s, w)
		if i < 0 {
			return false
		}
		s = s[i+len(w):]
	}
	return true
}

// awaitText waits until c has printed text, and returns its output.
func awaitText(t *testing.T, c *cli, text string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := c.out.String()
		if strings.Contains(out, text) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("never printed %q:\n%s\nstderr:\n%s", text, out, c.err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
