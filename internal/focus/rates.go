package focus

import (
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/rate"
	"github.com/parley-im/parley/internal/source"
)

// Rates per source (issue 17): how many new joins (INVITE outside a dialog)
// and new subscriptions (SUBSCRIBE outside a dialog) one source (the
// transport's IP address, never Via; an IPv6 address by its /64,
// source.Key) may start per second, on average and at once
// (Limits.JoinsPerSecond, JoinsBurst, SubscriptionsPerSecond,
// SubscriptionsBurst). The ledger bounds what a source holds; these bound
// how fast it churns: a join or a subscription that is refused or ends at
// once still costs a dialog, an MSRP session, roster NOTIFYs and join and
// leave notices to every member, and a challenge costs a digest.
//
// Where: right after the answers that need no state (shutdown, a room
// name too long, a reserved identity) and before anything that costs —
// the room lookup (so scanning room names is slowed too), authentication
// (a challenged join comes twice: the INVITE answered 401, then the one
// with credentials, and costs two tokens), the SDP and the ledger. A
// refusal is 503 with a reason phrase naming the rate and a Retry-After of
// the seconds until the source has a token again (at least 1), counted in
// LimitStats.JoinRate and SubscriptionRate. Sources in Limits.Exempt and
// Limits.RateExempt skip them.
//
// Memory: each rate keeps at most maxRateSources (65,536) sources, a
// netip.Addr and a TAT each: 80 octets per source in the map, measured
// with Go 1.26, so at most about 5 MiB per rate, 10 MiB for both. A source
// whose bucket is full again is forgotten: every second the table is swept
// of them (at most 65,536 entries under the table's mutex, about a
// millisecond). A new source that finds the table full all the same evicts
// an arbitrary one (LimitStats.RateEvicted), which then starts over with a
// full bucket: under a flood from more sources than that, a source may get
// one more burst, never fewer tokens than its rate; nobody is refused for
// want of room in the table.
//
// The mutex of each table is a leaf, like the ledger's: taken alone, no
// I/O or call out while held.

// maxRateSources bounds the sources one rate table keeps.
const maxRateSources = 1 << 16

// rateSweepEvery is how often a table forgets the sources whose bucket is
// full.
const rateSweepEvery = int64(time.Second)

// sourceRates is one rate limit per source.
type sourceRates struct {
	lim atomic.Pointer[rate.Limit] // replaced whole by set (a reload)
	max int

	mu        sync.Mutex
	tat       map[netip.Addr]int64 // by source.Key; absent: a full bucket
	nextSweep int64
	refused   uint64
	evicted   uint64
}

func newSourceRates(perSecond, burst int) *sourceRates {
	r := &sourceRates{max: maxRateSources, tat: make(map[netip.Addr]int64)}
	r.set(perSecond, burst)
	return r
}

// set makes perSecond and burst the rate of the next request; the
// buckets keep their state.
func (r *sourceRates) set(perSecond, burst int) {
	l := rate.New(perSecond, burst)
	r.lim.Store(&l)
}

// take counts one request of src at now (nanoseconds on the focus's
// clock), or reports how long until src has a token.
func (r *sourceRates) take(src netip.Addr, now int64) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now >= r.nextSweep {
		r.sweep(now)
		r.nextSweep = now + rateSweepEvery
	}
	tat, known := r.tat[src]
	next, wait, ok := r.lim.Load().Take(tat, now)
	if !ok {
		r.refused++
		return wait, false
	}
	if !known && len(r.tat) >= r.max {
		for k := range r.tat { // an arbitrary one: the iteration starts at random
			delete(r.tat, k)
			r.evicted++
			break
		}
	}
	r.tat[src] = next
	return 0, true
}

// sweep forgets the sources whose bucket is full at now. r.mu is held.
func (r *sourceRates) sweep(now int64) {
	for k, tat := range r.tat {
		if rate.Full(tat, now) {
			delete(r.tat, k)
		}
	}
}

// counts returns the refusals and evictions so far.
func (r *sourceRates) counts() (refused, evicted uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refused, r.evicted
}

// rates are the focus's rate limits per source.
type rates struct {
	joins, subs *sourceRates
	exempt      atomic.Pointer[[]netip.Prefix] // Limits.Exempt and Limits.RateExempt
	now         func() time.Time
	epoch       time.Time
}

func newRates(lim Limits, now func() time.Time) *rates {
	r := &rates{
		joins: newSourceRates(lim.JoinsPerSecond, lim.JoinsBurst),
		subs:  newSourceRates(lim.SubscriptionsPerSecond, lim.SubscriptionsBurst),
		now:   now,
		epoch: now(),
	}
	r.setExempt(lim)
	return r
}

func (r *rates) setExempt(lim Limits) {
	ex := append(append([]netip.Prefix(nil), lim.Exempt...), lim.RateExempt...)
	r.exempt.Store(&ex)
}

// SetLimits makes lim the focus's limits and rates from the next request
// on (issue 18's reload). What sources and identities hold already stays
// counted, and nobody is removed: a lower limit refuses their next
// request. The buckets of the rates keep their state.
func (f *Focus) SetLimits(lim Limits) {
	f.ledger.setLimits(lim)
	f.rates.joins.set(lim.JoinsPerSecond, lim.JoinsBurst)
	f.rates.subs.set(lim.SubscriptionsPerSecond, lim.SubscriptionsBurst)
	f.rates.setExempt(lim)
}

// admitRate counts req, a new join or subscription, against its source's
// rate r; over it, it answers 503 naming hit, with Retry-After, and
// reports false. A request whose source is not an IP address, or is
// exempt, is not counted.
func (f *Focus) admitRate(r *sourceRates, hit limitHit, req *sip.Request, tx sip.ServerTransaction) bool {
	if !r.lim.Load().On() {
		return true
	}
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return true
	}
	a := ap.Addr().Unmap()
	if inPrefixes(*f.rates.exempt.Load(), a) {
		return true
	}
	wait, ok := r.take(source.Key(a), int64(f.rates.now().Sub(f.rates.epoch)))
	if ok {
		return true
	}
	res := sip.NewResponseFromRequest(req, 503, string(hit), nil)
	res.AppendHeader(sip.NewHeader("Retry-After", strconv.FormatInt(rate.Seconds(wait), 10)))
	f.send(tx, res)
	f.log.Debug("rate reached", "method", string(req.Method), "source", req.Source(), "limit", string(hit), "retry_after", rate.Seconds(wait))
	return false
}
