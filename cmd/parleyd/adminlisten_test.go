package main

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/testserver"
)

// The admin listener's default address taken (another parleyd on the
// machine) leaves parleyd running without one and says so; an address the
// operator chose that is taken is an error; a free one serves.
func TestStartAdmin(t *testing.T) {
	srv, cfg := startTestServer(t)

	// Hold the default address (unless something on this machine already
	// does: it is taken either way).
	if l, err := net.Listen("tcp", cfg.Admin.Listen); err == nil {
		defer l.Close()
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	a, err := startAdmin(cfg, srv, log)
	if err != nil || a != nil {
		t.Fatalf("default address taken: %v, %v; want no admin listener and no error", a, err)
	}
	if !strings.Contains(logs.String(), "admin listener not started") {
		t.Fatalf("no warning: %s", logs.String())
	}
	a.stop() // a nil *runningAdmin stops as a no-op

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg.Admin.Listen = taken.Addr().String()
	if _, err := startAdmin(cfg, srv, log); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("chosen address taken: %v", err)
	}

	cfg.Admin.Listen = "127.0.0.1:0"
	a, err = startAdmin(cfg, srv, log)
	if err != nil || a == nil {
		t.Fatalf("free address: %v", err)
	}
	defer a.stop()
	info := srv.Info()
	if info.Listeners["admin"] == "" {
		t.Fatalf("the server does not know its admin listener: %+v", info.Listeners)
	}
}

// startTestServer runs a parleyd until the test ends (internal/testserver);
// its configuration has the default admin address, which the server itself
// does not bind: startAdmin does.
func startTestServer(t *testing.T) (*server.Server, *config.Config) {
	t.Helper()
	cfg := testserver.Config()
	return testserver.Start(t, cfg), cfg
}
