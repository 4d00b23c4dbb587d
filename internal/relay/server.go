package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-im/parley/msrp"
)

// Accept back-off on temporary errors (EMFILE and the like), as net/http.
const (
	acceptMinDelay = 5 * time.Millisecond
	acceptMaxDelay = time.Second
)

// Server is the MSRP switch's listener: it accepts TCP connections, binds
// them to the sessions the focus created with NewSession, answers what the
// relay layer answers itself, and hands the rest to its Handler.
type Server struct {
	cfg   Config
	h     Handler
	log   *slog.Logger
	trace atomic.Bool
	stats counters

	pools   pools // buffers of active connections
	connIDs atomic.Uint64
	quit    chan struct{} // closed when Shutdown begins
	// closing is set first thing in Shutdown: from then on the read loops
	// dispatch nothing and nothing more is queued (conn.readMessages,
	// conn.push, conn.pushBatch).
	closing atomic.Bool
	pace    pacer // coalesces fan-out writes (pacer.go)
	wg      sync.WaitGroup

	// mu (tier 1) guards the fields below, every Session's conn/ended/timer
	// fields, and every conn's sessions/everBound/retired fields. Lookups
	// take the read lock; binding and ending take the write lock. go() takes
	// the read lock to refuse new goroutines once shutdown is set.
	mu       sync.RWMutex
	ln       net.Listener
	tlsLn    net.Listener // the msrps listener (Config.TLSAddr), or nil
	host     string       // Host of our URIs, fixed by Listen
	port     int
	tlsPort  int // the msrps listener's port
	serving  bool
	shutdown bool
	sessions map[string]*Session // by session-id, until the session ends
	conns    map[*conn]struct{}  // until the connection's read loop ends
	// unbound counts, per source IP address, the connections that have
	// bound no session yet (Config.MaxUnboundPerSource; limits.go).
	unbound map[netip.Addr]int
	// open counts, per source IP address, the connections registered and
	// not yet forgotten (Config.MaxConnsPerSource; limits.go).
	open    map[netip.Addr]int
	sweeper *time.Timer // runs ReleaseIdle every Config.IdleSweep
	// parkTicker runs parkWaiting every parkTick with a Parker (park.go);
	// parkScratch is its slice of connections, reused.
	parkTicker  *time.Timer
	parkScratch []*conn
	// freeAgain counts down the sweeps to the second hand-back of memory
	// after a burst (freeOSAgain); owned by the sweep callback, which runs
	// one at a time.
	freeAgain int
}

// New returns a Server with cfg (zero fields take the defaults) and h (nil
// means NopHandler). Call Listen, then Serve.
func New(cfg Config, h Handler) *Server {
	cfg = cfg.withDefaults()
	if h == nil {
		h = NopHandler{}
	}
	s := &Server{
		cfg:      cfg,
		h:        h,
		log:      cfg.Logger,
		quit:     make(chan struct{}),
		sessions: make(map[string]*Session),
		conns:    make(map[*conn]struct{}),
		unbound:  make(map[netip.Addr]int),
		open:     make(map[netip.Addr]int),
	}
	s.trace.Store(cfg.Trace)
	return s
}

// SetTrace switches the raw MSRP trace (see Config.Trace) on or off.
func (s *Server) SetTrace(on bool) { s.trace.Store(on) }

func (s *Server) tracing() bool {
	return s.trace.Load() && s.log.Enabled(context.Background(), slog.LevelDebug)
}

// Listen binds the listener, so that Addr and NewSession work before Serve.
func (s *Server) Listen() error {
	s.mu.Lock()
	err := s.listenable()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	// net.Listen and logging happen outside s.mu (no I/O under a lock).
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("relay: listen: %w", err)
	}
	ta, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		ln.Close()
		return fmt.Errorf("relay: listener address %v is not TCP", ln.Addr())
	}
	host := s.cfg.Host
	if host == "" {
		if ta.IP.IsUnspecified() {
			ln.Close()
			return fmt.Errorf("relay: listening on %v: set Config.Host to the address peers should use", ta)
		}
		host = ta.IP.String()
	}
	var tlsLn net.Listener
	tlsPort := 0
	if s.cfg.TLSAddr != "" {
		if tlsLn, tlsPort, err = s.listenTLS(); err != nil {
			ln.Close()
			return err
		}
	}
	s.mu.Lock()
	if err := s.listenable(); err != nil { // Shutdown or another Listen raced us
		s.mu.Unlock()
		ln.Close()
		if tlsLn != nil {
			tlsLn.Close()
		}
		return err
	}
	s.ln, s.host, s.port = ln, host, ta.Port
	s.tlsLn, s.tlsPort = tlsLn, tlsPort
	s.mu.Unlock()
	s.log.Info("msrp listening", "addr", ta.String(), "host", host)
	if tlsLn != nil {
		s.log.Info("msrps listening", "addr", tlsLn.Addr().String(), "host", host)
	}
	return nil
}

// listenTLS binds the msrps listener. Its connections are plain TCP until
// startConn wraps them: the handshake then runs on the connection's read
// goroutine, not on the accept loop, so one client that never finishes it
// holds no one else up.
func (s *Server) listenTLS() (net.Listener, int, error) {
	if s.cfg.TLS == nil {
		return nil, 0, errors.New("relay: TLSAddr set without a TLS configuration")
	}
	ln, err := net.Listen("tcp", s.cfg.TLSAddr)
	if err != nil {
		return nil, 0, fmt.Errorf("relay: listen (TLS): %w", err)
	}
	ta, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		ln.Close()
		return nil, 0, fmt.Errorf("relay: listener address %v is not TCP", ln.Addr())
	}
	return ln, ta.Port, nil
}

// listenable reports why Listen may not proceed. s.mu must be held.
func (s *Server) listenable() error {
	switch {
	case s.shutdown:
		return ErrServerClosed
	case s.ln != nil:
		return errors.New("relay: already listening")
	}
	return nil
}

// TLSAddr returns the msrps listener's address, nil before Listen or
// without one.
func (s *Server) TLSAddr() net.Addr {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.tlsLn == nil {
		return nil
	}
	return s.tlsLn.Addr()
}

// Addr returns the listener's address, nil before Listen.
func (s *Server) Addr() net.Addr {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Serve accepts connections until ctx ends (it returns ctx.Err() and closes
// the listener; open connections stay until Shutdown) or Shutdown is called
// (it returns ErrServerClosed). It calls Listen first if needed. Temporary
// accept errors are retried with an exponential back-off.
func (s *Server) Serve(ctx context.Context) error {
	if s.Addr() == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	ln, tlsLn, shutdown, serving := s.ln, s.tlsLn, s.shutdown, s.serving
	s.serving = true
	if !serving {
		s.startSweeperLocked()
		s.startPacerLocked()
	}
	s.mu.Unlock()
	switch {
	case shutdown:
		return ErrServerClosed
	case serving:
		return errors.New("relay: Serve called twice")
	}
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		if tlsLn != nil {
			tlsLn.Close()
		}
	})
	defer stop()
	if tlsLn != nil {
		// The msrps accept loop: tracked like every relay goroutine, it
		// ends as the plain one does (listener closed by ctx or Shutdown).
		s.goFunc(func() {
			if err := s.accept(ctx, tlsLn, true); err != nil && !errors.Is(err, ErrServerClosed) && ctx.Err() == nil {
				s.log.Error("msrps accept loop stopped", "err", err)
			}
		})
	}
	return s.accept(ctx, ln, false)
}

// accept runs one listener's accept loop; secure: the msrps listener.
func (s *Server) accept(ctx context.Context, ln net.Listener, secure bool) error {
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err == nil {
			delay = 0
			s.startConn(nc, secure)
			continue
		}
		if s.isShutdown() {
			return ErrServerClosed
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var te interface{ Temporary() bool }
		if !errors.As(err, &te) || !te.Temporary() {
			return fmt.Errorf("relay: accept: %w", err)
		}
		delay = min(max(2*delay, acceptMinDelay), acceptMaxDelay)
		s.log.Warn("msrp accept error; retrying", "err", err, "delay", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.quit:
		case <-ctx.Done():
		}
		t.Stop()
	}
}

func (s *Server) isShutdown() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.shutdown
}

// startConn registers an accepted connection and starts its read loop;
// secure: it came to the msrps listener, and speaks TLS.
func (s *Server) startConn(nc net.Conn, secure bool) {
	s.stats.connsAccepted.Add(1)
	var c *conn
	if secure {
		t := newTLSTransport(s, nc)
		c = newConn(s, s.connIDs.Add(1), t)
		c.tr = t
		t.Rec.BeforeRead = c.recordRead
	} else {
		c = newConn(s, s.connIDs.Add(1), nc)
	}
	s.register(c)
}

// register tracks a new connection of any transport, arms its bind
// deadline and starts its read loop, or closes it (Shutdown has begun, or
// its source holds too many connections, or too many unbound ones).
func (s *Server) register(c *conn) {
	nc := c.nc
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		c.tr.close(false, false)
		s.stats.connClosed(CloseShutdown)
		return
	}
	if reason, ok := s.countSourceLocked(c); !ok {
		s.mu.Unlock()
		s.refuseConn(c, reason)
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	// A connection must bind a session within BindTimeout; the read loop
	// clears the deadline at the first bind. Over TLS the handshake is the
	// first read, so the same deadline bounds it (CloseHandshake).
	if err := nc.SetReadDeadline(time.Now().Add(s.cfg.BindTimeout)); err != nil {
		c.logger().Debug("msrp set read deadline", "err", err)
	}
	if c.debugging() {
		c.logger().Debug("msrp connection accepted", "remote", nc.RemoteAddr().String())
	}
	if !s.goFunc(c.readLoop) {
		// Shutdown began after registration: it closes c; the read loop
		// that would unregister it never runs.
		c.close(CloseShutdown, nil)
		s.mu.Lock()
		delete(s.conns, c)
		s.foldLocked(c)
		s.uncountSourceLocked(c)
		s.mu.Unlock()
	}
}

// goFunc runs f on a new goroutine tracked by the WaitGroup that Shutdown
// waits for; it refuses (false) once Shutdown has begun. Every goroutine the
// relay starts goes through here.
func (s *Server) goFunc(f func()) bool {
	if !s.enter() {
		return false
	}
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// enter registers running work (a goroutine, a timer callback) with the
// WaitGroup unless Shutdown has begun. The Add happens under the read lock,
// and Shutdown sets the flag under the write lock before it Waits, so no
// Add can race with the Wait. The caller must call s.wg.Done.
func (s *Server) enter() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.shutdown {
		return false
	}
	s.wg.Add(1)
	return true
}

// Shutdown stops the server: it closes the listener, ends every unbound
// session and closes every connection with CloseShutdown (the connections'
// read loops then end their sessions with CloseShutdown), and waits for every
// goroutine the server started. It returns ctx.Err() if ctx ends first; the
// goroutines still finish later, as their sockets are closed. Shutdown is
// idempotent: a second call waits again.
func (s *Server) Shutdown(ctx context.Context) error {
	// Before anything else: a request read from now on is not dispatched,
	// and nothing more is queued (readMessages, push, pushBatch), so no
	// sender is told 200 for a message whose copies the closes below
	// discard.
	s.closing.Store(true)
	// What was answered 200 before is still written, bounded: the
	// writers and the pacer run until s.shutdown is set below.
	s.drain(ctx)
	s.mu.Lock()
	first := !s.shutdown
	s.shutdown = true
	ln := s.ln
	var unbound []*Session
	var conns []*conn
	if first {
		close(s.quit)
		if s.sweeper != nil {
			s.sweeper.Stop()
		}
		if s.parkTicker != nil {
			s.parkTicker.Stop()
		}
		for _, sess := range s.sessions {
			if sess.conn.Load() == nil && s.endLocked(sess) {
				unbound = append(unbound, sess)
			}
		}
		for c := range s.conns {
			conns = append(conns, c)
		}
	}
	tlsLn := s.tlsLn
	s.mu.Unlock()

	if first {
		s.log.Info("msrp shutting down", "conns", len(conns), "unbound_sessions", len(unbound))
		if ln != nil {
			ln.Close()
		}
		if tlsLn != nil {
			tlsLn.Close()
		}
		for _, sess := range unbound {
			s.sessionEnded(sess, CloseShutdown)
		}
		s.linger(ctx, conns)
		for _, c := range conns {
			c.close(CloseShutdown, nil)
		}
	}

	done := make(chan struct{})
	go func() { // not tracked: it is the waiter, and ends with the WaitGroup
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("relay: shutdown: %w", ctx.Err())
	}
}

// linger half-closes every connection once its queue is drained (the peer
// reads the end of the stream after the last copy: a FIN, under TLS too)
// and waits, at most a second and a quarter of what is left
// of ctx, until the peers have acknowledged everything the kernel was
// still sending them (or closed their side), so that the close that
// follows cannot lose it: closing a socket whose peer sent more
// meanwhile resets the connection, and a reset throws away what the
// kernel had not delivered. The read loops keep reading and skipping
// what they read (stopForShutdown).
func (s *Server) linger(ctx context.Context, conns []*conn) {
	if len(conns) == 0 {
		return
	}
	deadline := time.Now().Add(time.Second)
	if d, ok := ctx.Deadline(); ok {
		if q := time.Now().Add(time.Until(d) / 4); q.Before(deadline) {
			deadline = q
		}
	}
	type closeWriter interface{ CloseWrite() error }
	for _, c := range conns {
		nc := c.nc
		if t, ok := c.tr.(*tlsTransport); ok {
			// The TCP connection under it: tls.Conn.CloseWrite sends
			// close_notify, which blocks on a peer that no longer reads
			// (up to the write deadline, connection after connection).
			// A FIN after the last record ends the stream all the same.
			nc = t.Raw
		}
		if cw, ok := nc.(closeWriter); ok {
			cw.CloseWrite()
		}
	}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for s.unacknowledged(conns) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// unacknowledged reports whether any of conns that is still open has
// octets its peer has not acknowledged, or cannot tell.
func (s *Server) unacknowledged(conns []*conn) bool {
	for _, c := range conns {
		if c.isClosed() {
			continue
		}
		nc := c.nc
		if t, ok := c.tr.(*tlsTransport); ok {
			nc = t.Raw
		}
		rc := rawConn(nc)
		if rc == nil {
			return true
		}
		if n, ok := unacked(rc); !ok || n > 0 {
			return true
		}
	}
	return false
}

// drain waits until every open connection has written what was queued for
// it before Shutdown began (messages whose senders got their 200), at most
// write_timeout and at most half of what is left of ctx, so that the rest
// of the shutdown keeps its time. Nothing new is queued meanwhile (closing).
// It polls: shutdown happens once, and the wait is short and bounded.
func (s *Server) drain(ctx context.Context) {
	deadline := time.Now().Add(s.cfg.WriteTimeout)
	if d, ok := ctx.Deadline(); ok {
		if half := time.Now().Add(time.Until(d) / 2); half.Before(deadline) {
			deadline = half
		}
	}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for s.queuedBytes() > 0 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// queuedBytes is what the open connections have queued and not yet
// written.
func (s *Server) queuedBytes() int {
	n := 0
	s.mu.RLock()
	defer s.mu.RUnlock()
	for c := range s.conns {
		c.mu.Lock()
		if c.state != stateClosed {
			n += c.pending
		}
		c.mu.Unlock()
	}
	return n
}

// NewSession allocates a session for a participant whose MSRP path (from
// its SDP a=path) is peerPath, with data attached for the caller; the
// session waits for its peer's first request to bind it, at most
// Config.BindTimeout. It fails with ErrNotListening before Listen and with
// ErrServerClosed after Shutdown began.
//
// A peer whose own URI (the rightmost of peerPath) is msrps asked for TLS
// (RFC 4975 §14.3; its m-line is TCP/TLS/MSRP): its session gets an msrps
// URI on the TLS listener, and binds only over TLS (ErrNoTLS without that
// listener); any other peer gets an msrp URI on the plain listener.
func (s *Server) NewSession(peerPath []msrp.URI, data any) (*Session, error) {
	if len(peerPath) == 0 {
		return nil, errors.New("relay: new session: empty peer path")
	}
	sess := &Session{srv: s, data: data, peerPath: append([]msrp.URI(nil), peerPath...)}
	id := msrp.NewSessionID() // ≥ 80 random bits: a collision is retried below
	s.mu.Lock()
	switch {
	case s.shutdown:
		s.mu.Unlock()
		return nil, ErrServerClosed
	case s.ln == nil:
		s.mu.Unlock()
		return nil, ErrNotListening
	}
	for {
		if _, dup := s.sessions[id]; !dup {
			break
		}
		id = msrp.NewSessionID()
	}
	sess.id = id
	sess.local = msrp.URI{Host: s.host, Port: s.port, SessionID: sess.id, Transport: "tcp"}
	switch peer := peerPath[len(peerPath)-1]; {
	case isWS(peer):
		// RFC 7977 §5.2: the peer is a WebSocket client (its host is
		// usually .invalid: the relay never connects to it, it waits for
		// the peer's WebSocket to bind the session, as for any passive
		// side, RFC 4975 §5.4).
		if s.cfg.WSPort == 0 || peer.Secure && !s.cfg.WSSecure {
			s.mu.Unlock()
			return nil, ErrNoWebSocket
		}
		sess.local.Secure, sess.local.Port, sess.local.Transport = s.cfg.WSSecure, s.cfg.WSPort, "ws"
	case peer.Secure:
		if s.tlsLn == nil {
			s.mu.Unlock()
			return nil, ErrNoTLS
		}
		sess.local.Secure, sess.local.Port = true, s.tlsPort
	}
	sess.kind = kindOf(sess.local)
	sess.localStr = sess.local.String()
	s.sessions[sess.id] = sess
	sess.timer = time.AfterFunc(s.cfg.BindTimeout, sess.bindExpired)
	s.stats.sessionsCreated.Add(1)
	s.mu.Unlock()
	s.log.Debug("msrp session created", "session", sess.id, "peer", peerPath[len(peerPath)-1].String())
	return sess, nil
}

// endLocked removes sess from the tables and stops its timer. It reports
// false if sess had already ended. s.mu must be held for writing.
func (s *Server) endLocked(sess *Session) bool {
	if sess.ended.Load() {
		return false
	}
	sess.ended.Store(true)
	delete(s.sessions, sess.id)
	if sess.timer != nil {
		sess.timer.Stop()
	}
	if c := sess.conn.Load(); c != nil {
		delete(c.sessions, sess)
	}
	return true
}

// sessionEnded counts, logs and reports an end the Handler did not ask for.
// No lock may be held.
func (s *Server) sessionEnded(sess *Session, reason CloseReason) {
	s.stats.sessionEnded(reason)
	s.log.Debug("msrp session ended", "session", sess.id, "reason", reason.String())
	s.h.SessionEnded(sess, reason)
}
