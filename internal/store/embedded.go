package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Resource bounds of the embedded server beyond the message stream's
// MaxBytes (doc.go): room records, cursors, accounts and nicknames, and
// JetStream's overhead.
const (
	bucketBytes   = 64 << 20  // each of the rooms, cursors, accounts and nicknames buckets
	bucketCount   = 4         // the buckets of bucketBytes
	embeddedSlack = 256 << 20 // added to MaxBytes for the server's JetStream limit
	startTimeout  = 30 * time.Second
)

// startEmbedded starts the in-process NATS server with JetStream in dir:
// no listener of any kind (DontListen), no signal handlers, a stable
// server name, JetStream limits derived from Config.MaxBytes, and its log
// through s.log.
func (s *Store) startEmbedded(dir string) (*server.Server, error) {
	maxPayload := int32(s.cfg.MaxMessageBytes + 64<<10) // the frame's header, the subjects
	opts := &server.Options{
		ServerName:   serverName,
		DontListen:   true,
		NoSigs:       true,
		JetStream:    true,
		StoreDir:     dir,
		MaxPayload:   maxPayload,
		MaxPending:   max(64<<20, 2*int64(maxPayload)),
		SyncAlways:   s.cfg.SyncAlways,
		SyncInterval: s.cfg.SyncInterval,
	}
	limit := s.cfg.MaxBytes + bucketCount*bucketBytes + embeddedSlack
	if s.cfg.Mode == ModeMemory {
		opts.JetStreamMaxMemory = limit
		opts.JetStreamMaxStore = 64 << 20 // nothing is put on disk
	} else {
		opts.JetStreamMaxMemory = 64 << 20 // nothing is kept in memory storage
		opts.JetStreamMaxStore = limit
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("store: embedded NATS server: %w", err)
	}
	lg := &natsLogger{log: s.log.With("component", "nats")}
	srv.SetLoggerV2(lg, false, false, false)
	srv.Start()
	if err := lg.fatalErr(); err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("store: embedded NATS server in %s: %w", dir, err)
	}
	if !srv.ReadyForConnections(startTimeout) || !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		if err := lg.fatalErr(); err != nil {
			return nil, fmt.Errorf("store: embedded NATS server in %s: %w", dir, err)
		}
		return nil, fmt.Errorf("store: embedded NATS server in %s did not start", dir)
	}
	return srv, nil
}

// natsLogger adapts nats-server's Logger to slog: notices at Debug (the
// server is chatty at start), warnings at Warn, errors and fatal errors at
// Error. A fatal error is also kept: the server stops what it was doing
// after one (it never exits the process here), and Open reports it.
type natsLogger struct {
	log   *slog.Logger
	mu    sync.Mutex
	fatal string
}

func (l *natsLogger) Noticef(format string, v ...any) {
	l.logf(slog.LevelDebug, format, v)
}

func (l *natsLogger) Warnf(format string, v ...any) {
	l.logf(slog.LevelWarn, format, v)
}

func (l *natsLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.mu.Lock()
	if l.fatal == "" {
		l.fatal = msg
	}
	l.mu.Unlock()
	l.log.Error(msg, "fatal", true)
}

func (l *natsLogger) Errorf(format string, v ...any) {
	l.logf(slog.LevelError, format, v)
}

func (l *natsLogger) Debugf(format string, v ...any) {
	l.logf(slog.LevelDebug, format, v)
}

func (l *natsLogger) Tracef(format string, v ...any) {
	l.logf(slog.LevelDebug-4, format, v)
}

func (l *natsLogger) logf(level slog.Level, format string, v []any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(format, v...))
}

func (l *natsLogger) fatalErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fatal == "" {
		return nil
	}
	return fmt.Errorf("%s", l.fatal)
}
