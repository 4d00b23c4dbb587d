// Command parleyd is the parley chat server: a SIP conference focus and an
// MSRP switch (RFC 7701). With no arguments it starts with embedded
// defaults: SIP on UDP and TCP 127.0.0.1:5060 and over TLS on 5061, MSRP on
// 127.0.0.1:2855 and over TLS (msrps) on 2856, with a self-signed
// certificate kept in ./parley-data, ad hoc rooms. SIGHUP reloads the
// certificate. See -h, and -print-config for every setting.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "user" {
		return runUser(args[1:], os.Stdin, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "nick" {
		return runNick(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "room" {
		return runRoom(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "participant" {
		return runParticipant(args[1:], stdout, stderr)
	}
	if len(args) > 0 && (args[0] == "-version" || args[0] == "--version" || args[0] == "version") {
		return runVersion(args[1:], stdout, stderr)
	}
	cfg, action, err := config.FromArgs(args, stdout, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		return 2
	case action != config.Run:
		return 0
	}
	log, level := newLogger(cfg.Log, stderr)
	// sipgo logs a few events through its package-level logger; the process
	// owns that global, so route it to ours, rate-limited like the rest of
	// sipgo's logs.
	sip.SetDefaultLogger(server.SIPGoLogger(log))
	srv, err := server.New(cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "parleyd: %v\n", err)
		return 1
	}
	srv.SetLogLevel(level)
	adm, err := startAdmin(cfg, srv, log)
	if err != nil {
		fmt.Fprintf(stderr, "parleyd: %v\n", err)
		ctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.Std())
		srv.Shutdown(ctx)
		cancel()
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGHUP reloads the configuration as POST /api/v1/reload does (room
	// policies, reserved names, the log level, the TLS certificate); a file
	// with errors is refused whole and the running configuration kept. No
	// connection is dropped unless a new policy no longer admits it.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reloaded := make(chan struct{})
	go func() { // ends with run: ctx is done once Run returns
		defer close(reloaded)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				reload(ctx, srv, log)
			}
		}
	}()
	defer func() { stop(); <-reloaded }()
	if err := srv.Run(ctx); err != nil {
		log.Error("shutdown incomplete", "error", err)
		adm.stop()
		return 1
	}
	adm.stop()
	log.Info("stopped")
	return 0
}

// newLogger is parleyd's logger and its level, which reloads (log.level)
// and the trace switch change at run time.
func newLogger(c config.LogConfig, w io.Writer) (*slog.Logger, *slog.LevelVar) {
	level := new(slog.LevelVar)
	level.Set(c.SlogLevel())
	if c.Trace {
		level.Set(slog.LevelDebug) // the raw trace is logged at debug level
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == config.FormatJSON {
		return slog.New(slog.NewJSONHandler(w, opts)), level
	}
	return slog.New(slog.NewTextHandler(w, opts)), level
}
