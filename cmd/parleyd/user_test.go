package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
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
