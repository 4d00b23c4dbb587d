//go:build linux

package relay

import (
	"bytes"
	"crypto/tls"
	"net"
	"strconv"
	"testing"
	"unsafe"

	"github.com/parley-im/parley/internal/netpark"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// newParker returns a Parker closed at cleanup, after the servers started
// later are shut down (cleanups run last first).
func newParker(t *testing.T) *netpark.Parker {
	t.Helper()
	p, err := netpark.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// parkNow makes the sweep's request to park once the read loop of c waits
// for input, and waits until the connection is parked: no read loop left.
func parkNow(t *testing.T, srv *Server, pk *netpark.Parker, c *conn, want int) {
	t.Helper()
	waitFor(t, "the read loop waiting for input", func() bool {
		c.parkMu.Lock()
		defer c.parkMu.Unlock()
		return c.idleWait == idleWaiting
	})
	if n := srv.parkWaiting(); n != 0 {
		t.Fatalf("the first tick that saw the wait asked %d connections to park, want none", n)
	}
	if n := srv.parkWaiting(); n != 1 {
		t.Fatalf("the tick after asked %d connections to park, want 1", n)
	}
	waitFor(t, "the connection parked", func() bool { return pk.Parked() == want && readLoopsIn("readIdle") == 0 })
	kept := c.rd != nil
	// The Parker's lock, taken after the read, orders it before the
	// resumed loop's writes (the race detector sees no socket).
	pk.Parked()
	if kept {
		t.Fatal("a parked connection kept its msrp.Reader")
	}
}

// A bound connection the sweep finds waiting parks with no goroutine
// (issue 20); input resumes it, and reading goes on as before, a message
// split across the wake-up included; the peer's close, while parked, ends
// its session.
func TestParkIdleConnection(t *testing.T) {
	pk := newParker(t)
	rec := &recorder{}
	srv := startServer(t, Config{Parker: pk, ParkTick: -1}, rec)
	s, p := boundSession(t, srv, "parked")
	c := connOf(t, s)
	for i := range 5 {
		parkNow(t, srv, pk, c, 1)
		m := msrptest.Bodiless(s.LocalURI(), p.URI)
		m.TID = "park" + strconv.Itoa(i)
		wire := m.Bytes()
		cut := i * len(wire) / 5
		p.SendRaw(wire[:cut]) // the first part wakes it (nothing at i == 0)
		p.SendRaw(wire[cut:])
		p.ExpectResponse(m.TID, msrp.StatusOK)
	}
	if got := rec.numBound(); got != 1 {
		t.Fatalf("%d sessions bound, want 1", got)
	}
	parkNow(t, srv, pk, c, 1)
	p.Close()
	rec.waitEnded(t, s, ClosePeer)
	if pk.Parked() != 0 {
		t.Fatalf("%d connections still parked", pk.Parked())
	}
}

// A parked connection this side closes (Session.Close of its last
// session, Shutdown) resumes and ends as a waiting one would; Shutdown returns with
// connections parked (startServer's cleanup checks it), and an unbound
// connection is never asked to park (its bind deadline stands).
func TestParkedConnectionClosedHere(t *testing.T) {
	pk := newParker(t)
	rec := &recorder{}
	srv := startServer(t, Config{Parker: pk, ParkTick: -1}, rec)
	s1, p1 := boundSession(t, srv, "closed")
	parkNow(t, srv, pk, connOf(t, s1), 1)
	s1.Close(CloseNormal)
	p1.ExpectClosed()
	waitFor(t, "the resumed read loop to forget the connection", func() bool {
		srv.mu.RLock()
		defer srv.mu.RUnlock()
		return len(srv.conns) == 0
	})

	s2, _ := boundSession(t, srv, "shutdown")
	parkNow(t, srv, pk, connOf(t, s2), 1)
	dial(t, srv, peerURI("unbound"))
	waitFor(t, "the unbound connection's read loop", func() bool { return readLoopsIn("readIdle") == 1 })
	for range 2 {
		if n := srv.parkWaiting(); n != 0 {
			t.Fatalf("a tick asked %d connections to park, want none (unbound)", n)
		}
	}
}

// Over TLS the loop parks on the TCP socket, and what wakes it is the
// next record.
func TestParkTLS(t *testing.T) {
	pk := newParker(t)
	srv, client := startTLSServer(t, Config{Parker: pk, ParkTick: -1}, &recorder{})
	u := securePeerURI("parktls")
	s := newSession(t, srv, u)
	raw, err := net.Dial("tcp", srv.TLSAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	p := msrptest.NewPeer(t, tls.Client(raw, client), u)
	defer p.Close()
	bind(t, p, s)
	for i := range 3 {
		parkNow(t, srv, pk, connOf(t, s), 1)
		m := msrptest.Bodiless(s.LocalURI(), u)
		m.TID = "tlspark" + strconv.Itoa(i)
		p.Send(m)
		p.ExpectResponse(m.TID, msrp.StatusOK)
	}
}

// A parked connection whose last session closes while its writer is
// still busy is closed by the writer once drained (the CloseNormal path),
// which resumes the parked loop: the peer gets everything queued, then
// the end of the stream, and the server forgets the connection.
func TestParkedConnectionClosedByWriter(t *testing.T) {
	pk := newParker(t)
	srv := startServer(t, Config{Parker: pk, ParkTick: -1, MaxPendingBytes: 64 << 20}, &recorder{})
	s, p := boundSession(t, srv, "drained")
	c := connOf(t, s)
	parkNow(t, srv, pk, c, 1)
	// More than the kernel's buffers hold: the writer stays busy until
	// the peer reads.
	var ids msrp.IDSource
	body := bytes.Repeat([]byte("x"), 64<<10)
	const n = 256
	for i := range n {
		head, end := frame(&ids, s, "m"+strconv.Itoa(i), body)
		if err := s.EnqueueFrame(head, body, end); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the writer blocked on a full socket", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.writing
	})
	s.Close(CloseNormal) // drains first: the writer closes the socket
	for range n {
		if m := p.ExpectRequest(msrp.MethodSEND); len(m.Body) != len(body) {
			t.Fatalf("a copy of %d octets, want %d", len(m.Body), len(body))
		}
	}
	p.ExpectClosed()
	waitFor(t, "the resumed read loop to forget the connection", func() bool {
		srv.mu.RLock()
		defer srv.mu.RUnlock()
		return len(srv.conns) == 0
	})
}

// A connection stays in the 480-byte size class (issue 20: it is kept
// for every participant); a field added where padding was makes it 576.
func TestConnSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(conn{}); n > 480 {
		t.Fatalf("relay.conn is %d bytes: over the 480-byte size class, it costs 96 more per participant", n)
	}
}

// Once the Parker is closed nothing is asked to park (woken, a loop could
// only wait again), and connections are served as before.
func TestParkerClosedParksNothing(t *testing.T) {
	pk := newParker(t)
	srv := startServer(t, Config{Parker: pk, ParkTick: -1}, &recorder{})
	s, p := boundSession(t, srv, "unparked")
	c := connOf(t, s)
	waitFor(t, "the read loop waiting for input", func() bool {
		c.parkMu.Lock()
		defer c.parkMu.Unlock()
		return c.idleWait == idleWaiting
	})
	pk.Close()
	for range 2 {
		if n := srv.parkWaiting(); n != 0 {
			t.Fatalf("a tick after the Parker closed asked %d connections to park", n)
		}
	}
	m := msrptest.Bodiless(s.LocalURI(), p.URI)
	p.Send(m)
	p.ExpectResponse(m.TID, msrp.StatusOK)
}
