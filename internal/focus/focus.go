package focus

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/conference"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/msrp"
)

// Session is the MSRP side of one participant, as the switch provides it.
type Session interface {
	ID() string
	LocalURI() msrp.URI
	// Close ends the session at the focus's request (BYE received, room
	// deleted, shutdown). The switch does not report it back through
	// Focus.SessionEnded.
	Close()
}

// Switch allocates MSRP sessions (internal/relay, adapted by the server).
type Switch interface {
	// OpenSession registers an unbound session for a participant whose
	// MSRP path is peerPath. The handle comes back in SessionEnded.
	OpenSession(peerPath []msrp.URI, handle any) (Session, error)
}

// Roster hears who joins and leaves which room: the MSRP switch (routing,
// nicknames, notices) and, later, the conference event package. Its methods
// are called without focus locks held and must not block.
type Roster interface {
	// Joined: p was admitted to rm (before the 2xx is sent; its MSRP
	// session may bind right after).
	Joined(rm *room.Room, p *room.Participant)
	// Left: p left rm (BYE, session ended, eviction, shutdown, or an INVITE
	// rolled back). Called once per Joined.
	Left(rm *room.Room, p *room.Participant)
}

// RoomObserver hears that a room was deleted (its deletion policy, RFC 7701
// §5.3): the conference event package ends its subscriptions. A Roster may
// implement it.
type RoomObserver interface {
	RoomDeleted(rm *room.Room)
}

// Config configures a Focus.
type Config struct {
	Host  string         // public host name in our URIs and SDP
	Ports map[string]int // SIP listening port per transport ("UDP", "TCP", "TLS", "WSS"), for Contact
	// RoomURI, when set, returns a room's canonical URI, the entity of
	// its conference documents whatever URI or transport a subscriber
	// used (issue 19); unset, the entity is our Contact's URI.
	RoomURI func(rm *room.Room) string
	// SecureMSRP: the switch has an msrps listener, so TCP/TLS/MSRP offers
	// are answered with an msrps path (RFC 4975 §14.3); without it they
	// are declined like any unusable m-line.
	SecureMSRP bool
	// WebSocketMSRP: the switch serves MSRP over WebSocket on the HTTPS
	// listener, so offers whose path is a WebSocket client's (;ws, RFC
	// 7977) are answered with a ;ws path there; without it they are
	// declined like any unusable m-line. The focus never connects to a
	// participant's path (its host is usually .invalid): the participant
	// connects (a=setup:passive in the answer).
	WebSocketMSRP bool
	// UDP is the address of the SIP UDP listener: our requests over UDP
	// (BYE, NOTIFY) leave from it, so that they come from the address the
	// participant talks to (NATs, symmetric routing). Nil: sipgo opens a
	// socket per request.
	UDP    *net.UDPAddr
	Rooms  *room.Registry
	Switch Switch
	// Auth decides who sends an INVITE or SUBSCRIBE outside a dialog
	// (identity.go); nil: everyone is who their From says.
	Auth   Authenticator
	Roster Roster // optional; may also implement RoomObserver and NicknameObserver
	// Nicknames is the nickname table the switch's NICKNAME uses, shared
	// so that both see the same names: draft-niemi-00 nickname-info offers
	// (nickinfo.go) take nicknames in it. Nil denies every offered
	// nickname (reason "policy").
	Nicknames *room.Nicknames
	// Conference is the conference event package's notifier; nil answers
	// SUBSCRIBE 405. The server makes the Focus its Sender.
	Conference *conference.Notifier
	// SubscriptionExpires is the longest subscription granted, and the
	// one granted to a SUBSCRIBE without Expires (default 1 h, RFC 4575
	// §4.1); MinSubscriptionExpires the shortest (default 60 s; shorter
	// ones are 423). NotifyTimeout bounds one NOTIFY transaction (default
	// 10 s): a subscriber that does not answer in time is dropped.
	SubscriptionExpires    time.Duration
	MinSubscriptionExpires time.Duration
	NotifyTimeout          time.Duration
	Logger                 *slog.Logger
	// ByeTimeout bounds the wait for the ACK before a BYE, and then the BYE
	// transaction itself (default 5 s each).
	ByeTimeout time.Duration
	// Limits bound what one source or identity may hold (limits.go) and
	// how fast one source may join and subscribe (rates.go).
	Limits Limits
	// Now is the clock of the rates per source (default time.Now).
	Now func() time.Time

	// T1 is RFC 3261's round-trip estimate (default 500 ms): a 2xx to
	// INVITE is retransmitted over UDP from T1 doubling up to 4 s, and a
	// dialog whose 2xx gets no ACK within 64·T1 is ended with BYE.
	T1 time.Duration

	// beforeAnswer, when set (tests only), runs after the INVITE was
	// accepted and before the 2xx is sent.
	beforeAnswer func()
	// afterNew, when set (tests only), is given the new Focus.
	afterNew func(*Focus)
}

// Focus is the conference focus. Create it with New and attach it to a
// sipgo server with Register.
type Focus struct {
	cfg     Config
	log     *slog.Logger
	client  *sipgo.Client
	dialogs table[*dialog]
	subs    table[*subscription]
	ledger  *ledger     // what each source and identity holds (limits.go); its own leaf lock
	formats formatLists // offers' accept lists, kept once each (answer.go); its own leaf lock
	rates   *rates      // joins and subscriptions per source per second (rates.go); leaf locks
	probes  probes      // answers awaited to pending NOTIFYs (probe.go); its own leaf lock

	mu          sync.Mutex     // guards closed and stopTracked; taken before dialogs.mu
	closed      bool           // Shutdown has begun: no new dialogs
	stopTracked bool           // Shutdown is waiting: no new tracked goroutines
	done        chan struct{}  // closed when Shutdown begins (BeginShutdown): ACK waiters stop, NOTIFY answers are not awaited
	byeOnce     sync.Once      // Shutdown's BYEs
	wg          sync.WaitGroup // tracked goroutines: BYE senders, ACK waiters
	panics      atomic.Uint64  // request handlers that panicked (recover.go)
	stats       counters       // stats.go
}

// New returns a Focus. client sends the focus's own requests (BYE) through
// the same user agent as the server, so they leave from our listening sockets.
func New(cfg Config, client *sipgo.Client) *Focus {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ByeTimeout <= 0 {
		cfg.ByeTimeout = 5 * time.Second
	}
	if cfg.T1 <= 0 {
		cfg.T1 = sip.T1
	}
	if cfg.SubscriptionExpires <= 0 {
		cfg.SubscriptionExpires = defaultSubscriptionExpires
	}
	if cfg.MinSubscriptionExpires <= 0 {
		cfg.MinSubscriptionExpires = min(defaultMinSubscriptionExpires, cfg.SubscriptionExpires)
	}
	if cfg.NotifyTimeout <= 0 {
		cfg.NotifyTimeout = defaultNotifyTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	f := &Focus{cfg: cfg, log: cfg.Logger, client: client, done: make(chan struct{}), ledger: newLedger(cfg.Limits),
		rates: newRates(cfg.Limits, cfg.Now)}
	if cfg.afterNew != nil {
		cfg.afterNew(f)
	}
	return f
}

// Register installs the focus's request handlers on srv.
func (f *Focus) Register(srv *sipgo.Server) {
	srv.OnInvite(f.guarded(f.onInvite))
	srv.OnAck(f.guarded(f.onAck))
	srv.OnBye(f.guarded(f.onBye))
	srv.OnOptions(f.guarded(f.onOptions))
	srv.OnCancel(f.guarded(f.onCancel))
	srv.OnSubscribe(f.guarded(f.onSubscribe))
	srv.OnInfo(f.guarded(f.onInfo))
	srv.OnMessage(f.guarded(f.onMessage))
	srv.OnNoRoute(f.guarded(f.onNoRoute))
}

// Dialogs returns the number of live (not terminated) dialogs.
func (f *Focus) Dialogs() int {
	n := 0
	for _, d := range f.dialogs.all() {
		if !d.terminated() {
			n++
		}
	}
	return n
}

// Member returns the room and participant of the dialog whose handle the
// switch holds (the handle given to Switch.OpenSession), or nils when the
// dialog has none (yet, or any more).
func (f *Focus) Member(handle any) (*room.Room, *room.Participant) {
	d, ok := handle.(*dialog)
	if !ok {
		return nil, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state == stateTerminated {
		return nil, nil
	}
	return d.room, d.participant
}

// SessionEnded is called by the switch when a participant's MSRP session
// ends on its own (never bound in time, connection dropped, slow consumer):
// the focus leaves the room for the participant and sends BYE. A report
// about a session the dialog no longer uses (a re-INVITE moved it) is
// ignored.
func (f *Focus) SessionEnded(handle any, sessionID, reason string) {
	d, ok := handle.(*dialog)
	if !ok {
		return
	}
	d.mu.Lock()
	current := d.session != nil && d.session.ID() == sessionID
	d.mu.Unlock()
	if !current {
		return
	}
	f.log.Info("MSRP session ended; sending BYE", "room", d.roomName, "participant", d.identity, "reason", reason)
	f.end(d, false, false)
}

// end terminates d: removes it, leaves the room (evicting others when the
// room is deleted), and sends BYE unless the participant already did. The
// MSRP session is closed at once when the participant left, after our BYE
// when closeSession is set (the focus ends the dialog: shutdown, room
// deleted), and not at all when the switch reported it ended.
func (f *Focus) end(d *dialog, byParticipant, closeSession bool) {
	if !d.terminate() {
		return
	}
	d.mu.Lock()
	sess, rm, p := d.session, d.room, d.participant
	d.mu.Unlock()
	if byParticipant {
		f.forget(d)
		if sess != nil {
			sess.Close()
		}
	} else {
		// The dialog stays in the table until our BYE is done, so that a
		// late ACK still confirms it (we wait for it before sending BYE)
		// and a crossing BYE from the participant still gets its 200.
		f.sendBye(d, closeSession)
	}
	f.leaveRoom(rm, p)
}

// leaveRoom removes p from rm and, when that deletes the room, ends the
// dialogs of everyone still in it with BYE.
func (f *Focus) leaveRoom(rm *room.Room, p *room.Participant) {
	if rm == nil || p == nil {
		return
	}
	deleted, evict := f.cfg.Rooms.Leave(rm, p.ID)
	f.stats.leaves.Add(1)
	if f.cfg.Roster != nil {
		f.cfg.Roster.Left(rm, p)
	}
	if f.cfg.Nicknames != nil {
		f.cfg.Nicknames.Release(p, time.Now()) // after the switch's own release (its clock wins); a no-op then
	}
	if deleted {
		if c, ok := rm.Owner().(*charge); ok {
			f.ledger.release(c) // the ad hoc room no longer counts against its creator
		}
		f.log.Info("room deleted", "room", rm.Name, "policy", rm.Policy().DeleteWhen.String())
		if ro, ok := f.cfg.Roster.(RoomObserver); ok {
			ro.RoomDeleted(rm)
		}
	}
	for _, other := range evict {
		if od, ok := other.Value.(*dialog); ok {
			f.endByFocus(od, reasonRoomDeleted)
		}
	}
}

// endByFocus ends a dialog from the focus's side: BYE first, so the
// participant learns why, then its MSRP session closes.
func (f *Focus) endByFocus(d *dialog, reason string) {
	d.mu.Lock()
	d.byeReason = reason
	d.mu.Unlock()
	f.end(d, false, true)
}

// Reasons of the focus's BYEs (RFC 3326), telling a client whether to come
// back: after a shutdown (503: the service will be back; client/ rejoins),
// or not after its room was deleted (410).
const (
	reasonShutdown    = `SIP ;cause=503 ;text="Server shutting down"`
	reasonRoomDeleted = `SIP ;cause=410 ;text="Room deleted"`
	reasonNoAck       = `SIP ;cause=408 ;text="No ACK for the 200"` // RFC 3261 §13.3.1.4
)

// BeginShutdown is the first step of Shutdown, which calls it: new
// dialogs and subscriptions are refused (503), and NOTIFYs are still sent
// but their answers no longer awaited, so that the conference notifier's
// final NOTIFYs (sent next) are not held up by a subscriber that went
// away. Idempotent.
func (f *Focus) BeginShutdown() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.closed = true
	close(f.done)
}

// Shutdown sends BYE to every participant and waits for the answers,
// bounded by ctx. It is idempotent. An INVITE still being processed when it
// begins is refused (503) rather than admitted behind its back.
func (f *Focus) Shutdown(ctx context.Context) error {
	f.BeginShutdown()
	f.byeOnce.Do(func() {
		for _, d := range f.dialogs.all() {
			f.endByFocus(d, reasonShutdown)
		}
		f.mu.Lock()
		f.stopTracked = true
		f.mu.Unlock()
	})
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ShuttingDown reports whether Shutdown has begun.
func (f *Focus) ShuttingDown() bool { return f.shuttingDown() }

func (f *Focus) shuttingDown() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// admit puts a new dialog in the table unless Shutdown has begun. Under
// f.mu, so that Shutdown's snapshot of the table sees every admitted dialog.
func (f *Focus) admit(d *dialog) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.dialogs.put(d.key, d)
	return true
}

// goTracked runs fn on a goroutine Shutdown waits for. Once Shutdown is
// waiting it starts nothing and reports false (a late report from the
// switch cannot add to a WaitGroup already being waited on).
func (f *Focus) goTracked(fn func()) bool {
	f.mu.Lock()
	if f.stopTracked {
		f.mu.Unlock()
		return false
	}
	f.wg.Add(1)
	f.mu.Unlock()
	go func() {
		defer f.wg.Done()
		fn()
	}()
	return true
}

func (f *Focus) onAck(req *sip.Request, _ sip.ServerTransaction) {
	d := f.dialogOf(req) // marks d heard
	if d == nil {
		return // ACK after BYE, or for a dialog we never made: ACKs get no answer
	}
	if cseq := req.CSeq(); cseq != nil {
		d.ack(cseq.SeqNo)
	}
}

func (f *Focus) onBye(req *sip.Request, tx sip.ServerTransaction) {
	d := f.dialogOf(req)
	if d == nil {
		f.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	if cseq := req.CSeq(); cseq != nil && !d.checkCSeq(cseq.SeqNo) {
		f.respond(tx, req, 500, "CSeq Out of Order")
		return
	}
	// Leave the room and close the MSRP session before answering, so that
	// whoever sees the 200 sees the participant gone.
	f.end(d, true, true)
	f.respond(tx, req, 200, "OK")
	f.log.Info("participant left", "room", d.roomName, "participant", d.identity)
}

// onCancel sees only CANCELs that matched no pending INVITE (sipgo answers
// the others itself, 200 to the CANCEL and 487 to the INVITE).
func (f *Focus) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	f.respond(tx, req, 481, "Call/Transaction Does Not Exist")
}

func (f *Focus) onNoRoute(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil)
	res.AppendHeader(sip.NewHeader("Allow", allowMethods))
	f.send(tx, res)
}

func (f *Focus) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string) {
	f.send(tx, sip.NewResponseFromRequest(req, code, reason, nil))
}

func (f *Focus) send(tx sip.ServerTransaction, res *sip.Response) {
	if tx == nil {
		return
	}
	f.stats.response(res)
	if err := tx.Respond(res); err != nil && !errors.Is(err, sip.ErrTransactionTerminated) {
		f.log.Debug("responding failed", "status", res.StatusCode, "error", err)
	}
}

// ConnInUse reports whether a dialog or subscription was set up by a
// request that came from peer (the remote address of a SIP TCP
// connection): the SIP guard keeps such a connection open however long it
// stays silent. It is exact: a dialog counts until it leaves the dialog
// table (after our BYE, if we send one), a subscription until its final
// NOTIFY is over. It takes only the ledger's leaf lock, and allocates
// nothing for a *net.TCPAddr.
func (f *Focus) ConnInUse(peer net.Addr) bool {
	var ap netip.AddrPort
	switch a := peer.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	case nil:
		return false
	default:
		var err error
		if ap, err = netip.ParseAddrPort(a.String()); err != nil {
			return false
		}
	}
	return f.ledger.connInUse(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
}

// LimitStats returns how many requests each limit refused so far.
func (f *Focus) LimitStats() LimitStats {
	st := f.ledger.snapshot()
	var je, se uint64
	st.JoinRate, je = f.rates.joins.counts()
	st.SubscriptionRate, se = f.rates.subs.counts()
	st.RateEvicted = je + se
	return st
}

// forget takes d out of the dialog table and releases what it held
// against its source and identity. Every dialog that was admitted leaves
// through here.
func (f *Focus) forget(d *dialog) {
	f.dialogs.remove(d.key, d)
	f.ledger.release(d.charge)
}
