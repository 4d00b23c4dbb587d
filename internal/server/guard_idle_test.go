//go:build unix

package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/focus"
	"github.com/parley-im/parley/internal/sipcheck"
)

// Issue 20: between two messages a plain TCP connection's guard holds no
// read buffer; it waits for input (readIdle) and only then takes one from
// the pool. Each message still reaches sipgo whole, and the raw trace
// (always wrapped around the socket, switched on here) still logs it.
func TestGuardIdleHoldsNoBuffer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var on atomic.Bool
	on.Store(true)
	var traced sipInCounter
	tl := &traceListener{Listener: ln, on: &on, log: slog.New(&traced)}
	gl := &guardListener{Listener: tl, g: newSIPGuard(sipcheck.Rules{Allow: focus.Methods}, slog.New(slog.DiscardHandler))}
	peer, gc := dialGuarded(t, gl)
	defer peer.Close()
	defer gc.Close()
	if gc.raw == nil {
		t.Fatal("a plain TCP connection has no raw connection to wait on")
	}
	msg := func(n int) []byte {
		return []byte("OPTIONS sip:lobby@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK" + string(rune('a'+n)) +
			"\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:lobby@127.0.0.1>\r\nCall-ID: c1\r\nCSeq: " + string(rune('1'+n)) +
			" OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
	}
	buf := make([]byte, 32<<10)
	for i := range 3 {
		if gc.buf != nil {
			t.Fatalf("message %d: the guard holds a %d-octet buffer while nothing is pending", i, len(gc.buf))
		}
		go func() { time.Sleep(20 * time.Millisecond); peer.Write(msg(i)) }()
		n, err := gc.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf[:n], msg(i)) {
			t.Fatalf("message %d reached sipgo as %q", i, buf[:n])
		}
		if !gc.pooled {
			t.Fatalf("message %d was not read by readIdle into a pooled buffer", i)
		}
		// The next Read drops the buffer before it waits: emulate the
		// moment it has framed everything.
		if gc.r != gc.w || len(gc.out) != 0 {
			t.Fatalf("message %d: unframed or unread bytes left", i)
		}
		gc.r, gc.w = 0, 0
		gc.dropBuf()
	}
	if n := traced.n.Load(); n != 3 {
		t.Errorf("the trace logged %d messages in, want 3", n)
	}
}

// sipInCounter is a slog.Handler counting the trace's "SIP in" records.
type sipInCounter struct{ n atomic.Int64 }

func (h *sipInCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *sipInCounter) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *sipInCounter) WithGroup(string) slog.Handler            { return h }
func (h *sipInCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "SIP in" {
		h.n.Add(1)
	}
	return nil
}

// Between messages WaitRead tells sipgo to go on waiting on a fresh
// goroutine (sip.ErrReadWouldBlock) when asked not to wait, and also when
// the idle timeout found the connection in use: the check grew the
// waiting goroutine's stack, which would otherwise stay grown for the
// connection's next quiet minute. A connection not in use ends there.
func TestGuardWaitReadHandsOff(t *testing.T) {
	for _, inUse := range []bool{true, false} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		g := newSIPGuard(sipcheck.Rules{Allow: focus.Methods}, slog.New(slog.DiscardHandler))
		g.idleTimeout = 30 * time.Millisecond
		g.inUse = func(net.Addr) bool { return inUse }
		gl := &guardListener{Listener: ln, g: g}
		peer, gc := dialGuarded(t, gl)
		if err := gc.WaitRead(false); err != sip.ErrReadWouldBlock {
			t.Fatalf("WaitRead(false) on a quiet connection: %v, want sip.ErrReadWouldBlock", err)
		}
		err = gc.WaitRead(true)
		switch {
		case inUse && err != sip.ErrReadWouldBlock:
			t.Errorf("idle timeout on a connection in use: WaitRead(true) = %v, want sip.ErrReadWouldBlock", err)
		case !inUse && err != io.EOF:
			t.Errorf("idle timeout on a connection not in use: WaitRead(true) = %v, want io.EOF", err)
		}
		if inUse {
			// The connection goes on: a message still comes through.
			go func() { time.Sleep(5 * time.Millisecond); peer.Write([]byte("\r\n\r\n")) }()
			if err := gc.WaitRead(true); err != nil {
				t.Errorf("WaitRead after the hand-off: %v", err)
			}
		}
		peer.Close()
		gc.Close()
		ln.Close()
	}
}

// dialGuarded connects to gl's listener and returns the client's end and
// the guard's connection, accepted.
func dialGuarded(t *testing.T, gl *guardListener) (net.Conn, *guardConn) {
	t.Helper()
	peer, err := net.Dial("tcp", gl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := gl.Accept()
	if err != nil {
		peer.Close()
		t.Fatal(err)
	}
	return peer, nc.(*guardConn)
}
