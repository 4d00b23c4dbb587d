package conference

import (
	"log/slog"
	"time"

	"github.com/parley-im/parley/internal/room"
)

// DefaultInterval is the least time between two NOTIFYs to one subscriber:
// RFC 4575 §3.9 recommends at most one notification every 5 seconds.
const DefaultInterval = 5 * time.Second

// Notify is one NOTIFY the notifier wants sent on a subscription's dialog.
type Notify struct {
	Body       []byte        // an application/conference-info+xml document
	Terminated bool          // Subscription-State: terminated (else active)
	Reason     string        // with Terminated: "noresource", "timeout", … ("" for none)
	Expires    time.Duration // without Terminated: the time the subscription has left (;expires=, whole seconds, rounded up)
	// Pending: Subscription-State: pending, no body. The notifier never
	// asks for it; the focus sends one to a subscriber it has not yet
	// verified (RFC 6665 §4.2.1).
	Pending bool
}

// Sender sends NOTIFYs; the focus implements it over SIP.
type Sender interface {
	// SendNotify sends n on the dialog of the subscription whose handle is
	// given (the handle passed to Subscribe). It must not block: the focus
	// runs the transaction on a goroutine of its own. done must be called
	// exactly once, when the NOTIFY transaction is over: ok is false when
	// the subscriber is to be dropped (no answer, 481, any other non-2xx
	// final response, transport error). done may be called before
	// SendNotify returns (the focus is shutting down).
	SendNotify(handle any, n Notify, done func(ok bool))
}

// Config configures a Notifier.
type Config struct {
	Sender Sender // required
	// Interval is the least time between two NOTIFYs to one subscriber;
	// changes in between are coalesced into the next one (zero or less:
	// DefaultInterval). The first change after a quiet Interval goes out
	// at once. Full documents (Subscribe, Refresh) and final NOTIFYs are
	// not held back by it.
	Interval time.Duration
	// URIs, when set, returns the URIs of a room (its canonical URI and
	// its aliases, issue 19), listed in the full document's <conf-uris>
	// with the purpose "participation" (RFC 4575 §5.3.1): a subscriber
	// learns every URI that names the room.
	URIs   func(rm *room.Room) []string
	Logger *slog.Logger // nil: no logging
}

// Stats are the notifier's counters.
type Stats struct {
	Subscriptions int    // live subscriptions
	Notifies      uint64 // NOTIFYs handed to the Sender
	Full          uint64 // of which full documents (Subscribe, Refresh, final NOTIFYs)
	Bytes         uint64 // body octets handed to the Sender
	Dropped       uint64 // subscriptions dropped because a NOTIFY failed
}

// New returns a Notifier that sends its NOTIFYs through cfg.Sender.
func New(cfg Config) *Notifier {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notifier{
		sender:   cfg.Sender,
		interval: cfg.Interval,
		uris:     cfg.URIs,
		log:      log,
		rooms:    make(map[*room.Room]*roster),
		drained:  make(chan struct{}),
	}
}
