package relay

import (
	"bytes"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/parley-im/parley/msrp"
)

// Stats is a snapshot of the server's counters. The arrays are indexed by
// CloseReason: st.ConnsClosed[relay.CloseSlowConsumer]. The limits of issue
// 14 show there too: ConnsClosed[CloseStalled] (progress timeout) and
// ConnsClosed[CloseSourceLimit] (unbound connections per source).
type Stats struct {
	ConnsAccepted      uint64 // connections accepted
	ConnsOpen          int    // connections currently open (or closing)
	SessionsCreated    uint64 // NewSession calls that succeeded
	SessionsBound      uint64 // sessions bound by their peer's first request
	SessionsOpen       int    // sessions not yet ended
	Congested          uint64 // times a connection became congested
	OffersDropped      uint64 // Session.Offer calls dropped for congestion
	Writes             uint64 // batches written (one writev each)
	HandlerPanics      uint64 // Handler panics recovered by a read loop (each closed its connection: CloseInternalError)
	BindsRefused       uint64 // binding requests answered 403: the connection had Config.MaxSessionsPerConn sessions
	ShutdownUnanswered uint64 // requests read after Shutdown began: not dispatched, not answered (the connection closed)
	WSRefused          uint64 // WebSocket upgrades refused (no msrp subprotocol, Origin, a bad handshake): nothing upgraded

	ConnsClosed   [numCloseReasons]uint64 // connection closes, by reason
	SessionsEnded [numCloseReasons]uint64 // session ends, by reason (Session.Close included)

	// The MSRP traffic (issue 18), counted per connection and added to the
	// server's totals when the connection is forgotten (see "Counting
	// without a shared cache line" below); each field holds the totals
	// plus the counts of the connections still open. The maps are fresh
	// copies.

	// Requests counts the MSRP requests read on bound connections, by
	// method: "SEND" (one per chunk), "REPORT", "NICKNAME", and "other"
	// for any other method. A connection counts from the request that
	// binds its first session, that one included; a request is counted
	// whatever its fate (dispatched, answered 400, 413 or 481, skipped
	// during Shutdown). The four keys are always present.
	Requests map[string]uint64
	// Responses counts the MSRP responses parleyd queued for sending, by
	// status code, on any connection: the relay's own (400, 403, 413, 481,
	// 506, the 200 to a bodiless SEND, the Handler's returned code) and
	// those a Handler queues itself (Session.Send, Enqueue, Offer, or
	// Batch.Send: any unit whose first octets are an MSRP response start
	// line). A response not sent because the request's Failure-Report
	// forbids it (msrp.Message.WantsResponse) is not counted, nor one that
	// could not be queued (closed connection, slow consumer, Shutdown); a
	// response queued and then lost with its connection is.
	Responses map[int]uint64
	// ResponsesReceived counts the MSRP responses read on bound
	// connections, by status code (whether or not they answer anything
	// the relay sent).
	ResponsesReceived map[int]uint64
	// BytesIn and BytesOut count MSRP octets on every connection, bound or
	// not: the byte stream as the read loop hands it to msrp.Reader and as
	// the writer hands it to the transport. Over raw TCP that is what the
	// socket carries; over TLS it is the plaintext (no record headers,
	// tags or handshake); over WebSocket the MSRP messages without the
	// frame headers (and without control frames or the HTTP upgrade).
	BytesIn, BytesOut uint64
	// SessionsByTransport counts the bound sessions now open by the kind
	// of connection they are bound to: "tcp", "tls", "ws", "wss" (all four
	// keys always present). Unbound sessions are in SessionsOpen only.
	SessionsByTransport map[string]int
}

// Counting without a shared cache line (issue 18: metrics must not add a
// shared cache line per delivery). The MSRP counters are kept per
// connection, each by whoever already owns that part of it:
//
//   - the read side (rxCounters: requests by method, responses received,
//     octets read) by the connection's read goroutine alone, in an object
//     of its own (conn.rx) that shares no cache line with anything;
//   - the output side (conn.tx, txBytes: responses queued, octets written)
//     under conn.mu, in the critical sections that queue the response
//     (push, pushBatch) or account for the written batch (writeLoop)
//     anyway.
//
// A fan-out copy is a frame entry and costs nothing here: copies are
// counted by the switch, once per message. The fields are atomics so that
// Stats, at scrape time, reads them without the owners' help; their
// writers are serialised (one read goroutine; conn.mu), so a status-code
// slot is claimed with a plain store. When a connection is forgotten (its
// read loop ended: finish), its counts are added once to the server's
// totals (msrpTotals, under a leaf mutex) and the connection is marked
// folded; octets its writer still writes after that (a drain after
// ClosePeer) go to the totals directly. Stats holds Server.mu's read lock
// while it reads the totals and the open connections, and the fold happens
// under its write lock, so a scrape counts every connection once, and
// successive scrapes never go down.

// MSRP request methods as Stats.Requests counts them.
const (
	methodSEND = iota
	methodREPORT
	methodNICKNAME
	methodOther
	numMethods
)

var methodNames = [numMethods]string{"SEND", "REPORT", "NICKNAME", "other"}

func methodIndex(method string) int {
	switch method {
	case msrp.MethodSEND:
		return methodSEND
	case msrp.MethodREPORT:
		return methodREPORT
	case msrp.MethodNICKNAME:
		return methodNICKNAME
	}
	return methodOther
}

// transportNames names the kinds of connection in Stats.SessionsByTransport.
var transportNames = [...]string{kindTCP: "tcp", kindTLS: "tls", kindWS: "ws", kindWSS: "wss"}

// codeSlots is how many distinct status codes a connection counts in
// place, per direction: a connection sees 200 and a few failures. Codes
// past them go to its oddCodes.
const codeSlots = 4

// codeCounts counts responses by status code. Its writers must be
// serialised (the read goroutine, or conn.mu); readers need no lock.
type codeCounts struct {
	code [codeSlots]atomic.Uint32 // 0: free; set once
	n    [codeSlots]atomic.Uint64
}

// add counts one response with code (100–999); false: every slot holds
// another code.
func (cc *codeCounts) add(code int) bool {
	for i := range cc.code {
		switch cc.code[i].Load() {
		case uint32(code):
			cc.n[i].Add(1)
			return true
		case 0:
			cc.code[i].Store(uint32(code))
			cc.n[i].Add(1)
			return true
		}
	}
	return false
}

// addTo adds the counts to m.
func (cc *codeCounts) addTo(m map[int]uint64) {
	for i := range cc.code {
		if code := cc.code[i].Load(); code != 0 {
			if n := cc.n[i].Load(); n != 0 {
				m[int(code)] += n
			}
		}
	}
}

// rxCounters is what a connection's read goroutine counts (conn.rx). It is
// exactly 128 octets, allocated on its own: the allocator places objects
// of that size class at multiples of 128, so the block fills two whole
// cache lines (one adjacent-line pair) and shares them with no other
// object, least of all with the conn fields other goroutines lock and
// write for every copy (conn.mu, q, pending). Only the read goroutine
// writes it; Stats reads it at scrape time. A test checks the size.
type rxCounters struct {
	requests [numMethods]atomic.Uint64 // by methodIndex, on a bound connection
	bytes    atomic.Uint64             // MSRP octets read
	codes    codeCounts                // responses read on a bound connection
	_        [128 - numMethods*8 - 8 - codeSlots*12]byte
}

// oddCodes counts the status codes of a connection past its codeSlots
// (conn.odd, made at the first): rare, so a mutex.
type oddCodes struct {
	mu      sync.Mutex // a leaf (taken under conn.mu)
	in, out map[int]uint64
}

func (o *oddCodes) add(out bool, code int) {
	o.mu.Lock()
	if out {
		o.out[code]++
	} else {
		o.in[code]++
	}
	o.mu.Unlock()
}

// msrpTotals are the counts of the connections forgotten so far, and the
// octets their writers wrote after that.
type msrpTotals struct {
	mu                           sync.Mutex // a leaf (taken under Server.mu, or with no lock held)
	requests                     [numMethods]uint64
	responses, responsesReceived map[int]uint64
	bytesIn, bytesOut            uint64
}

// oddCodes returns c's oddCodes, made if need be.
func (c *conn) oddCodes() *oddCodes {
	if o := c.odd.Load(); o != nil {
		return o
	}
	o := &oddCodes{in: make(map[int]uint64), out: make(map[int]uint64)}
	if !c.odd.CompareAndSwap(nil, o) {
		return c.odd.Load()
	}
	return o
}

// countRead counts a message read on a bound connection. Only on the read
// goroutine.
func (c *conn) countRead(m *msrp.Message) {
	if m.IsRequest() {
		c.rx.requests[methodIndex(m.Method)].Add(1)
		return
	}
	if m.Code >= 100 && !c.rx.codes.add(m.Code) {
		c.oddCodes().add(false, m.Code)
	}
}

// countReadBytes counts n octets read.  Only on the read goroutine.
func (c *conn) countReadBytes(n int) {
	if n > 0 {
		c.rx.bytes.Add(uint64(n))
	}
}

// countSentLocked counts a response with code queued on c. c.mu is held,
// and c is open (so not folded: finish folds a closed connection).
func (c *conn) countSentLocked(code int) {
	if !c.tx.add(code) {
		c.oddCodes().add(true, code)
	}
}

// countWrittenLocked counts n octets written by c's writer; it returns
// what must go to the server's totals instead (c was folded), to be
// added once c.mu is released. c.mu is held.
func (c *conn) countWrittenLocked(n int64) (late uint64) {
	switch {
	case n <= 0:
		return 0
	case c.folded:
		return uint64(n)
	}
	c.txBytes.Add(uint64(n))
	return 0
}

// addLateBytesOut adds octets written after their connection was folded.
func (s *Server) addLateBytesOut(n uint64) {
	t := &s.stats.msrp
	t.mu.Lock()
	t.bytesOut += n
	t.mu.Unlock()
}

// foldLocked adds c's counts to the server's totals, once, when c is
// forgotten (deleted from s.conns in the same critical section). Its read
// side has ended (finish runs on the read goroutine after the last read,
// or the read loop never ran), and it is closed: nothing more is queued
// on it, and what its writer still writes goes to the totals
// (countWrittenLocked). s.mu is held for writing.
func (s *Server) foldLocked(c *conn) {
	c.mu.Lock()
	if c.folded {
		c.mu.Unlock()
		return
	}
	c.folded = true
	c.mu.Unlock()
	var req [numMethods]uint64
	add := Stats{Responses: make(map[int]uint64), ResponsesReceived: make(map[int]uint64)}
	c.addCounts(&req, &add)
	t := &s.stats.msrp
	t.mu.Lock()
	if t.responses == nil {
		t.responses, t.responsesReceived = make(map[int]uint64), make(map[int]uint64)
	}
	for i := range req {
		t.requests[i] += req[i]
	}
	for code, n := range add.Responses {
		t.responses[code] += n
	}
	for code, n := range add.ResponsesReceived {
		t.responsesReceived[code] += n
	}
	t.bytesIn += add.BytesIn
	t.bytesOut += add.BytesOut
	t.mu.Unlock()
}

// addCounts adds c's MSRP counts to req (by methodIndex) and st's maps
// and byte counts (made by the caller).
func (c *conn) addCounts(req *[numMethods]uint64, st *Stats) {
	if rx := c.rx; rx != nil {
		for i := range req {
			req[i] += rx.requests[i].Load()
		}
		rx.codes.addTo(st.ResponsesReceived)
		st.BytesIn += rx.bytes.Load()
	}
	c.tx.addTo(st.Responses)
	st.BytesOut += c.txBytes.Load()
	if o := c.odd.Load(); o != nil {
		o.mu.Lock()
		for code, n := range o.in {
			st.ResponsesReceived[code] += n
		}
		for code, n := range o.out {
			st.Responses[code] += n
		}
		o.mu.Unlock()
	}
}

// counters are the server's live counters, updated without locks.
type counters struct {
	connsAccepted      atomic.Uint64
	sessionsCreated    atomic.Uint64
	sessionsBound      atomic.Uint64
	congested          atomic.Uint64
	offersDropped      atomic.Uint64
	writes             atomic.Uint64
	handlerPanics      atomic.Uint64
	bindsRefused       atomic.Uint64
	shutdownUnanswered atomic.Uint64
	wsRefused          atomic.Uint64
	connsClosed        [numCloseReasons]atomic.Uint64
	sessionsEnded      [numCloseReasons]atomic.Uint64

	msrp msrpTotals // the MSRP counts of forgotten connections (foldLocked)
}

func (c *counters) connClosed(r CloseReason) {
	if int(r) < numCloseReasons {
		c.connsClosed[r].Add(1)
	}
}

func (c *counters) sessionEnded(r CloseReason) {
	if int(r) < numCloseReasons {
		c.sessionsEnded[r].Add(1)
	}
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	var st Stats
	st.ConnsAccepted = s.stats.connsAccepted.Load()
	st.SessionsCreated = s.stats.sessionsCreated.Load()
	st.SessionsBound = s.stats.sessionsBound.Load()
	st.Congested = s.stats.congested.Load()
	st.OffersDropped = s.stats.offersDropped.Load()
	st.Writes = s.stats.writes.Load()
	st.HandlerPanics = s.stats.handlerPanics.Load()
	st.BindsRefused = s.stats.bindsRefused.Load()
	st.ShutdownUnanswered = s.stats.shutdownUnanswered.Load()
	st.WSRefused = s.stats.wsRefused.Load()
	for i := range numCloseReasons {
		st.ConnsClosed[i] = s.stats.connsClosed[i].Load()
		st.SessionsEnded[i] = s.stats.sessionsEnded[i].Load()
	}
	// The totals and the open connections under one read lock: a
	// connection is folded into the totals under the write lock
	// (foldLocked), so it is counted here once.
	var req [numMethods]uint64
	st.SessionsByTransport = make(map[string]int, len(transportNames))
	for _, name := range transportNames {
		st.SessionsByTransport[name] = 0
	}
	s.mu.RLock()
	st.ConnsOpen = len(s.conns)
	st.SessionsOpen = len(s.sessions)
	t := &s.stats.msrp
	t.mu.Lock()
	req = t.requests
	st.Responses = maps.Clone(t.responses)
	st.ResponsesReceived = maps.Clone(t.responsesReceived)
	st.BytesIn, st.BytesOut = t.bytesIn, t.bytesOut
	t.mu.Unlock()
	if st.Responses == nil {
		st.Responses, st.ResponsesReceived = make(map[int]uint64), make(map[int]uint64)
	}
	for c := range s.conns {
		c.addCounts(&req, &st)
		if k := c.tr.kind(); int(k) < len(transportNames) {
			st.SessionsByTransport[transportNames[k]] += len(c.sessions)
		}
	}
	s.mu.RUnlock()
	st.Requests = make(map[string]uint64, numMethods)
	for i, name := range methodNames {
		st.Requests[name] = req[i]
	}
	return st
}

// responseCode returns the status code of the MSRP response whose start
// line b begins with ("MSRP" SP transact-id SP status-code, RFC 4975 §9),
// or 0 when b begins with something else: a request's start line, a body.
// A transaction id is at most 32 characters.
func responseCode(b []byte) int {
	if len(b) < 11 || string(b[:5]) != "MSRP " {
		return 0
	}
	b = b[5:]
	sp := bytes.IndexByte(b[:min(len(b), 33)], ' ')
	if sp < 1 || len(b) < sp+4 {
		return 0
	}
	d := b[sp+1 : sp+4]
	if d[0] < '1' || d[0] > '9' || d[1] < '0' || d[1] > '9' || d[2] < '0' || d[2] > '9' {
		return 0
	}
	if len(b) > sp+4 && b[sp+4] != ' ' && b[sp+4] != '\r' {
		return 0
	}
	return int(d[0]-'0')*100 + int(d[1]-'0')*10 + int(d[2]-'0')
}

// unitResponseCode is responseCode of a unit queued as slices: its first
// non-empty one.
func unitResponseCode(bufs [][]byte) int {
	for _, b := range bufs {
		if len(b) > 0 {
			return responseCode(b)
		}
	}
	return 0
}
