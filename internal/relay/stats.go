package relay

import "sync/atomic"

// Stats is a snapshot of the server's counters. The arrays are indexed by
// CloseReason: st.ConnsClosed[relay.CloseSlowConsumer]. The limits of issue
// 14 show there too: ConnsClosed[CloseStalled] (progress timeout) and
// ConnsClosed[CloseSourceLimit] (unbound connections per source).
type Stats struct {
	ConnsAccepted      uint64 // connections accepted
	ConnsOpen          int    // connections currently open (or closing)
	SessionsCreated    uint64 // NewSession calls that succeeded
	SessionsBound      uint64 // sessions bound by their peer's first request
	SessionsOpen       int    // sessions not yet ended
	Congested          uint64 // times a connection became congested
	OffersDropped      uint64 // Session.Offer calls dropped for congestion
	Writes             uint64 // batches written (one writev each)
	HandlerPanics      uint64 // Handler panics recovered by a read loop (each closed its connection: CloseInternalError)
	BindsRefused       uint64 // binding requests answered 403: the connection had Config.MaxSessionsPerConn sessions
	ShutdownUnanswered uint64 // requests read after Shutdown began: not dispatched, not answered (the connection closed)
	WSRefused          uint64 // WebSocket upgrades refused (no msrp subprotocol, Origin, a bad handshake): nothing upgraded

	ConnsClosed   [numCloseReasons]uint64 // connection closes, by reason
	SessionsEnded [numCloseReasons]uint64 // session ends, by reason (Session.Close included)
}

// counters are the server's live counters, updated without locks.
type counters struct {
	connsAccepted      atomic.Uint64
	sessionsCreated    atomic.Uint64
	sessionsBound      atomic.Uint64
	congested          atomic.Uint64
	offersDropped      atomic.Uint64
	writes             atomic.Uint64
	handlerPanics      atomic.Uint64
	bindsRefused       atomic.Uint64
	shutdownUnanswered atomic.Uint64
	wsRefused          atomic.Uint64
	connsClosed        [numCloseReasons]atomic.Uint64
	sessionsEnded      [numCloseReasons]atomic.Uint64
}

func (c *counters) connClosed(r CloseReason) {
	if int(r) < numCloseReasons {
		c.connsClosed[r].Add(1)
	}
}

func (c *counters) sessionEnded(r CloseReason) {
	if int(r) < numCloseReasons {
		c.sessionsEnded[r].Add(1)
	}
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	var st Stats
	st.ConnsAccepted = s.stats.connsAccepted.Load()
	st.SessionsCreated = s.stats.sessionsCreated.Load()
	st.SessionsBound = s.stats.sessionsBound.Load()
	st.Congested = s.stats.congested.Load()
	st.OffersDropped = s.stats.offersDropped.Load()
	st.Writes = s.stats.writes.Load()
	st.HandlerPanics = s.stats.handlerPanics.Load()
	st.BindsRefused = s.stats.bindsRefused.Load()
	st.ShutdownUnanswered = s.stats.shutdownUnanswered.Load()
	st.WSRefused = s.stats.wsRefused.Load()
	for i := range numCloseReasons {
		st.ConnsClosed[i] = s.stats.connsClosed[i].Load()
		st.SessionsEnded[i] = s.stats.sessionsEnded[i].Load()
	}
	s.mu.RLock()
	st.ConnsOpen = len(s.conns)
	st.SessionsOpen = len(s.sessions)
	s.mu.RUnlock()
	return st
}
