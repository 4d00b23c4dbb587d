package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/servertest"
)

// userCmd runs parleyd user args with stdin, and returns its exit status
// and output.
func userCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runUser(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestUserCommands: parleyd user add, list, passwd and del on a data
// directory's store; the password is kept only as digest hashes for the
// realm server.host.
func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	flags := []string{"-data-dir", dir, "-host", "chat.example"}
	if code, _, stderr := userCmd(t, "wonderland\n", append([]string{"add", "alice"}, flags...)...); code != 0 {
		t.Fatalf("user add: %d: %s", code, stderr)
	}
	if code, _, stderr := userCmd(t, "x\n", append([]string{"add", "alice"}, flags...)...); code == 0 || !strings.Contains(stderr, "exists") {
		t.Fatalf("user add twice: %d %q, want a failure saying it exists", code, stderr)
	}
	if code, _, stderr := userCmd(t, "\n", append([]string{"add", "bob"}, flags...)...); code == 0 || !strings.Contains(stderr, "empty password") {
		t.Fatalf("empty password: %d %q", code, stderr)
	}
	code, out, stderr := userCmd(t, "", append([]string{"list"}, flags...)...)
	if code != 0 || !strings.Contains(out, "sip:alice@chat.example") || strings.Contains(out, "bob") {
		t.Fatalf("user list: %d %q %q", code, out, stderr)
	}
	check := func(password string) {
		t.Helper()
		cfg := config.Default()
		cfg.Server.DataDir, cfg.Server.Host = dir, "chat.example"
		st, err := server.OpenStore(context.Background(), cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close(context.Background())
		a, ok := st.Account("alice")
		if !ok {
			t.Fatal("no account alice in the store")
		}
		if a.Realm != "chat.example" || a.HA1[auth.SHA256] != auth.HA1(auth.SHA256, "alice", "chat.example", password) ||
			a.HA1[auth.MD5] != auth.HA1(auth.MD5, "alice", "chat.example", password) {
			t.Fatalf("account %+v: want the hashes of %q for realm chat.example", a, password)
		}
	}
	check("wonderland")
	if code, _, stderr := userCmd(t, "looking-glass\n", append([]string{"passwd", "alice"}, flags...)...); code != 0 {
		t.Fatalf("user passwd: %d: %s", code, stderr)
	}
	check("looking-glass")
	if code, _, stderr := userCmd(t, "", append([]string{"del", "alice"}, flags...)...); code != 0 {
		t.Fatalf("user del: %d: %s", code, stderr)
	}
	if code, out, _ := userCmd(t, "", append([]string{"list"}, flags...)...); code != 0 || strings.Contains(out, "alice") {
		t.Fatalf("user list after del: %d %q", code, out)
	}
	if code, _, _ := userCmd(t, "", append([]string{"del", "alice"}, flags...)...); code == 0 {
		t.Fatal("deleting a deleted account succeeded")
	}
	if code, _, _ := userCmd(t, "", "frobnicate"); code != 2 {
		t.Fatalf("unknown command: exit %d, want 2", code)
	}
}

// TestNickCommands: parleyd nick register, list and drop; a look-alike of
// a registered nickname is the same registration; a nickname cannot be
// registered to no account.
func TestNickCommands(t *testing.T) {
	dir := t.TempDir()
	flags := []string{"-data-dir", dir, "-host", "chat.example"}
	if code, _, stderr := userCmd(t, "wonderland\n", append([]string{"add", "alice"}, flags...)...); code != 0 {
		t.Fatalf("user add: %d: %s", code, stderr)
	}
	nick := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := runNick(append(args, flags...), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	if code, _, stderr := nick("register", "Alice", "alice"); code != 0 {
		t.Fatalf("nick register: %d: %s", code, stderr)
	}
	if code, _, stderr := nick("register", "\u0430lice", "alice"); code == 0 || !strings.Contains(stderr, "exists") {
		t.Fatalf("registering a look-alike: %d %q, want a failure saying it exists", code, stderr)
	}
	if code, _, stderr := nick("register", "bob", "nobody"); code == 0 || !strings.Contains(stderr, "no account") {
		t.Fatalf("registering to no account: %d %q", code, stderr)
	}
	if code, out, _ := nick("list"); code != 0 || !strings.Contains(out, "Alice") || !strings.Contains(out, "alice") {
		t.Fatalf("nick list: %d %q", code, out)
	}
	if code, _, stderr := nick("drop", "ALICE"); code != 0 {
		t.Fatalf("nick drop: %d: %s", code, stderr)
	}
	if code, out, _ := nick("list"); code != 0 || strings.Contains(out, "Alice") {
		t.Fatalf("nick list after drop: %d %q", code, out)
	}
}

// TestUserWhileRunning: with a parleyd running on the embedded store (its
// data directory locked), parleyd user and parleyd nick reach it through
// its control socket; the running server has the account at once.
func TestUserWhileRunning(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.SIP.UDP, cfg.SIP.TCP, cfg.MSRP.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.SIP.TLS, cfg.MSRP.TLSListen, cfg.HTTPS.Listen = "", "", ""
	cfg.Server.DataDir = dir
	srv, err := server.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	flags := []string{"-data-dir", dir}
	if code, out, stderr := userCmd(t, "wonderland\n", append([]string{"add", "alice"}, flags...)...); code != 0 {
		t.Fatalf("user add while running: %d: %s %s", code, out, stderr)
	}
	if code, _, stderr := userCmd(t, "x\n", append([]string{"add", "alice"}, flags...)...); code == 0 || !strings.Contains(stderr, "exists") {
		t.Fatalf("user add twice while running: %d %q", code, stderr)
	}
	// The running focus knows alice now: her URI without credentials is
	// challenged.
	p, err := servertest.DialSIP("TCP", srv.Addrs().SIPTCP)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	room := "sip:lobby@" + srv.Addrs().SIPTCP
	inv := servertest.WithFrom(p.Build(servertest.Req{Method: "INVITE", URI: room, Body: servertest.Offer(9, servertest.RandomToken())}), "<sip:alice@127.0.0.1>")
	res, err := p.Exchange(inv, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := servertest.Status(res); code != 401 {
		t.Fatalf("INVITE from alice's URI after user add: %d, want 401", code)
	}
	if code, _, stderr := userCmd(t, "looking-glass\n", append([]string{"passwd", "alice"}, flags...)...); code != 0 {
		t.Fatalf("user passwd while running: %d: %s", code, stderr)
	}
	// Run without the server's -host, the hashes would be for another
	// realm and never match: refused, saying how to fix it.
	if code, _, stderr := userCmd(t, "x\n", "add", "bob", "-data-dir", dir, "-host", "elsewhere.example"); code == 0 || !strings.Contains(stderr, "-host 127.0.0.1") {
		t.Fatalf("user add for another realm while running: %d %q", code, stderr)
	}
	var out, errOut bytes.Buffer
	if code := runNick(append([]string{"register", "Alice", "alice"}, flags...), &out, &errOut); code != 0 {
		t.Fatalf("nick register while running: %d: %s", code, errOut.String())
	}
	code, list, _ := userCmd(t, "", append([]string{"list"}, flags...)...)
	if code != 0 || !strings.Contains(list, "sip:alice@127.0.0.1") {
		t.Fatalf("user list while running: %d %q", code, list)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// Stopped: the commands open the store themselves, and find it all.
	code, list, _ = userCmd(t, "", append([]string{"list"}, flags...)...)
	if code != 0 || !strings.Contains(list, "alice") {
		t.Fatalf("user list after the server stopped: %d %q", code, list)
	}
	out.Reset()
	if code := runNick(append([]string{"list"}, flags...), &out, &errOut); code != 0 || !strings.Contains(out.String(), "Alice") {
		t.Fatalf("nick list after the server stopped: %d %q", code, out.String())
	}
}
