package server

import (
	"log/slog"
	"time"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/internal/switchboard"
)

// NewWithClock is New with now as the clock of the focus and the switch
// (the rates per source and per participant), for the rate tests.
func NewWithClock(cfg *config.Config, log *slog.Logger, now func() time.Time) (*Server, error) {
	return newServer(cfg, log, options{now: now})
}

// SwitchStats is the switch's Stats.
func SwitchStats(s *Server) switchboard.Stats { return s.sw.Stats() }

// RelayStats is the MSRP relay's Stats.
func RelayStats(s *Server) relay.Stats { return s.relay.Stats() }
