package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"syscall"
	"time"

	"github.com/parley-im/parley/internal/admin"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
)

// runningAdmin is the admin listener (issue 18, docs/ADMIN.md) as run
// next to the server: started after the server's listeners are bound,
// stopped after the server has shut down (so /readyz says "shutting down"
// meanwhile).
type runningAdmin struct {
	srv  *admin.Server
	done chan struct{}
	once sync.Once
}

// startAdmin binds the admin listener cfg asks for, and serves it; a nil
// *runningAdmin (admin.listen "") is valid and stops as a no-op.
func startAdmin(cfg *config.Config, srv *server.Server, log *slog.Logger) (*runningAdmin, error) {
	if cfg.Admin.Listen == "" {
		return nil, nil
	}
	token, err := cfg.AdminToken()
	if err != nil {
		return nil, err
	}
	ac := admin.Config{Listen: cfg.Admin.Listen, Token: token, Gatherer: srv.Metrics(), Logger: log.With("component", "admin")}
	if !config.IsLoopback(cfg.Admin.Listen) {
		if ac.TLS = srv.TLSConfig(); ac.TLS == nil {
			return nil, fmt.Errorf("admin listener on %s: off loopback it is HTTPS and needs the TLS certificate: turn on a TLS listener (sip.tls, msrp.tls_listen or https.listen) or listen on 127.0.0.1", cfg.Admin.Listen)
		}
	}
	a, err := admin.New(ac, srv)
	if errors.Is(err, syscall.EADDRINUSE) && cfg.Admin.Listen == config.Default().Admin.Listen {
		// The default address is taken (most often by another parleyd on
		// this machine, started for a test): chat does not depend on the
		// admin listener, so run without it rather than refuse to start.
		// An address the operator chose is an error like any other.
		log.Warn("admin listener not started: its default address is in use (another parleyd?); set admin.listen or -admin to run one", "addr", cfg.Admin.Listen)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	srv.SetAdminAddr(a.Addr())
	scheme := "http"
	if ac.TLS != nil {
		scheme = "https"
	}
	log.Info("admin listener", "url", scheme+"://"+a.Addr(), "token", token != "")
	r := &runningAdmin{srv: a, done: make(chan struct{})}
	go func() { // ends when stop shuts the admin server down
		defer close(r.done)
		if err := a.Serve(); err != nil {
			log.Error("admin listener failed", "error", err)
		}
	}()
	return r, nil
}

// adminStopTimeout bounds the admin listener's shutdown.
const adminStopTimeout = 5 * time.Second

// stop shuts the admin listener down and waits for it. Idempotent.
func (r *runningAdmin) stop() {
	if r == nil {
		return
	}
	r.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), adminStopTimeout)
		defer cancel()
		r.srv.Shutdown(ctx)
		<-r.done
	})
}

// reload is SIGHUP: the configuration read again and applied, or refused
// with every problem logged.
func reload(ctx context.Context, srv *server.Server, log *slog.Logger) {
	changes, err := srv.Reload(ctx)
	var inv *admin.InvalidError
	switch {
	case errors.Is(err, admin.ErrNoConfigFile):
		log.Warn("SIGHUP: no configuration file to reload (started without -config); the TLS certificate is reloaded alone")
		if srv.TLSConfig() == nil {
			return // no TLS listener: no certificate either
		}
		if err := srv.ReloadCertificates(); err != nil {
			log.Error("SIGHUP: TLS certificate not reloaded", "error", err)
		}
	case errors.As(err, &inv):
		for _, p := range inv.Problems {
			log.Error("SIGHUP: configuration refused, the running one is kept", "problem", p)
		}
	case err != nil:
		log.Error("SIGHUP: configuration not reloaded", "error", err)
	default:
		log.Info("SIGHUP: configuration reloaded", "changes", len(changes))
	}
}
