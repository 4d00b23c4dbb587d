package server

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// rateLimited wraps the handler that receives sipgo's logs. sipgo logs
// every unparseable datagram or stray response, some at ERROR with the raw
// payload, so a remote peer could otherwise make parleyd write without
// bound. At most burst records pass per interval; the rest are counted,
// and the next record to pass is preceded by a summary of how many were
// suppressed. It starts no goroutine. Handlers derived with WithAttrs and
// WithGroup share the same budget.
type rateLimited struct {
	next  slog.Handler
	state *rateState
}

type rateState struct {
	mu         sync.Mutex
	interval   time.Duration
	burst      int
	now        func() time.Time
	window     time.Time // start of the current interval
	passed     int       // records passed in this interval
	suppressed int       // records dropped since the last summary
}

func newRateLimited(next slog.Handler, burst int, interval time.Duration) *rateLimited {
	return &rateLimited{next: next, state: &rateState{interval: interval, burst: burst, now: time.Now}}
}

func (h *rateLimited) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *rateLimited) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError && (peerWentAway(r) || ackWithoutConnection(r)) {
		// sipgo logs a read that failed because the peer reset its TCP
		// connection (a client that quit, or was killed, with our answer
		// unread) as an error, and an ACK it read just before the peer
		// closed the connection (its transaction ended with the
		// connection; sipgo then looks for one to answer on, which an ACK
		// never needs, RFC 3261 §17.2.1): for a server both are routine.
		r2 := slog.NewRecord(r.Time, slog.LevelInfo, r.Message, r.PC)
		r.Attrs(func(a slog.Attr) bool { r2.AddAttrs(a); return true })
		r = r2
		if !h.next.Enabled(ctx, r.Level) {
			return nil
		}
	}
	st := h.state
	st.mu.Lock()
	now := st.now()
	if now.Sub(st.window) >= st.interval {
		st.window, st.passed = now, 0
	}
	if st.passed >= st.burst {
		st.suppressed++
		st.mu.Unlock()
		return nil
	}
	st.passed++
	dropped := st.suppressed
	st.suppressed = 0
	st.mu.Unlock()
	if dropped > 0 {
		sum := slog.NewRecord(now, slog.LevelWarn, "log records suppressed by rate limit", 0)
		sum.AddAttrs(slog.Int("suppressed", dropped))
		if err := h.next.Handle(ctx, sum); err != nil {
			return err
		}
	}
	return h.next.Handle(ctx, r)
}

func (h *rateLimited) WithAttrs(as []slog.Attr) slog.Handler {
	return &rateLimited{next: h.next.WithAttrs(as), state: h.state}
}

func (h *rateLimited) WithGroup(name string) slog.Handler {
	return &rateLimited{next: h.next.WithGroup(name), state: h.state}
}

// peerWentAway reports whether r is about a connection its peer reset or
// closed under a write: an "error" attribute saying so.
func peerWentAway(r slog.Record) bool {
	gone := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "error" {
			return true
		}
		s := a.Value.String()
		gone = strings.Contains(s, "connection reset by peer") || strings.Contains(s, "broken pipe")
		return false
	})
	return gone
}

// ackWithoutConnection reports whether r is sipgo's failure to find a
// connection for an ACK (its "req" attribute an ACK, its error a failed
// connection lookup).
func ackWithoutConnection(r slog.Record) bool {
	ack, noConn := false, false
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "req":
			ack = strings.HasPrefix(a.Value.String(), "ACK ")
		case "error":
			noConn = strings.Contains(a.Value.String(), "get connection failed")
		}
		return true
	})
	return ack && noConn
}

// SIPGoLogger returns the logger to give sipgo (its components, and its
// package-level default in cmd/parleyd): log's handler behind a rate limit
// of 50 records a second.
func SIPGoLogger(log *slog.Logger) *slog.Logger {
	return slog.New(newRateLimited(log.Handler(), 50, time.Second)).With("component", "sip")
}
