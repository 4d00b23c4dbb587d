package relay

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/parley-im/parley/msrp"
)

// Session is one MSRP session of the switch: our URI, the participant's
// path, and the connection the participant's first request bound it to.
// Its methods are safe for concurrent use.
type Session struct {
	srv      *Server
	id       string
	local    msrp.URI
	localStr string
	kind     uriKind // kindOf(local): the one kind of connection it binds over
	peerPath []msrp.URI
	data     any

	// Written under srv.mu (write lock); read without it.
	conn  atomic.Pointer[conn] // nil until bound; kept after the end
	ended atomic.Bool
	timer *time.Timer // bind timer; guarded by srv.mu
}

// ID returns the session-id (the last segment of LocalURI's path).
func (s *Session) ID() string { return s.id }

// LocalURI returns our URI for this session: msrp://<Host>:<port>/<id>;tcp,
// the a=path of the SDP answer and the From-Path of what we send.
func (s *Session) LocalURI() msrp.URI { return s.local }

// PeerPath returns the participant's path as given to NewSession; its
// rightmost URI is the participant. The slice must not be modified.
func (s *Session) PeerPath() []msrp.URI { return s.peerPath }

// Data returns the value given to NewSession.
func (s *Session) Data() any { return s.data }

// RemoteAddr returns the IP address of the peer of the connection the
// session is bound to (an IPv4-mapped address as IPv4), or the zero Addr
// when it is not bound or not over IP.
func (s *Session) RemoteAddr() netip.Addr {
	if c := s.conn.Load(); c != nil {
		return remoteIP(c.nc)
	}
	return netip.Addr{}
}

// Bound reports whether the session is bound to a connection and has not ended.
func (s *Session) Bound() bool { return s.conn.Load() != nil && !s.ended.Load() }

// Ended reports whether the session has ended.
func (s *Session) Ended() bool { return s.ended.Load() }

// String identifies the session in logs.
func (s *Session) String() string { return "msrp session " + s.id }

// Close ends the session: it leaves the session table (requests for it are
// answered 481 from now on) and, when no other session uses its connection,
// the connection is closed too (after writing what is queued, for
// CloseNormal). The Handler's SessionEnded is NOT called for it. Close is
// idempotent; a session that has already ended is left alone.
func (s *Session) Close(reason CloseReason) {
	srv := s.srv
	srv.mu.Lock()
	c := s.conn.Load()
	if !srv.endLocked(s) {
		srv.mu.Unlock()
		return
	}
	last := c != nil && len(c.sessions) == 0
	if last {
		c.retired = true // no new session may bind to it
	}
	srv.mu.Unlock()

	srv.stats.sessionEnded(reason)
	srv.log.Debug("msrp session closed", "session", s.id, "reason", reason.String())
	if last {
		c.close(reason, nil)
	}
}

// Send queues m (a request or a response) on the session's connection
// without blocking; m is serialised now and may be reused when Send
// returns. A request with an empty TID gets a fresh transaction id, stored
// in m.TID. It fails with ErrSessionClosed, ErrNotBound, ErrConnClosed or
// ErrSlowConsumer (which closes the connection).
func (s *Session) Send(m *msrp.Message) error {
	c, err := s.writable()
	if err != nil {
		return err
	}
	if m.IsRequest() && m.TID == "" {
		m.TID = c.newTID()
	}
	return c.enqueue(m.AppendTo(make([]byte, 0, m.SizeBound())))
}

// Enqueue queues pre-framed bytes on the session's connection without
// blocking, to be written in order as one unit (no other output is
// interleaved between them): for instance a Frame's Head, a body shared by
// every recipient, and the Frame's End. The queue takes ownership of the
// slices: they must stay unmodified from now on (they are written later,
// by another goroutine, possibly never if the connection closes first).
// Errors as for Send.
func (s *Session) Enqueue(bufs ...[]byte) error {
	c, err := s.writable()
	if err != nil {
		return err
	}
	return c.enqueue(bufs...)
}

// Offer is Enqueue for what may be dropped: regular chat messages and
// notices (RFC 7701 §6.4). When the session's connection is congested, or
// these bytes would take its pending output over Config.CongestedBytes,
// nothing is queued and Offer returns an error wrapping ErrCongested; the
// connection stays open, and is closed with CloseCongested if it is still
// congested after Config.CongestionTimeout. Other errors as for Send.
func (s *Session) Offer(bufs ...[]byte) error {
	c, err := s.writable()
	if err != nil {
		return err
	}
	return c.offer(bufs...)
}

// EnqueueFrame is Enqueue for one framed chunk: head and end (an
// msrp.Frame's) are copied, so the caller may reuse their buffer at once;
// body is kept by reference and must stay unmodified. Fan-out frames every
// recipient's envelope into one scratch buffer this way, and what each
// connection's queue holds is its own memory, counted by MaxPendingBytes.
func (s *Session) EnqueueFrame(head, body, end []byte) error {
	c, err := s.writable()
	if err != nil {
		return err
	}
	return c.push(false, true, [][]byte{head, body, end})
}

// OfferFrame is Offer for one framed chunk, copying head and end as
// EnqueueFrame does.
func (s *Session) OfferFrame(head, body, end []byte) error {
	c, err := s.writable()
	if err != nil {
		return err
	}
	return c.push(true, true, [][]byte{head, body, end})
}

// WSMaxChunk is the largest body of a chunk the switch sends to a
// WebSocket peer (MaxChunk). RFC 7977 carries each chunk in exactly one
// WebSocket message, so a chunk is never interleaved with other output
// while it is written: a 1 MiB chunk from a TCP sender would hold every
// other message to that browser until it is through, and a receiver
// (coder/websocket's default read limit is 32 KiB) may refuse one that
// large. 2,048 octets is the size RFC 4975 §7.1.1 names: a chunk of at
// most that need not be interruptible, so each piece states its end in
// its Byte-Range (copyRange in the switch) and is what browser MSRP
// stacks send themselves.
const WSMaxChunk = 2048

// MaxChunk returns the largest body of one chunk the session's peer should
// be sent, or 0 for no limit: WSMaxChunk for a WebSocket session (it binds
// only over WebSocket), 0 over TCP and TLS. A sender of a larger chunk cuts
// it into chunks of at most this many octets, each queued as its own unit
// (one WebSocket message each).
func (s *Session) MaxChunk() int {
	if s.kind >= kindWS {
		return WSMaxChunk
	}
	return 0
}

// Congested reports whether the session's connection is congested.
func (s *Session) Congested() bool {
	c := s.conn.Load()
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.congested
}

func (s *Session) writable() (*conn, error) {
	if s.ended.Load() {
		return nil, fmt.Errorf("relay: %s: %w", s.id, ErrSessionClosed)
	}
	c := s.conn.Load()
	if c == nil {
		return nil, fmt.Errorf("relay: %s: %w", s.id, ErrNotBound)
	}
	return c, nil
}

// bindExpired runs on the bind timer's goroutine.
func (s *Session) bindExpired() {
	srv := s.srv
	if !srv.enter() {
		return // Shutdown ends the session
	}
	defer srv.wg.Done()
	srv.mu.Lock()
	if s.conn.Load() != nil || !srv.endLocked(s) {
		srv.mu.Unlock()
		return
	}
	srv.mu.Unlock()
	srv.sessionEnded(s, CloseBindTimeout)
}
