//go:build linux

package server

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"github.com/parley-im/parley/internal/focus"
	"github.com/parley-im/parley/internal/netpark"
	"github.com/parley-im/parley/internal/servertest"
	"github.com/parley-im/parley/internal/sipcheck"
)

// Issue 20: a SIP connection quiet for parkAfter is parked with no
// goroutine (guardConn.ParkRead). Input resumes it; so does the idle
// timeout, which closes a connection not in use and parks one in use
// again; so does Close.
func TestGuardParkRead(t *testing.T) {
	pk, err := netpark.New()
	if err != nil {
		t.Fatal(err)
	}
	defer pk.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	g := newSIPGuard(sipcheck.Rules{Allow: focus.Methods}, slog.New(slog.DiscardHandler))
	g.idleTimeout, g.parker, g.parkAfter = 150*time.Millisecond, pk, 10*time.Millisecond
	inUse := true
	g.inUse = func(net.Addr) bool { return inUse }
	gl := &guardListener{Listener: ln, g: g}
	peer, gc := dialGuarded(t, gl)
	defer peer.Close()
	resumed := make(chan struct{}, 1)
	park := func() {
		t.Helper()
		if err := gc.WaitRead(true); err != sip.ErrReadWouldBlock {
			t.Fatalf("WaitRead(true) on a quiet connection: %v, want sip.ErrReadWouldBlock after parkAfter", err)
		}
		if !gc.ParkRead(func() { resumed <- struct{}{} }) {
			t.Fatal("ParkRead refused a quiet plain TCP connection")
		}
		if pk.Parked() != 1 {
			t.Fatalf("Parked = %d, want 1", pk.Parked())
		}
	}
	wake := func(what string) {
		t.Helper()
		select {
		case <-resumed:
		case <-time.After(5 * time.Second):
			t.Fatalf("not resumed by %s", what)
		}
	}

	park()
	peer.Write([]byte("\r\n\r\n"))
	wake("input")
	if err := gc.WaitRead(true); err != nil {
		t.Fatalf("WaitRead after input: %v", err)
	}
	if buf := make([]byte, 8); func() int { n, _ := gc.Read(buf); return n }() != 4 {
		t.Fatal("the keepalive did not come through")
	}

	start := time.Now()
	park() // the idle timeout runs from here: in use, it parks again
	wake("the idle timeout")
	if d := time.Since(start); d < g.idleTimeout {
		t.Fatalf("resumed after %v, before the idle timeout", d)
	}
	if err := gc.WaitRead(true); err != sip.ErrReadWouldBlock {
		t.Fatalf("idle timeout in use: WaitRead = %v, want sip.ErrReadWouldBlock", err)
	}
	if !gc.ParkRead(func() { resumed <- struct{}{} }) {
		t.Fatal("ParkRead refused after the idle timeout")
	}
	inUse = false // read by WaitRead below, on this goroutine
	wake("the second idle timeout")
	if err := gc.WaitRead(true); err != io.EOF {
		t.Fatalf("idle timeout, not in use: WaitRead = %v, want io.EOF", err)
	}

	// Close resumes a parked connection, whose read then fails.
	peer2, gc2 := dialGuarded(t, gl)
	defer peer2.Close()
	gc = gc2
	inUse = true
	g.idleTimeout = time.Hour // only Close can wake it in time
	park()
	gc2.Close()
	wake("Close")
	if err := gc.WaitRead(true); err == nil {
		t.Fatal("WaitRead on a closed connection succeeded")
	}
	if pk.Parked() != 0 {
		t.Fatalf("Parked = %d, want 0", pk.Parked())
	}

	// With the Parker closed, a quiet connection waits on its goroutine
	// past parkAfter, as without one.
	pk.Close()
	peer3, gc3 := dialGuarded(t, gl)
	defer peer3.Close()
	defer gc3.Close()
	go func() { time.Sleep(50 * time.Millisecond); peer3.Write([]byte("\r\n\r\n")) }()
	if err := gc3.WaitRead(true); err != nil {
		t.Fatalf("WaitRead with the Parker closed: %v, want the input", err)
	}
}

// End to end: sipgo's read loop parks a quiet SIP TCP connection and
// resumes it for the next request; Shutdown ends a parked one, leaving no
// goroutine behind.
func TestSIPConnectionParks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := newServer(stopConfig(t, false), slog.New(slog.DiscardHandler), options{sipParkAfter: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer shutdownServer(t, s)
	p, err := servertest.DialSIP("TCP", s.Addrs().SIPTCP)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for range 3 {
		askOptions(t, s, p, s.Addrs().SIPTCP)
		deadline := time.Now().Add(5 * time.Second)
		for s.parker.Parked() != 1 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if n := s.parker.Parked(); n != 1 {
			t.Fatalf("%d connections parked, want the quiet SIP connection", n)
		}
	}
}
