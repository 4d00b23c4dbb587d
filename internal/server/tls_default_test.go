package server_test

import (
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/servertest"
)

// TLS left at its defaults must not stop a server that runs without it: a
// default TLS port already taken turns that listener off with a warning,
// and the server starts and serves. A TLS address set explicitly fails
// the start as before.
func TestDefaultTLSPortTaken(t *testing.T) {
	def := config.Default()
	if l, err := net.Listen("tcp", def.SIP.TLS); err == nil { // else someone holds it already
		defer l.Close()
	}
	cfg := loopbackConfig()
	cfg.SIP.TLS, cfg.MSRP.TLSListen = def.SIP.TLS, ""
	var logs servertest.LogBuffer
	srv, err := server.New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("a taken default TLS port stopped the start: %v", err)
	}
	srv.Start()
	defer stopServer(srv)
	if srv.Addrs().SIPTLS != "" {
		t.Errorf("SIP TLS listening on %s, want off", srv.Addrs().SIPTLS)
	}
	if !strings.Contains(logs.String(), "TLS left off") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
	stillServes(t, srv, "TCP")

	cfg = loopbackConfig()
	cfg.SIP.TLS, cfg.Server.DataDir = srv.Addrs().SIPTCP, t.TempDir() // explicitly, and taken
	if s, err := server.New(cfg, nil); err == nil {
		stopServer(s)
		t.Error("an explicit TLS address in use did not fail the start")
	}
}

// With TLS at its defaults and a data directory that cannot be made (a
// file of that name), the server starts without TLS and says so.
func TestDefaultTLSNoDataDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	def := config.Default()
	if err := os.WriteFile(def.Server.DataDir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := loopbackConfig()
	cfg.SIP.TLS, cfg.MSRP.TLSListen = def.SIP.TLS, def.MSRP.TLSListen
	var logs servertest.LogBuffer
	srv, err := server.New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("an unusable default data directory stopped the start: %v", err)
	}
	srv.Start()
	defer stopServer(srv)
	if a := srv.Addrs(); a.SIPTLS != "" || a.MSRPTLS != "" {
		t.Errorf("TLS on (%q, %q), want off", a.SIPTLS, a.MSRPTLS)
	}
	if !strings.Contains(logs.String(), "TLS left off") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
	stillServes(t, srv, "UDP")
}
