package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/store/storetest"
	"github.com/parley-im/parley/internal/testserver"
)

// TestAccountFlags: parley join --account alice proves alice's password
// (from $PARLEY_PASSWORD or --password-file) and registers her nickname
// with /nick register; a guest's /nick register is refused, and so is an
// account without its password.
func TestAccountFlags(t *testing.T) {
	dir := t.TempDir()
	cfg := testserver.Config()
	cfg.Store.Mode, cfg.Server.DataDir = config.StoreFile, dir
	storetest.SeedAccount(t, dir, "alice", cfg.Server.Host, "wonderland")
	srv := testserver.Start(t, cfg)
	addr := srv.Addrs().SIPTCP

	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("wonderland\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := start(t, strings.NewReader("/nick register\nhello\n"), "join", "lobby", "--server", addr, "--account", "alice", "--password-file", pw, "--nick", "alice")
	if code := a.exit(t); code != 0 {
		t.Fatalf("join --account alice exited %d:\n%s\n%s", code, a.out, a.err)
	}
	if out := a.out.String(); !strings.Contains(out, "the nickname alice is yours now") {
		t.Errorf("join's output lacks the registration:\n%s", out)
	}

	g := start(t, strings.NewReader("/nick register\n"), "join", "lobby", "--server", addr, "--nick", "carol")
	if code := g.exit(t); code != 1 || !strings.Contains(g.out.String(), "only an account can register a nickname") {
		t.Errorf("a guest's /nick register: exit %d:\n%s", code, g.out)
	}
	h := start(t, strings.NewReader(""), "join", "lobby", "--server", addr, "--nick", "alice")
	if code := h.exit(t); !strings.Contains(h.out.String(), `nickname "alice" is taken`) || strings.Contains(h.out.String(), "as alice;") {
		t.Errorf("a guest asking for alice's registered nickname: exit %d:\n%s", code, h.out)
	}

	t.Setenv("PARLEY_PASSWORD", "")
	n := start(t, nil, "send", "lobby", "hi", "--server", addr, "--account", "alice")
	if code := n.exit(t); code != 2 && code != 1 || !strings.Contains(n.err.String(), "no password") {
		t.Errorf("--account without a password: exit %d, stderr %q", code, n.err)
	}
	t.Setenv("PARLEY_PASSWORD", "wrong")
	w := start(t, nil, "send", "lobby", "hi", "--server", addr, "--account", "alice")
	if code := w.exit(t); code != 1 {
		t.Errorf("--account with a wrong password: exit %d, stderr %q", code, w.err)
	}
}
