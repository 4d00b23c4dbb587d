package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func overlay(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(js))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// An overlay is laid over the file's [[room]] key by key, or makes a new
// one; the file's configuration is not changed.
func TestWithRoomOverlays(t *testing.T) {
	c, err := Parse("t.toml", []byte("[[room]]\nname = \"lobby\"\nsubject = \"Hi\"\nhistory = 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.WithRoomOverlays(map[string]map[string]any{
		"lobby": overlay(t, `{"max_participants": 3}`),
		"ops":   overlay(t, `{"subject": "On call", "history_max_age": "48h", "reserved_nicknames": ["root"]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	lobby, _ := n.RoomPolicy("lobby")
	if lobby.MaxParticipants != 3 || lobby.History != 10 || n.FindRoom("lobby").Subject != "Hi" {
		t.Errorf("lobby: %+v subject %q", lobby, n.FindRoom("lobby").Subject)
	}
	ops, configured := n.RoomPolicy("ops")
	if !configured || ops.HistoryMaxAge.String() != "48h0m0s" || len(ops.ReservedNicknames) != 1 || n.FindRoom("ops").Subject != "On call" || ops.DeleteWhen != DeleteNever {
		t.Errorf("ops: %v %+v", configured, ops)
	}
	if c.FindRoom("ops") != nil {
		t.Error("the file's configuration changed")
	}
	keys := n.RoomKeys("ops")
	if keys["history_max_age"] != "48h0m0s" || keys["subject"] != "On call" || keys["delete_when"] != DeleteNever {
		t.Errorf("RoomKeys: %v", keys)
	}
}

// Every problem of every overlay is reported.
func TestWithRoomOverlaysErrors(t *testing.T) {
	_, err := Default().WithRoomOverlays(map[string]map[string]any{
		"a": overlay(t, `{"histroy": 5, "max_participants": "x"}`),
		"b": overlay(t, `{"guests": "sometimes", "name": "c"}`),
		"d": overlay(t, `{"history": 1.5}`),
	})
	var es Errors
	if !errors.As(err, &es) || len(es) != 4 {
		t.Fatalf("errors: %v", err)
	}
	all := err.Error()
	for _, want := range []string{"room a: histroy", "room a: max_participants", "room b: name", "room d: history"} {
		if !strings.Contains(all, want) {
			t.Errorf("%q not in:\n%s", want, all)
		}
	}
}

// Reread reads the file again and applies the flags over it again.
func TestReread(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.toml")
	os.WriteFile(path, []byte("[log]\nlevel = \"warn\"\n"), 0o600)
	c, _, err := FromArgs([]string{"-config", path, "-host", "chat.example.com"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte("[log]\nlevel = \"debug\"\n[server]\nhost = \"other.example.com\"\n"), 0o600)
	n, err := c.Reread()
	if err != nil {
		t.Fatal(err)
	}
	if n.Log.Level != "debug" || n.Server.Host != "chat.example.com" || n.Source() != path {
		t.Errorf("reread: level %q host %q source %q", n.Log.Level, n.Server.Host, n.Source())
	}
	os.WriteFile(path, []byte("[log]\nlevel = \"loud\"\nformat = \"xml\"\n"), 0o600)
	_, err = c.Reread()
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 {
		t.Fatalf("broken file: %v", err)
	}
	if _, err := Default().Reread(); !errors.Is(err, ErrNoFile) {
		t.Fatalf("no file: %v", err)
	}
}

// The admin listener off loopback needs a token; the token file wins.
func TestAdminConfig(t *testing.T) {
	c := Default()
	c.Admin.Listen = "0.0.0.0:9560"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "admin.listen") {
		t.Fatalf("no token off loopback: %v", err)
	}
	c.Admin.Token = "t"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(f, []byte("secret\nignored\n"), 0o600)
	c.Admin.TokenFile = f
	if tok, err := c.AdminToken(); err != nil || tok != "secret" {
		t.Fatalf("token file: %q %v", tok, err)
	}
	for addr, want := range map[string]bool{"127.0.0.1:9560": true, "[::1]:1": true, "localhost:9560": true, ":9560": false, "0.0.0.0:1": false, "10.0.0.1:1": false} {
		if IsLoopback(addr) != want {
			t.Errorf("IsLoopback(%q) = %v", addr, !want)
		}
	}
}
