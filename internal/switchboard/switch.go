package switchboard

import (
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-im/parley/internal/rate"
	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/msrp"
)

// DefaultChunkTimeout is RFC 7701 §6.1's suggestion for the chunk reception
// timer: "on the order of a normal TCP timeout (i.e., around 540 seconds)".
const DefaultChunkTimeout = 540 * time.Second

// maxPendingHeader bounds how many octets of a chunked message the switch
// buffers while waiting for the end of its CPIM headers (SPEC §14A.2
// "sanity-limit size"); a message whose headers do not fit is refused 413.
const maxPendingHeader = 16 << 10

// Defaults of the limits on one sender's chunked messages in progress
// (issue 14; Config.MaxUnfinished, Config.MaxUnfinishedBytes).
const (
	DefaultMaxUnfinished      = 16
	DefaultMaxUnfinishedBytes = 8 << 20
)

// Config configures a Switch.
type Config struct {
	// Resolve returns the room and participant of a session's handle (the
	// focus's Member), or nils when the dialog is gone.
	Resolve func(handle any) (*room.Room, *room.Participant)
	// Ended reports a session that ended on its own (relay.Handler's
	// SessionEnded) to the focus, which then sends BYE.
	Ended func(handle any, sessionID string, reason relay.CloseReason)
	// ChunkTimeout: a chunked message whose next chunk does not arrive in
	// this time is aborted (RFC 7701 §6.1; default DefaultChunkTimeout).
	ChunkTimeout time.Duration
	// MaxUnfinished caps the chunked messages one sending session may have
	// in progress (default DefaultMaxUnfinished); MaxUnfinishedBytes caps
	// the octets received so far of those messages together (default
	// DefaultMaxUnfinishedBytes). The chunk that would start a message over
	// either is answered 413 with a reason phrase; a later chunk that would
	// take the octets over MaxUnfinishedBytes is answered 413 and its
	// message aborted (limits.go).
	MaxUnfinished      int
	MaxUnfinishedBytes int64
	// MessagesPerSecond caps the messages one participant's session may
	// start per second on average, MessagesBurst at once (a message counts
	// at its first chunk, once); beyond, 403 and a notice once per episode
	// (ratelimit.go). 0: no limit. A session whose connection comes from a
	// RateExempt source is not held to it.
	MessagesPerSecond, MessagesBurst int
	RateExempt                       []netip.Prefix
	// Nicknames holds the nicknames; nil makes a new table.
	Nicknames *room.Nicknames
	// Observer hears what the roster shows that the switch learns first
	// (optional): sessions bound, nicknames changed.
	Observer Observer
	// RoomAlias, when set, reports whether uri names rm under another of
	// its URIs than the one the sender joined by (a host alias of the
	// server, another capitalisation of the name; issue 19): a message
	// whose one To is such a URI is a regular message to the room.
	RoomAlias func(rm *room.Room, uri string) bool
	// History keeps rooms' messages and participants' cursors (history.go);
	// nil: a room that keeps history keeps it in memory only.
	History History
	// Registrar registers nicknames to accounts (NICKNAME with
	// RegisterHeader, nickname.go); nil: registration is refused (403).
	Registrar Registrar
	// Now is the clock of nickname quarantine, CPIM DateTime, history and
	// MessagesPerSecond (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Observer hears the roster changes the switch sees: the conference event
// package (internal/conference). Its methods are called without switch
// locks held and must not block.
type Observer interface {
	// Bound: p's MSRP session is bound (its endpoint is connected).
	Bound(rm *room.Room, p *room.Participant)
	// NicknameChanged: p's nickname is now nick ("" when removed).
	NicknameChanged(rm *room.Room, p *room.Participant, nick string)
}

// Switch is the MSRP switch's chat logic. Create it with New; it implements
// relay.Handler and focus.Roster.
type Switch struct {
	cfg   Config
	log   *slog.Logger
	nicks *room.Nicknames

	mu     sync.Mutex // guards rooms and closed; taken before roomState.mu
	rooms  map[*room.Room]*roomState
	closed bool

	transfers transferTable // chunked messages in progress, by key

	idMu sync.Mutex    // guards ids
	ids  msrp.IDSource // for what is sent outside a read goroutine (notices, aborts by timer)

	stats counters

	msgRate atomic.Pointer[rate.Limit] // MessagesPerSecond (ratelimit.go); replaced whole by SetMessageRate
	epoch   time.Time                  // origin of the links' message rate TATs; read-only

	// afterKeep, set by tests only, runs between a message's push into its
	// room's ring and its fan-out: where a joiner's binding must not make
	// it get the message twice.
	afterKeep func()
	// afterSnapshot, set by tests only, runs in route right after the
	// members' snapshot is taken.
	afterSnapshot func()

	deliveredFn        func(tag any, err error) // deliveredTag, for relay.Batch
	deliveredPrivateFn func(tag any, err error) // deliveredPrivateTag, for relay.Batch
}

// Stats are the switch's counters.
type Stats struct {
	Messages          uint64 // SENDs (messages, not chunks) accepted for distribution
	Chunks            uint64 // chunks accepted (first and later)
	Deliveries        uint64 // chunk copies queued to recipients
	DroppedCongested  uint64 // copies dropped for a congested recipient (RFC 7701 §6.4): regular, private and aborts
	DroppedPrivate    uint64 // of which copies of private messages
	DroppedAborts     uint64 // of which '#' chunks ending a recipient's copy
	RefusedUnfinished uint64 // chunks answered 413 for MaxUnfinished or MaxUnfinishedBytes (also in Refused)
	RefusedRate       uint64 // messages answered 403 for MessagesPerSecond (also in Refused); each episode also sends one notice
	Refused           uint64 // SENDs and NICKNAMEs answered with an error
	Aborted           uint64 // chunked messages aborted (sender's '#', timer, sender gone, 413)
	Notices           uint64 // system messages queued
	Stored            uint64 // regular messages the store acknowledged (history.go)
	NotStored         uint64 // regular messages relayed but not kept: the store failed
	Replayed          uint64 // history messages queued to joining participants
}

type counters struct {
	messages, chunks, deliveries, dropped, refused, aborted, notices atomic.Uint64
	droppedPrivate, droppedAborts, refusedUnfinished, refusedRate    atomic.Uint64
	stored, notStored, replayed                                      atomic.Uint64
}

// New returns a Switch.
func New(cfg Config) *Switch {
	if cfg.ChunkTimeout <= 0 {
		cfg.ChunkTimeout = DefaultChunkTimeout
	}
	if cfg.MaxUnfinished <= 0 {
		cfg.MaxUnfinished = DefaultMaxUnfinished
	}
	if cfg.MaxUnfinishedBytes <= 0 {
		cfg.MaxUnfinishedBytes = DefaultMaxUnfinishedBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Resolve == nil {
		cfg.Resolve = func(any) (*room.Room, *room.Participant) { return nil, nil }
	}
	nicks := cfg.Nicknames
	if nicks == nil {
		nicks = room.NewNicknames()
	}
	s := &Switch{
		cfg:       cfg,
		log:       cfg.Logger,
		nicks:     nicks,
		rooms:     make(map[*room.Room]*roomState),
		transfers: transferTable{m: make(map[string]*transfer)},
		epoch:     cfg.Now(),
	}
	s.SetMessageRate(cfg.MessagesPerSecond, cfg.MessagesBurst)
	s.deliveredFn = s.deliveredTag
	s.deliveredPrivateFn = s.deliveredPrivateTag
	return s
}

// Stats returns a snapshot of the counters.
func (s *Switch) Stats() Stats {
	return Stats{
		Messages:          s.stats.messages.Load(),
		Chunks:            s.stats.chunks.Load(),
		Deliveries:        s.stats.deliveries.Load(),
		DroppedCongested:  s.stats.dropped.Load(),
		DroppedPrivate:    s.stats.droppedPrivate.Load(),
		DroppedAborts:     s.stats.droppedAborts.Load(),
		RefusedUnfinished: s.stats.refusedUnfinished.Load(),
		RefusedRate:       s.stats.refusedRate.Load(),
		Refused:           s.stats.refused.Load(),
		Aborted:           s.stats.aborted.Load(),
		Notices:           s.stats.notices.Load(),
		Stored:            s.stats.stored.Load(),
		NotStored:         s.stats.notStored.Load(),
		Replayed:          s.stats.replayed.Load(),
	}
}

// SetHistory makes h the switch's History (Config.History), before the
// switch serves: for a server that opens its store once its listeners are
// bound, after building the switch.
func (s *Switch) SetHistory(h History) { s.cfg.History = h }

// Nicknames returns the nickname table (for the conference event package).
func (s *Switch) Nicknames() *room.Nicknames { return s.nicks }

// Close stops every chunk timer; chunked messages in progress are dropped
// without aborts (their connections are closing). Idempotent.
func (s *Switch) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	for _, tr := range s.transfers.all() {
		tr.stopTimer()
	}
}
