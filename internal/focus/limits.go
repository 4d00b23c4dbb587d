package focus

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/internal/source"
)

// Limits are what one source or one identity may hold at once, so that
// nobody can use up a server-wide limit (rooms.max_rooms) or make every
// roster change cost thousands of NOTIFYs, and nobody's greed has an
// effect on anyone else (issue 14). A source is the IP address a request
// came from on the transport (never its Via); an identity is the From URI
// without parameters. Going over a limit is answered 503 with Retry-After
// (RFC 3261 §21.5.4) and a reason phrase naming the limit, and counted
// (Focus.LimitStats). Zero means no limit.
type Limits struct {
	RoomsPerSource   int // ad hoc rooms created by one source that still exist
	RoomsPerIdentity int // the same per identity
	// DialogsPerSource and DialogsPerIdentity bound participant dialogs
	// (joins), from the INVITE until the dialog has left the table.
	DialogsPerSource   int
	DialogsPerIdentity int
	// Subscriptions (RFC 4575), from the SUBSCRIBE until the final NOTIFY.
	SubscriptionsPerSource   int
	SubscriptionsPerIdentity int
	SubscriptionsPerRoom     int // from everyone: bounds the NOTIFYs one roster change costs
	// Exempt sources skip the per-source limits: a SIP proxy or gateway
	// that carries many users from one address. The per-identity and
	// per-room limits still apply to what comes through them.
	Exempt []netip.Prefix

	// New joins (INVITE outside a dialog) and new subscriptions (SUBSCRIBE
	// outside a dialog) one source may make per second on average, and
	// at once (rates.go); a rate of 0 is no limit. Beyond: 503 with the
	// seconds until a token is there as Retry-After.
	JoinsPerSecond, JoinsBurst                 int
	SubscriptionsPerSecond, SubscriptionsBurst int
	// RateExempt sources skip the rates, as Exempt ones do (the loopback
	// interface in the default configuration: local tools and benchmarks).
	RateExempt []netip.Prefix
}

// LimitStats count the requests refused by each limit, and by the
// identity and name checks that come with them.
type LimitStats struct {
	RoomsPerSource, RoomsPerIdentity                 uint64
	DialogsPerSource, DialogsPerIdentity             uint64
	SubscriptionsPerSource, SubscriptionsPerIdentity uint64
	SubscriptionsPerRoom                             uint64
	NameTooLong                                      uint64 // 414: a room name over rooms.max_name_bytes
	ReservedIdentity                                 uint64 // 403: a From that is a room's, the focus's or an anonymous URI
	UnverifiedDropped                                uint64 // UDP subscriptions dropped: the pending NOTIFY went unanswered
	// Rates (rates.go): requests refused 503 for a source over its rate,
	// and sources forgotten, their bucket not yet full, because the table
	// of sources was full (each such source starts again with a full one).
	JoinRate, SubscriptionRate uint64
	RateEvicted                uint64
}

// kind is what a charge holds.
type kind uint8

const (
	kindRoom kind = iota
	kindDialog
	kindSubscription
)

// charge is one thing held (an ad hoc room created, a dialog, a
// subscription), counted against its source, its identity and, for a
// subscription, its room. It is released exactly once.
type charge struct {
	kind     kind
	src      netip.Addr     // invalid: not counted (exempt, or no source)
	identity string         // "": not counted (an anonymous From names nobody)
	conn     netip.AddrPort // valid: set up over this stream connection (ConnInUse)
	rm       *room.Room     // a subscription's room
	udp      netip.AddrPort // valid: a dialog over UDP from this address

	// Guarded by ledger.mu.
	released bool
	heard    bool // udp is counted in ledger.heard
}

// counts are what one source or identity holds.
type counts struct{ rooms, dialogs, subs int }

func (c *counts) of(k kind) *int {
	switch k {
	case kindRoom:
		return &c.rooms
	case kindDialog:
		return &c.dialogs
	}
	return &c.subs
}

// ledger counts what every source and identity holds, the stream
// connections dialogs and subscriptions came over, and the UDP sources
// that have shown they receive what we send. Its mutex is a leaf: taken
// alone, never while calling out, so any focus code may call it.
type ledger struct {
	lim atomic.Pointer[Limits] // replaced whole by setLimits (a reload)

	mu       sync.Mutex
	sources  map[netip.Addr]*counts
	ids      map[string]*counts
	roomSubs map[*room.Room]int
	conns    map[netip.AddrPort]int // stream peers with a dialog or subscription
	heard    map[netip.AddrPort]int // UDP sources with a dialog they answered
	stats    LimitStats
}

func newLedger(lim Limits) *ledger {
	l := &ledger{
		sources:  make(map[netip.Addr]*counts),
		ids:      make(map[string]*counts),
		roomSubs: make(map[*room.Room]int),
		conns:    make(map[netip.AddrPort]int),
		heard:    make(map[netip.AddrPort]int),
	}
	l.setLimits(lim)
	return l
}

// setLimits makes lim the limits of the next acquire. What sources and
// identities hold already stays counted: a lower limit refuses their next
// request, and removes nothing they have.
func (l *ledger) setLimits(lim Limits) { l.lim.Store(&lim) }

// limitHit is a refusal: the reason phrase of the 503.
type limitHit string

// Reason phrases of the 503s, one per limit.
const (
	hitRoomsSource    limitHit = "Too Many Rooms From This Source"
	hitRoomsID        limitHit = "Too Many Rooms For This Identity"
	hitDialogsSrc     limitHit = "Too Many Dialogs From This Source"
	hitDialogsID      limitHit = "Too Many Dialogs For This Identity"
	hitSubsSource     limitHit = "Too Many Subscriptions From This Source"
	hitSubsID         limitHit = "Too Many Subscriptions For This Identity"
	hitSubsRoom       limitHit = "Too Many Subscriptions To This Room"
	hitJoinRate       limitHit = "Joining Too Fast From This Source"
	hitSubsRate       limitHit = "Subscribing Too Fast From This Source"
	reasonReserved             = "Reserved Identity"
	reasonNameTooLong          = "Request-URI Too Long"
)

// chargeFor describes what req would hold: its source (unless exempt),
// its identity (unless anonymous) and, over a stream transport, its
// connection.
func (l *ledger) chargeFor(k kind, req *sip.Request, rm *room.Room) *charge {
	c := &charge{kind: k, rm: rm}
	ap, err := netip.ParseAddrPort(req.Source())
	if err == nil {
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		if !l.exempt(ap.Addr()) {
			c.src = source.Key(ap.Addr())
		}
		if sip.IsReliable(req.Transport()) {
			c.conn = ap
		} else if k == kindDialog {
			c.udp = ap
		}
	}
	if from := req.From(); from != nil && !isAnonymousFrom(from.Address) {
		c.identity = identityKey(from.Address)
	}
	return c
}

func (l *ledger) exempt(a netip.Addr) bool { return inPrefixes(l.lim.Load().Exempt, a) }

// inPrefixes reports whether a is in one of ps.
func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// acquire counts c, unless that would take its source, identity or room
// over a limit: then it counts nothing, counts the refusal and returns
// the reason phrase.
func (l *ledger) acquire(c *charge) (limitHit, bool) {
	lim := l.lim.Load()
	l.mu.Lock()
	defer l.mu.Unlock()
	var perSrc, perID int
	var hitSrc, hitID limitHit
	var statSrc, statID *uint64
	switch c.kind {
	case kindRoom:
		perSrc, perID, hitSrc, hitID = lim.RoomsPerSource, lim.RoomsPerIdentity, hitRoomsSource, hitRoomsID
		statSrc, statID = &l.stats.RoomsPerSource, &l.stats.RoomsPerIdentity
	case kindDialog:
		perSrc, perID, hitSrc, hitID = lim.DialogsPerSource, lim.DialogsPerIdentity, hitDialogsSrc, hitDialogsID
		statSrc, statID = &l.stats.DialogsPerSource, &l.stats.DialogsPerIdentity
	default:
		perSrc, perID, hitSrc, hitID = lim.SubscriptionsPerSource, lim.SubscriptionsPerIdentity, hitSubsSource, hitSubsID
		statSrc, statID = &l.stats.SubscriptionsPerSource, &l.stats.SubscriptionsPerIdentity
	}
	src, id := l.sources[c.src], l.ids[c.identity]
	switch {
	case c.src.IsValid() && perSrc > 0 && src != nil && *src.of(c.kind) >= perSrc:
		*statSrc++
		return hitSrc, false
	case c.identity != "" && perID > 0 && id != nil && *id.of(c.kind) >= perID:
		*statID++
		return hitID, false
	case c.kind == kindSubscription && c.rm != nil && lim.SubscriptionsPerRoom > 0 && l.roomSubs[c.rm] >= lim.SubscriptionsPerRoom:
		l.stats.SubscriptionsPerRoom++
		return hitSubsRoom, false
	}
	if c.src.IsValid() {
		if src == nil {
			src = &counts{}
			l.sources[c.src] = src
		}
		*src.of(c.kind)++
	}
	if c.identity != "" {
		if id == nil {
			id = &counts{}
			l.ids[c.identity] = id
		}
		*id.of(c.kind)++
	}
	if c.kind == kindSubscription && c.rm != nil {
		l.roomSubs[c.rm]++
	}
	if c.conn.IsValid() && c.kind != kindRoom {
		l.conns[c.conn]++
	}
	return "", true
}

// release uncounts c; only its first call does anything, and nil is
// nothing.
func (l *ledger) release(c *charge) {
	if c == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.released {
		return
	}
	c.released = true
	if c.src.IsValid() {
		if src := l.sources[c.src]; src != nil {
			*src.of(c.kind)--
			if *src == (counts{}) {
				delete(l.sources, c.src)
			}
		}
	}
	if c.identity != "" {
		if id := l.ids[c.identity]; id != nil {
			*id.of(c.kind)--
			if *id == (counts{}) {
				delete(l.ids, c.identity)
			}
		}
	}
	if c.kind == kindSubscription && c.rm != nil {
		decrement(l.roomSubs, c.rm)
	}
	if c.conn.IsValid() && c.kind != kindRoom {
		decrement(l.conns, c.conn)
	}
	if c.heard {
		decrement(l.heard, c.udp)
	}
}

func decrement[K comparable](m map[K]int, k K) {
	if m[k] <= 1 {
		delete(m, k)
	} else {
		m[k]--
	}
}

// markHeard records that the dialog of c answered us (see dialog.heard):
// its UDP source receives what we send to it.
func (l *ledger) markHeard(c *charge) {
	if c == nil || !c.udp.IsValid() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.released || c.heard {
		return
	}
	c.heard = true
	l.heard[c.udp]++
}

// heardFrom reports whether a live dialog from the UDP address ap has
// answered us.
func (l *ledger) heardFrom(ap netip.AddrPort) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.heard[ap] > 0
}

// connInUse reports whether a dialog or subscription was set up over the
// stream connection whose remote address is ap.
func (l *ledger) connInUse(ap netip.AddrPort) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conns[ap] > 0
}

func (l *ledger) snapshot() LimitStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

func (l *ledger) count(stat *uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*stat++
}

// identityKey is an identity as the limits count it: the From URI without
// parameters, scheme and host in lower case.
func identityKey(u sip.Uri) string {
	return strings.ToLower(schemeOf(u)) + ":" + unescapeUser(u.User) + "@" + strings.ToLower(u.Host) + portSuffix(u.Port)
}

func schemeOf(u sip.Uri) string {
	if u.Scheme == "" {
		return "sip"
	}
	return u.Scheme
}

func portSuffix(port int) string {
	if port == 0 {
		return ""
	}
	return ":" + strconv.Itoa(port)
}

// isAnonymousFrom reports whether u is an anonymous From (RFC 3323
// §4.1.1.3): it names nobody, so anonymous participants are held by the
// per-source limits only (one shared identity would let one of them
// exhaust the per-identity limit for all).
func isAnonymousFrom(u sip.Uri) bool {
	return strings.EqualFold(u.User, "anonymous") || strings.EqualFold(u.Host, "anonymous.invalid")
}

// unescapeUser is a URI's user part with its escapes undone (RFC 3261
// §19.1.4 compares users after unescaping), or as is when malformed.
func unescapeUser(user string) string {
	if !strings.Contains(user, "%") {
		return user
	}
	if u, err := url.PathUnescape(user); err == nil {
		return u
	}
	return user
}
