package server

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/sipend"
)

// How the SIP side stops without leaving a socket or a goroutine behind.
//
// sipgo opens a connection, with a reader goroutine, whenever its pool
// has none for a peer it must write to, and it does so from goroutines
// nobody can wait for:
//
//   - the goroutine it starts for each request it reads
//     (handleRequestBackground → serverTxRequest → the transport layer's
//     serverRequestConnection) looks up a connection to answer on, by the
//     request's source, then by its Via, and opens one when none is
//     found. Run late — after the UDP listener's reader ended (which
//     deletes its entries from the pool) or after the pools were cleared —
//     it opens, over UDP, a socket bound to 0.0.0.0 with a reader towards
//     the source; over TCP or TLS it dials back; over WSS it dials a
//     WebSocket to the address in the Via;
//   - the focus's own requests (BYE, NOTIFY) find their connection the
//     same way (ClientRequestConnection): over UDP by the listener's
//     address (Laddr), over TCP, TLS and WSS by the peer's, dialing when
//     it is gone.
//
// Shutdown therefore (stopSIP), once the focus is done sending:
//
//  1. sets stopping (sipStop.stop): from then on the read filter drops
//     whatever sipgo reads, so no request starts a new goroutine; our
//     TCP and TLS dialer refuses to connect; and every TCP connection it
//     let through (to be made, or made) is shut down, so that a dial in
//     progress fails and a connection sipgo may be about to put in its
//     pool reads the end of its stream and is closed by its reader;
//  2. waits until sipgo's UDP reader is done with what it read (back in
//     ReadFrom, or gone: sipend.PacketWatch.Settle) and its WSS accept loop has
//     ended, so that neither adds to a pool any more;
//  3. before anything closes, puts a tombstone — a connection that writes
//     nothing, has no reader and nothing to close — in the UDP pool at
//     every address a datagram came from and at the listener's address,
//     and in the WSS pool at every address of a SIP WebSocket handed to
//     sipgo: a late lookup there finds it and opens nothing. A reader
//     that ends deletes only its own entries, and these pools are not
//     cleared afterwards (unless something unexpected is found in them);
//  4. closes the listeners, waits for the TCP and TLS accept loops,
//     closes the transaction layer and the connections the tombstones
//     replaced, and clears the other pools (closing what they hold), as
//     UserAgent.Close would.
//
// A late lookup over TCP or TLS finds nothing and is refused by the
// dialer. The record of UDP sources grows as sipgo's own pool does (one
// entry per source, kept while the listener lives); that of WebSocket
// addresses forgets a connection lateLookupGrace after it closed.

// errSIPStopped: the SIP side is shut down and sends nothing more.
var errSIPStopped = errors.New("server: SIP stopped: shutting down")

// lateLookupGrace is how long the address of a closed SIP WebSocket is
// kept for a tombstone: far longer than a goroutine of sipgo's started for
// a request read just before the close waits to run.
const lateLookupGrace = time.Minute

// sipStop is what the SIP side needs to stop (see above).
type sipStop struct {
	stopping atomic.Bool // set once, under mu
	mu       sync.Mutex  // orders stopping against the records below; a leaf
	dials    []syscall.RawConn
	pruneAt  int     // len(dials) at which closed sockets are dropped from it
	ws       wsPeers // the SIP WebSockets handed to sipgo
	now      func() time.Time
}

// readFilter is the user agent's read filter: once stopping, whatever
// sipgo reads is dropped, so that no goroutine is started for it.
func (st *sipStop) readFilter(_ sip.TransportReadProps, data []byte) ([]byte, error) {
	if st.stopping.Load() {
		return nil, nil
	}
	return data, nil
}

// dialing is told of each TCP connection the user agent is about to make
// (focus.UAOptions.Dialing): refused once stopping, else recorded so that
// stop can shut it down.
func (st *sipStop) dialing(_ context.Context, _, _ string, c syscall.RawConn) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stopping.Load() {
		return errSIPStopped
	}
	if len(st.dials) >= st.pruneAt {
		st.dials = slices.DeleteFunc(st.dials, socketClosed)
		st.pruneAt = max(16, 2*len(st.dials))
	}
	st.dials = append(st.dials, c)
	return nil
}

// socketClosed reports whether the socket behind c is closed.
func socketClosed(c syscall.RawConn) bool { return c.Control(func(uintptr) {}) != nil }

// stop sets stopping and shuts down every TCP connection the user agent
// dialed that is still open, or still being made. Called once.
func (st *sipStop) stop() {
	st.mu.Lock()
	st.stopping.Store(true)
	dials := st.dials
	st.dials = nil
	st.mu.Unlock()
	for _, c := range dials {
		_ = c.Control(shutdownSocket) // fails on a closed socket: nothing to do
	}
}

// wsPeers are the addresses of the SIP WebSockets handed to sipgo, as its
// WSS pool keys them.
type wsPeers struct {
	open   map[string]int       // remote address → its connections not closed
	closed map[string]time.Time // remote address → when its last connection closed
	local  map[string]struct{}  // their local addresses
	purged time.Time            // when closed was last purged of old entries
}

// wsOpened records a SIP WebSocket about to be handed to sipgo, unless
// stopping (false: it must not be).
func (st *sipStop) wsOpened(local, remote net.Addr) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stopping.Load() {
		return false
	}
	w := &st.ws
	if w.open == nil {
		w.open, w.closed, w.local = make(map[string]int), make(map[string]time.Time), make(map[string]struct{})
	}
	r := remote.String()
	w.open[r]++
	delete(w.closed, r)
	w.local[local.String()] = struct{}{}
	return true
}

// wsClosed records that a SIP WebSocket wsOpened let through has closed.
func (st *sipStop) wsClosed(remote net.Addr) {
	now := st.clock()
	st.mu.Lock()
	defer st.mu.Unlock()
	w := &st.ws
	r := remote.String()
	if w.open[r]--; w.open[r] <= 0 {
		delete(w.open, r)
		w.closed[r] = now
	}
	if now.Sub(w.purged) >= lateLookupGrace {
		for a, at := range w.closed {
			if now.Sub(at) >= lateLookupGrace {
				delete(w.closed, a)
			}
		}
		w.purged = now
	}
}

func (st *sipStop) clock() time.Time {
	if st.now != nil {
		return st.now()
	}
	return time.Now()
}

// wsGraves are the WSS pool entries that get a tombstone: the addresses of
// the SIP WebSockets handed to sipgo, open or closed lately. Called once
// stopping.
func (st *sipStop) wsGraves() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var keys []string
	for a := range st.ws.open {
		keys = append(keys, a)
	}
	for a := range st.ws.closed {
		keys = append(keys, a)
	}
	for a := range st.ws.local {
		keys = append(keys, a)
	}
	return keys
}

// udpGraves are the UDP pool entries that get a tombstone: every source
// read from and the listener's address.
func udpGraves(w *sipend.PacketWatch) []string {
	return append(w.Sources(), w.LocalAddr().String())
}

// stopSIP ends the SIP side and everything sipgo opened for it, leaving no
// socket and no goroutine behind whatever the timing (see the top of this
// file). Waits are bounded by ctx. Called once, by Shutdown.
func (s *Server) stopSIP(ctx context.Context) {
	s.sipStop.stop()
	served := s.served.Load()
	if s.udpWatch != nil && served {
		s.udpWatch.Settle(ctx)
	}
	if s.sipWS != nil {
		s.sipWS.Close()
		if served {
			waitCtx(ctx, s.wsServed)
		}
	}

	tl := s.ua.TransportLayer()
	graves := map[string][]string{}
	tombs := map[string]*sipend.Tombstone{}
	if s.udpWatch != nil {
		graves["UDP"], tombs["UDP"] = udpGraves(s.udpWatch), &sipend.Tombstone{Addr: s.udp.LocalAddr(), Err: errSIPStopped}
	}
	if s.sipWS != nil {
		graves["WSS"], tombs["WSS"] = s.sipStop.wsGraves(), &sipend.Tombstone{Addr: s.sipWS.Addr(), Err: errSIPStopped}
	}
	replaced := map[sip.Connection]struct{}{}
	for network, keys := range graves {
		slices.Sort(keys)
		keys = slices.Compact(keys)
		graves[network] = keys
		entomb(tl.Pool(network), keys, tombs[network], replaced)
	}

	if s.udp != nil {
		s.udp.Close()
	}
	if s.tcp != nil {
		s.tcp.Close()
	}
	if s.tls != nil {
		s.tls.Close()
	}
	if served {
		// No TCP or TLS connection is accepted (and pooled) after this.
		done := make(chan struct{})
		go func() { s.streams.Wait(); close(done) }()
		waitCtx(ctx, done)
	}
	s.ua.TransactionLayer().Close()
	for c := range replaced {
		c.Close() // the UDP listener's does nothing: the socket is closed above
	}
	for _, network := range []string{"UDP", "TCP", "TLS", "WS", "WSS"} {
		sweep(tl.Pool(network), graves[network], tombs[network])
	}
}

// waitCtx waits until done is closed or ctx ends.
func waitCtx(ctx context.Context, done <-chan struct{}) {
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// entomb puts tomb in pool at keys and adds the connections it replaces
// there to replaced, for the caller to close.
func entomb(pool *sip.ConnectionPool, keys []string, tomb *sipend.Tombstone, replaced map[sip.Connection]struct{}) {
	for _, key := range keys {
		if c := pool.Get(key); c != nil {
			c.Ref(-1) // undo Get's reference
			if c != sip.Connection(tomb) {
				replaced[c] = struct{}{}
			}
		}
		pool.Add(key, tomb)
	}
}

// sweep closes what is left in pool once the SIP side has stopped:
// everything, in a pool without tombstones; otherwise whatever the
// tombstones do not account for (nothing is expected there), after which
// they are put back.
func sweep(pool *sip.ConnectionPool, graves []string, tomb *sipend.Tombstone) {
	if pool.Size() <= len(graves) {
		return
	}
	pool.Clear() // closes what it holds, then empties it
	for _, key := range graves {
		pool.Add(key, tomb)
	}
}
