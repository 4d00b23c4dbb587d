package relay

import (
	"runtime/debug"
	"sync"
	"time"
)

// Idle connections hold no buffers (issue 7: ≤ 16 KiB of server memory per
// idle participant):
//
//   - the read loop waits for input without a read buffer (readIdle), on a
//     fresh goroutine whose stack is the minimum (see readLoop), and takes
//     a buffer from the server's pool when input arrives; over TLS too,
//     once the handshake is done (tlsTransport.quiet), where what readIdle
//     read is ciphertext that a tlsrecord.Reader hands to tls.Conn;
//   - the writer keeps its queue arrays from one burst of output to the
//     next, and its arena when the burst used much of it (a busy
//     connection reuses them without allocating); a light burst's arena
//     goes back to the pool as the writer drains (arenaLight), and
//     ReleaseIdle, run every Config.IdleSweep, drops the rest from
//     connections that have written nothing since the previous sweep;
//   - writev's iovec array is borrowed from the server's pool for each
//     batch (writeBuffers), where net.Buffers would keep one per socket.

// readBufSize is the size of pooled read buffers: msrp.Reader's initial
// size. A Reader that grew its buffer for a large message keeps it.
const readBufSize = 4 << 10

// DefaultIdleSweep is the default of Config.IdleSweep.
const DefaultIdleSweep = 10 * time.Second

// pools holds buffers connections borrow while active.
type pools struct {
	read  sync.Pool // *[readBufSize]byte
	iov   sync.Pool // *iovecs, for writeBuffers
	batch sync.Pool // *batchState, for Batch
	arena sync.Pool // *[arenaSize]byte, for copyToArena
	// coalesce holds the buffers a TLS connection copies a batch into
	// (tlsTransport.write), borrowed per batch like the iovecs.
	coalesce sync.Pool // *[tlsWriteSize]byte
}

func (p *pools) getCoalesce() *[tlsWriteSize]byte {
	if b, ok := p.coalesce.Get().(*[tlsWriteSize]byte); ok {
		return b
	}
	return new([tlsWriteSize]byte)
}

func (p *pools) putCoalesce(b *[tlsWriteSize]byte) { p.coalesce.Put(b) }

// getArena returns an empty arena block for at least n octets.
func (p *pools) getArena(n int) []byte {
	if n > arenaSize {
		return make([]byte, 0, n)
	}
	if b, ok := p.arena.Get().(*[arenaSize]byte); ok {
		return b[:0]
	}
	return make([]byte, 0, arenaSize)
}

// putArena recycles an arena block nothing refers to any more.
func (p *pools) putArena(b []byte) {
	if cap(b) == arenaSize {
		p.arena.Put((*[arenaSize]byte)(b[:arenaSize]))
	}
}

func (p *pools) getBatch() *batchState {
	if st, ok := p.batch.Get().(*batchState); ok {
		return st
	}
	return new(batchState)
}

// putBatch recycles an emptied batch (batchState.reset).
func (p *pools) putBatch(st *batchState) { p.batch.Put(st) }

func (p *pools) getRead() []byte {
	if b, ok := p.read.Get().(*[readBufSize]byte); ok {
		return b[:]
	}
	return make([]byte, readBufSize)
}

// putRead recycles b if it is a pooled-size buffer (nil is ignored).
func (p *pools) putRead(b []byte) {
	if cap(b) == readBufSize {
		p.read.Put((*[readBufSize]byte)(b[:readBufSize]))
	}
}

func (p *pools) getIovecs() *iovecs {
	if v, ok := p.iov.Get().(*iovecs); ok {
		return v
	}
	return new(iovecs)
}

// putIovecs recycles v, which must hold no pointers any more.
func (p *pools) putIovecs(v *iovecs) { p.iov.Put(v) }

// ReleaseIdle drops the output buffers (arena, queue arrays) of every
// connection that has queued nothing since the previous call and has
// nothing queued now, and returns about how many bytes it let go. The
// server calls it every Config.IdleSweep; so an idle connection's output
// buffers go within one to two sweeps.
func (s *Server) ReleaseIdle() int {
	s.mu.RLock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.RUnlock()
	n := 0
	for _, c := range conns {
		n += c.releaseIfIdle()
	}
	return n
}

// releaseIfIdle: see ReleaseIdle. It returns the bytes released.
func (c *conn) releaseIfIdle() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.writing || len(c.q) > 0:
	case c.active:
		c.active = false
	default:
		n := cap(c.arena) + 24*(cap(c.q)+cap(c.spare))
		for _, b := range c.full {
			n += cap(b)
		}
		if c.lent {
			// The writer gave its arena back to the pool when it drained
			// (writeLoop): memory nothing needs now the connection idles,
			// which the sweep's count must see to hand it back to the
			// system (freeOSAfter).
			n += arenaSize
		}
		c.arena, c.q, c.spare, c.full, c.fullSpare, c.lent = nil, nil, nil, nil, nil, false
		return n
	}
	return 0
}

// freeOSAfter is how many bytes one sweep must release for the sweep to
// hand memory back to the operating system at once (debug.FreeOSMemory:
// a garbage collection, then the free pages returned). An idle server
// allocates nothing, so without it nothing would collect what the sweep
// let go until the runtime's two-minute forced collection, and the
// scavenger returns pages slowly after that: after a burst of joins (each
// notice to a room fills a 16 KiB arena per member) parleyd's RSS stayed
// at twice what the participants need.
const freeOSAfter = 4 << 20

// freeOSAgain is after how many more sweeps memory is handed back a second
// time: the SIP transactions of the same burst end later (RFC 6026 Timer
// L, 64·T1 = 32 s, after each 2xx to an INVITE), and what they held would
// otherwise wait for the runtime's forced collection too.
const freeOSAgain = 4

// startSweeper arms the idle sweep. s.mu is held.
func (s *Server) startSweeperLocked() {
	if s.sweeper == nil && !s.shutdown {
		s.sweeper = time.AfterFunc(s.cfg.IdleSweep, s.sweep)
	}
	s.startParkTickLocked()
}

// sweep runs on the sweep timer's goroutine.
func (s *Server) sweep() {
	if !s.enter() {
		return // shutting down
	}
	defer s.wg.Done()
	if s.ReleaseIdle() >= freeOSAfter {
		debug.FreeOSMemory()
		s.freeAgain = freeOSAgain
	} else if s.freeAgain > 0 {
		if s.freeAgain--; s.freeAgain == 0 {
			debug.FreeOSMemory()
		}
	}
	s.mu.Lock()
	if !s.shutdown {
		s.sweeper.Reset(s.cfg.IdleSweep)
	}
	s.mu.Unlock()
}
