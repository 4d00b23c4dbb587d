package relay

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/coder/websocket"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// countingConn counts the octets a test peer writes and reads: over TLS,
// wrapped around the tls.Conn, the plaintext (what Stats counts).
type countingConn struct {
	net.Conn
	in, out atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

// dialCounting connects a participant over TCP (client nil) or TLS and
// counts its octets.
func dialCounting(t *testing.T, srv *Server, client *tls.Config, self msrp.URI) (*msrptest.Peer, *countingConn) {
	t.Helper()
	var nc net.Conn
	var err error
	if client == nil {
		nc, err = net.DialTimeout("tcp", srv.Addr().String(), waitTimeout)
	} else {
		nc, err = tls.DialWithDialer(&net.Dialer{Timeout: waitTimeout}, "tcp", srv.TLSAddr().String(), client)
	}
	if err != nil {
		t.Fatal(err)
	}
	cc := &countingConn{Conn: nc}
	p := msrptest.NewPeer(t, cc, self)
	t.Cleanup(func() { p.Close() })
	return p, cc
}

// msrpCounts is the part of Stats this file checks.
type msrpCounts struct {
	requests            map[string]uint64
	responses, received map[int]uint64
	in, out             uint64
	byTransport         map[string]int
}

func countsOf(st Stats) msrpCounts {
	return msrpCounts{st.Requests, st.Responses, st.ResponsesReceived, st.BytesIn, st.BytesOut, st.SessionsByTransport}
}

func (m msrpCounts) String() string {
	return fmt.Sprintf("requests %v, responses %v, received %v, bytes in %d out %d, sessions %v",
		m.requests, m.responses, m.received, m.in, m.out, m.byTransport)
}

func (m msrpCounts) equal(o msrpCounts) bool {
	return maps.Equal(m.requests, o.requests) && maps.Equal(m.responses, o.responses) &&
		maps.Equal(m.received, o.received) && m.in == o.in && m.out == o.out && maps.Equal(m.byTransport, o.byTransport)
}

// checkCounts waits until the server's counts are want (the writer counts
// a batch once write(2) has returned, which may be after the peer read it)
// and fails with both if they never are.
func checkCounts(t *testing.T, srv *Server, what string, want msrpCounts) {
	t.Helper()
	var got msrpCounts
	waitFor(t, what, func() bool {
		got = countsOf(srv.Stats())
		return got.equal(want)
	})
	if !got.equal(want) {
		t.Fatalf("%s:\n got %v\nwant %v", what, got, want)
	}
}

// After a scripted exchange over TCP and TLS (and an unbound connection),
// Stats holds exactly the requests by method, the responses by code both
// ways, the octets the peers wrote and read, and the bound sessions by
// transport; the counts survive the connections' closes.
func TestStatsCountMSRPTraffic(t *testing.T) {
	rec := &recorder{code: func(s *Session, m *msrp.Message) int {
		switch {
		case m.Method == msrp.MethodNICKNAME:
			return msrp.StatusNicknameInUse
		case m.Method != msrp.MethodSEND:
			return msrp.StatusMethodNotUnderstood
		case string(m.Body) == "later":
			return 0 // the test answers with Session.Send
		case string(m.Body) == "batch":
			s.Batch().Send(s, m.Response(msrp.StatusUnsupportedMedia, ""))
			return 0
		case string(m.Body) == "enqueue":
			if err := s.Enqueue(m.Response(msrp.StatusOK, "").AppendTo(nil)); err != nil {
				panic(err)
			}
			return 0
		}
		return msrp.StatusOK
	}}
	srv, client := startTLSServer(t, Config{}, rec)
	zero := msrpCounts{
		requests:    map[string]uint64{"SEND": 0, "REPORT": 0, "NICKNAME": 0, "other": 0},
		responses:   map[int]uint64{},
		received:    map[int]uint64{},
		byTransport: map[string]int{"tcp": 0, "tls": 0, "ws": 0, "wss": 0},
	}
	checkCounts(t, srv, "nothing counted yet", zero)

	// Over TCP: bind, then every kind of request and answer.
	u := peerURI("alice")
	s := newSession(t, srv, u)
	p, pc := dialCounting(t, srv, nil, u)
	bind(t, p, s) // SEND, 200
	to := s.LocalURI()
	send := func(m *msrp.Message, code int) {
		t.Helper()
		p.Send(m)
		if code != 0 {
			p.ExpectResponse(m.TID, code)
		}
	}
	send(msrptest.Send(to, u, "text/plain", []byte("one")), msrp.StatusOK)
	// One message in two chunks: a SEND and a 200 each.
	c1 := msrptest.Send(to, u, "text/plain", []byte("abc"), msrptest.WithFlag(msrp.FlagContinue))
	c1.Header.Set(msrp.HeaderByteRange, "1-3/6")
	send(c1, msrp.StatusOK)
	c2 := msrptest.Send(to, u, "text/plain", []byte("def"))
	c2.Header.Set(msrp.HeaderMessageID, c1.MessageID())
	c2.Header.Set(msrp.HeaderByteRange, "4-6/6")
	send(c2, msrp.StatusOK)
	// Failure-Report: no: the 200 is not sent, and not counted.
	send(msrptest.Send(to, u, "text/plain", []byte("quiet"), msrptest.WithHeader(msrp.HeaderFailureReport, "no")), 0)
	send(msrptest.Nickname(to, u, "al"), msrp.StatusNicknameInUse)                                          // the Handler's code
	send(msrptest.Report(to, u, "msgid1234", msrp.StatusOK, msrp.ByteRange{Start: 1, End: 3, Total: 3}), 0) // never answered
	send(&msrp.Message{TID: msrp.NewTID(), Method: "FOO", Header: msrp.Header{
		{Name: msrp.HeaderToPath, Value: to.String()}, {Name: msrp.HeaderFromPath, Value: u.String()},
	}}, msrp.StatusMethodNotUnderstood) // "other"
	ghost := to
	ghost.SessionID = "ghost0000000000000000"
	send(msrptest.Send(ghost, u, "text/plain", []byte("lost")), msrp.StatusSessionDoesNotExist) // the relay's own
	bad := msrptest.Nickname(to, u, "al")
	bad.Header.Del(msrp.HeaderUseNickname)
	send(bad, msrp.StatusBadRequest)
	send(msrptest.Send(to, u, "text/plain", []byte("batch")), msrp.StatusUnsupportedMedia) // Batch.Send
	send(msrptest.Send(to, u, "text/plain", []byte("enqueue")), msrp.StatusOK)             // Session.Enqueue
	later := msrptest.Send(to, u, "text/plain", []byte("later"))
	p.Send(later)
	waitFor(t, "the request handled", func() bool {
		reqs := rec.reqs()
		return len(reqs) > 0 && string(reqs[len(reqs)-1].Body) == "later"
	})
	if err := s.Send(later.Response(299, "Handled elsewhere")); err != nil { // Session.Send
		t.Fatal(err)
	}
	p.ExpectResponse(later.TID, 299)
	// Requests from the relay: the peer answers 200 and 413.
	for _, code := range []int{msrp.StatusOK, msrp.StatusStopSending} {
		if err := s.Send(msrptest.Send(u, to, "text/plain", []byte("to alice"))); err != nil {
			t.Fatal(err)
		}
		m := p.Expect()
		if m.Method != msrp.MethodSEND {
			t.Fatalf("got %s, want the relay's SEND", msrptest.Describe(m))
		}
		p.Send(m.Response(code, ""))
	}
	// Once its 200 is back, everything before it has been read and counted.
	send(msrptest.Bodiless(to, u), msrp.StatusOK)

	// An unbound connection: its response and octets count, its request not.
	lost, lc := dialCounting(t, srv, nil, peerURI("nobody"))
	g := msrptest.Send(ghost, lost.URI, "text/plain", []byte("lost"))
	lost.Send(g)
	lost.ExpectResponse(g.TID, msrp.StatusSessionDoesNotExist)

	// Over TLS: bind and one message.
	su := securePeerURI("bob")
	ss := newSession(t, srv, su)
	tp, tc := dialCounting(t, srv, client, su)
	bind(t, tp, ss)
	m := msrptest.Send(ss.LocalURI(), su, "text/plain", []byte("over TLS"))
	tp.Send(m)
	tp.ExpectResponse(m.TID, msrp.StatusOK)

	octets := func(in bool) uint64 {
		var n int64
		for _, c := range []*countingConn{pc, lc, tc} {
			if in {
				n += c.out.Load() // what the peers wrote, the server read
			} else {
				n += c.in.Load()
			}
		}
		return uint64(n)
	}
	want := msrpCounts{
		// SEND: TCP bind, one, 2 chunks, quiet, ghost, batch, enqueue,
		// later, keep-alive (10); TLS bind and one (2).
		requests: map[string]uint64{"SEND": 12, "REPORT": 1, "NICKNAME": 2, "other": 1},
		responses: map[int]uint64{
			200: 8, // TCP: bind, one, 2 chunks, enqueue, keep-alive; TLS: bind, one
			425: 1, 501: 1, 400: 1, 415: 1, 299: 1,
			481: 2, // bound and unbound connection
		},
		received:    map[int]uint64{200: 1, 413: 1},
		in:          octets(true),
		out:         octets(false),
		byTransport: map[string]int{"tcp": 1, "tls": 1, "ws": 0, "wss": 0},
	}
	checkCounts(t, srv, "the counts after the exchange", want)
	if got := srv.Stats(); got.Requests["SEND"] != 12 || got.BytesIn == 0 {
		t.Fatalf("Stats %+v", got)
	}

	// Closes fold each connection's counts into the totals, unchanged.
	p.Close()
	lost.Close()
	waitFor(t, "the TCP connections forgotten", func() bool { return srv.Stats().ConnsOpen == 1 })
	want.byTransport["tcp"] = 0
	checkCounts(t, srv, "the counts after the TCP connections closed", want)
	tp.Close()
	waitFor(t, "the TLS connection forgotten", func() bool { return srv.Stats().ConnsOpen == 0 })
	want.byTransport["tls"] = 0
	checkCounts(t, srv, "the counts after every connection closed", want)
}

// Over WebSocket the octets are the MSRP messages, without the WebSocket
// frames: what the peer put in and took out of its messages.
func TestStatsCountWebSocket(t *testing.T) {
	srv, url := startWSServer(t, Config{}, &recorder{})
	u := wsPeerURI("alice")
	s := newSession(t, srv, u)
	p := dialWS(t, url, u)
	var in, out uint64
	write := func(m *msrp.Message) {
		b := m.AppendTo(nil)
		in += uint64(len(b))
		p.send(websocket.MessageText, b)
	}
	read := func() *msrp.Message {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		_, data, err := p.ws.Read(ctx)
		if err != nil {
			t.Fatalf("WS read: %v", err)
		}
		out += uint64(len(data))
		m, err := msrp.NewReader(bytes.NewReader(data), msrp.Limits{}).ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		return m.Clone()
	}
	write(msrptest.Bodiless(s.LocalURI(), u))
	if r := read(); r.Code != msrp.StatusOK {
		t.Fatalf("bind: got %s", msrptest.Describe(r))
	}
	write(msrptest.Send(s.LocalURI(), u, "text/plain", []byte("over WebSocket")))
	if r := read(); r.Code != msrp.StatusOK {
		t.Fatalf("got %s", msrptest.Describe(r))
	}
	// A frame the switch would queue: one WebSocket message.
	f := msrptest.Send(u, s.LocalURI(), "text/plain", bytes.Repeat([]byte("x"), 3000), msrptest.WithHeader(msrp.HeaderFailureReport, "partial"))
	if err := s.EnqueueFrame(f.AppendHead(nil), f.Body, f.AppendEnd(nil)); err != nil {
		t.Fatal(err)
	}
	if r := read(); r.Method != msrp.MethodSEND || len(r.Body) != 3000 {
		t.Fatalf("got %s", msrptest.Describe(r))
	}
	want := msrpCounts{
		requests:    map[string]uint64{"SEND": 2, "REPORT": 0, "NICKNAME": 0, "other": 0},
		responses:   map[int]uint64{200: 2},
		received:    map[int]uint64{},
		in:          in,
		out:         out,
		byTransport: map[string]int{"tcp": 0, "tls": 0, "ws": 1, "wss": 0},
	}
	checkCounts(t, srv, "the WebSocket counts", want)
	p.ws.CloseNow()
	waitFor(t, "the connection forgotten", func() bool { return srv.Stats().ConnsOpen == 0 })
	want.byTransport["ws"] = 0
	checkCounts(t, srv, "the WebSocket counts after the close", want)
}

// Octets a connection's writer writes after the connection was folded
// (a drain after ClosePeer) go to the totals, once.
func TestStatsOutputAfterFold(t *testing.T) {
	srv := New(Config{}, nil)
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := newConn(srv, 1, a)
	c.mu.Lock()
	late := c.countWrittenLocked(100)
	c.countSentLocked(msrp.StatusOK)
	c.mu.Unlock()
	if late != 0 {
		t.Fatalf("late %d before the fold", late)
	}
	c.close(CloseNormal, nil)
	srv.mu.Lock()
	srv.foldLocked(c)
	srv.foldLocked(c) // once only
	srv.mu.Unlock()
	c.mu.Lock()
	late = c.countWrittenLocked(23)
	c.mu.Unlock()
	if late != 23 {
		t.Fatalf("late %d after the fold, want 23", late)
	}
	srv.addLateBytesOut(late)
	if st := srv.Stats(); st.BytesOut != 123 || !maps.Equal(st.Responses, map[int]uint64{200: 1}) {
		t.Fatalf("BytesOut %d, Responses %v; want 123 and one 200", st.BytesOut, st.Responses)
	}
}

// Past its slots, a connection counts further status codes in its odd
// map, exactly.
func TestStatsCodeSlotsOverflow(t *testing.T) {
	srv := New(Config{}, nil)
	c := &conn{srv: srv, rx: new(rxCounters)}
	codes := []int{200, 200, 481, 413, 400, 200, 506, 299, 299, 999}
	want := map[int]uint64{}
	for _, code := range codes {
		want[code]++
		c.mu.Lock()
		c.countSentLocked(code)
		c.mu.Unlock()
		c.countRead(&msrp.Message{Code: code})
	}
	st := Stats{Responses: map[int]uint64{}, ResponsesReceived: map[int]uint64{}}
	var req [numMethods]uint64
	c.addCounts(&req, &st)
	if !maps.Equal(st.Responses, want) || !maps.Equal(st.ResponsesReceived, want) {
		t.Fatalf("sent %v, received %v; want %v both", st.Responses, st.ResponsesReceived, want)
	}
	if req != [numMethods]uint64{} {
		t.Fatalf("requests %v", req)
	}
}

func TestResponseCode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"MSRP a786hjs2 200 OK\r\n", 200},
		{"MSRP a786hjs2 481\r\n", 481},
		{"MSRP a786hjs2 299 Handled elsewhere\r\nTo-Path: x\r\n", 299},
		{"MSRP a786hjs2 SEND\r\n", 0},
		{"MSRP a786hjs2 REPORT\r\n", 0},
		{"MSRP a786hjs2 099 Low\r\n", 0},
		{"MSRP a786hjs2 2000\r\n", 0},
		{"MSRP a786hjs2 20", 0},
		{"MSRP  200 OK\r\n", 0},
		{"msrp a786hjs2 200 OK\r\n", 0},
		{"Hello, world", 0},
		{"", 0},
		{"MSRP 0123456789abcdef0123456789abcdef0 200 OK\r\n", 0}, // a transaction id of 33
	} {
		if got := responseCode([]byte(tc.in)); got != tc.want {
			t.Errorf("responseCode(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
	if got := unitResponseCode([][]byte{nil, {}, []byte("MSRP x1y2z3 413 Stop\r\n")}); got != 413 {
		t.Errorf("unitResponseCode: %d, want 413", got)
	}
}

// The read side's counters are exactly 128 octets: an object of that size
// class shares no cache line with another (stats.go).
func TestRxCountersFillTwoCacheLines(t *testing.T) {
	if n := unsafe.Sizeof(rxCounters{}); n != 128 {
		t.Fatalf("rxCounters is %d octets, want 128", n)
	}
	if !slices.Equal(methodNames[:], []string{"SEND", "REPORT", "NICKNAME", "other"}) {
		t.Fatal(methodNames)
	}
}
