// Package testserver runs an in-process parleyd for the tests of the
// packages above internal/server (the commands, the client library):
// loopback ports the kernel picks, no TLS, no HTTPS, history in memory,
// shut down when the test ends. internal/server's own tests have theirs
// (servertest cannot import server: the server's internal tests import it).
package testserver

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
)

// Config is the default configuration on loopback ports chosen by the
// kernel, without TLS or HTTPS listeners (no certificate, no fixed port)
// and with history in memory (nothing written to the working directory).
// The admin listener is not started by server.New either way.
func Config() *config.Config {
	cfg := config.Default()
	cfg.SIP.UDP, cfg.SIP.TCP, cfg.MSRP.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.SIP.TLS, cfg.MSRP.TLSListen, cfg.HTTPS.Listen = "", "", ""
	cfg.Store.Mode = config.StoreMemory
	return cfg
}

// Start runs a parleyd with cfg (Config() when nil) until the test ends;
// its shutdown is bounded by 10 s and reported if it fails.
func Start(t testing.TB, cfg *config.Config) *server.Server {
	t.Helper()
	if cfg == nil {
		cfg = Config()
	}
	srv, err := server.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("starting parleyd: %v", err)
	}
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("parleyd shutdown: %v", err)
		}
	})
	return srv
}
