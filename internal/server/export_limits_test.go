package server

import (
	"net"

	"github.com/parley-im/parley/internal/focus"
)

// FocusLimitStats is the focus's LimitStats, for the limit tests.
func FocusLimitStats(s *Server) focus.LimitStats { return s.focus.LimitStats() }

// FocusConnInUse is the focus's ConnInUse, as the SIP guard asks it.
func FocusConnInUse(s *Server, peer net.Addr) bool { return s.focus.ConnInUse(peer) }
