// Package relay is the MSRP switch of parleyd: the TCP listener, the
// binding of connections to the MSRP sessions the SIP focus allocates, and
// the per-connection read loop and bounded, non-blocking write queue. What
// happens to the requests of a bound session (SEND fan-out, NICKNAME) is the
// Handler's business.
//
// # Sessions and binding
//
// The focus calls Server.NewSession when it accepts an INVITE and puts
// Session.LocalURI in its SDP answer. The participant connects and sends a
// request (usually a bodiless SEND) whose rightmost To-Path URI is that URI;
// the first such request binds the session to the connection (RFC 4975
// §5.4). Unknown session, wrong host/port/transport or wrong From-Path: 481;
// bound to another connection: 506; missing or malformed paths: 400. Several
// sessions may share one connection. A bodiless SEND is answered 200 and
// never passed on; a REPORT is never answered; everything else goes to
// Handler.HandleRequest, whose status code is sent back. Every response
// honours Failure-Report (msrp.Message.WantsResponse).
//
// # Ends
//
// A session ends once, with one CloseReason: Session.Close (the focus; no
// SessionEnded callback), its connection's close (SessionEnded with the
// connection's reason), its bind timer (CloseBindTimeout) or Shutdown
// (CloseShutdown). A connection closes on EOF, read error, framing error,
// slow consumer (pending output over MaxPendingBytes), a missed write
// deadline, Shutdown, a bind deadline (no session bound within BindTimeout
// of accept), a progress deadline (a message begun on a bound connection
// not complete within ProgressTimeout: CloseStalled), too many unbound
// connections from its IP address (CloseSourceLimit, at accept) or when
// Session.Close removes its last session. Closes and ends are counted by
// reason in Stats. The limits of issue 14 are described in limits.go.
// Stats also counts the MSRP traffic (requests by method, responses by
// status code both ways, octets in and out, bound sessions by transport):
// per connection, by the goroutine that owns each part of it, and into
// the server's totals once when the connection is forgotten (stats.go).
//
// Once Shutdown has begun, no request is dispatched or answered and nothing
// more is queued: a request read then is dropped with its connection
// (Stats.ShutdownUnanswered), so no sender is told 200 for a message whose
// copies the shutdown discards.
//
// # Goroutines
//
// Every goroutine the relay starts, except Shutdown's waiter, is registered
// through Server.enter (by Server.goFunc, conn.startWriter and the bind and
// sweep timer callbacks), which adds it to the Server's WaitGroup under the read
// lock and refuses once Shutdown has set its flag under the write lock;
// Shutdown then waits for the WaitGroup, bounded by its context.
//
//	goroutine               owner     started by                 ends when
//	accept loop             caller    the caller of Serve        ctx ends (listener closed) or Shutdown
//	msrps accept loop       Server    Serve (goFunc), when       as the accept loop; each TLS connection's
//	                                  Config.TLSAddr is set      handshake runs on its own read loop
//	read loop, one per conn conn      Serve, per accepted conn;  read error / EOF / framing error, or the
//	                                  then by itself (handoff)   socket is closed by any close path; or
//	                                                             it hands off (below)
//	writer, ≤ 1 per conn    conn      enqueue (startWriter),     the queue is empty, the connection is
//	                                  when the queue goes        closed, or a write fails / times out
//	                                  non-empty and none runs
//	bind timer callback     Session   time.AfterFunc in          returns at once after ending the
//	                                  NewSession                 session (or finding it bound)
//	Shutdown waiter         Shutdown  Shutdown                   the WaitGroup reaches zero (it outlives
//	                                                             Shutdown only if Shutdown's ctx ended)
//	ctx watcher             Serve     context.AfterFunc          closes the listener; stopped when Serve returns
//	sweep timer callback    Server    Serve (time.AfterFunc),    ReleaseIdle done (re-armed every
//	                                  re-armed by itself         Config.IdleSweep until Shutdown)
//	pacer                   Server    Serve (unless              Shutdown begins (quit closed); the
//	                                  CoalesceDelay < 0)         writers it holds back are abandoned
//
// A connection has one read goroutine at a time. When it has read every
// byte that arrived and finds no more (between messages), it starts a
// fresh read goroutine to wait for input and returns: the goroutine that
// waits has the smallest stack (2 KiB) whatever the previous one grew to
// while dispatching, and holds no read buffer (buffers.go). The handoff
// costs a goroutine start per burst of input.
//
// Handler calls come from the read loop of the session's connection (all
// calls for a bound session, in wire order, SessionEnded last), from the
// bind timer callback (SessionEnded, CloseBindTimeout) or from the goroutine
// calling Shutdown (SessionEnded, CloseShutdown, for unbound sessions).
//
// # Locks
//
// Two tiers and two leaves; a goroutine holding a lock may only take a
// higher tier or a leaf, and holds both tiers only to read every queue
// (Shutdown's drain) and to fold a forgotten connection's counters into the
// server's totals (foldLocked, stats.go):
//
//	tier 1  Server.mu (RWMutex)  session table, conn set, shutdown flag,
//	                             Session.conn/ended/timer, conn.sessions/
//	                             everBound/retired; read-locked for lookups,
//	                             by enter and by Stats, write-locked to bind
//	                             and end
//	tier 2  conn.mu (Mutex)      the outbound queue: q, spare, arena, pending,
//	                             writing, active, state, reason, ids,
//	                             congestion state; the output's counters
//	                             (tx, txBytes, folded)
//	leaf    msrpTotals.mu        the MSRP counts of forgotten connections
//	leaf    oddCodes.mu          a connection's status codes past its slots
//
// No lock is held while calling the Handler, while doing I/O (socket
// writes, closes, deadlines) or while logging. Session.conn and
// Session.ended are atomics written under Server.mu, so Session.Send and
// Enqueue take no tier-1 lock: the fan-out path touches only the
// recipient's conn.mu.
//
// # Ownership
//
// The *msrp.Message given to the Handler aliases the read buffer and is
// valid only during the call (the buffer goes back to the server's pool
// when the connection waits for input). Slices given to Session.Enqueue belong to the
// queue from then on and must not be modified. The connection's
// msrp.IDSource is used under conn.mu.
package relay
