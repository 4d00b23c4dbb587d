//go:build linux

package server

import (
	"bytes"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/focus"
	"github.com/parley-im/parley/internal/netpark"
	"github.com/parley-im/parley/internal/servertest"
	"github.com/parley-im/parley/internal/sipcheck"
	"github.com/parley-im/parley/internal/tlsrecord/tlsrecordtest"
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

// Issue 20: a quiet SIP TLS connection parks too (siptls.go), and
// whatever its input looked like is read whole and in order: two
// requests in two records of one TCP segment (the second kept by the
// Reader, not by tls.Conn, so the connection does not park on it), a
// request split over two records sent apart, and a record split over two
// TCP segments sent apart.
func TestSIPTLSConnectionParks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := stopConfig(t, false)
	cfg.SIP.TLS, cfg.Server.DataDir = "127.0.0.1:0", t.TempDir()
	s, err := newServer(cfg, slog.New(slog.DiscardHandler), options{sipParkAfter: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer shutdownServer(t, s)
	raw, err := net.Dial("tcp", s.Addrs().SIPTLS)
	if err != nil {
		t.Fatal(err)
	}
	hc := &heldConn{Conn: raw}
	tc := tls.Client(hc, &tls.Config{InsecureSkipVerify: true, DynamicRecordSizingDisabled: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	p := servertest.Over(tc)
	p.Transport = "TLS"
	defer p.Close()
	host := s.Addrs().SIPTLS
	parked := func(when string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for s.parker.Parked() != 1 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if n := s.parker.Parked(); n != 1 {
			t.Fatalf("%s: %d connections parked, want the quiet SIP TLS connection", when, n)
		}
	}
	answered := func(n int) {
		t.Helper()
		for range n {
			res, err := p.Read(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if code, _ := servertest.Status(res); code != 200 {
				t.Fatalf("answered:\n%s", res)
			}
		}
	}
	options := func() []byte { return p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:lobby@" + host}) }

	askOptions(t, s, p, host)
	parked("after one request")

	hc.hold()
	tc.Write(options())
	tc.Write(options())
	hc.release(0)
	answered(2)
	parked("after two records in one segment")

	req := options()
	tc.Write(req[:20])
	time.Sleep(30 * time.Millisecond) // past parkAfter
	tc.Write(req[20:])
	answered(1)
	parked("after a request in two records")

	hc.hold()
	tc.Write(options())
	hc.release(7) // the first 7 octets, then the rest apart
	answered(1)
	parked("after a record in two segments")

	// One record with more than the guard's read buffer, whose edge falls
	// on a request's end: tls.Conn keeps the rest decrypted, so the
	// connection must not wait on the socket then.
	var burst []byte
	for range 2 * guardReadSize / 1024 {
		burst = append(burst, padded(options(), 1024)...)
	}
	tc.Write(burst)
	answered(2 * guardReadSize / 1024)
	parked("after a record larger than the read buffer")
}

// padded is req with an X-Pad header field after its request line making
// it size octets long.
func padded(req []byte, size int) []byte {
	line, rest, _ := bytes.Cut(req, []byte("\r\n"))
	pad := size - len(req) - len("X-Pad: \r\n")
	out := append(append([]byte{}, line...), "\r\nX-Pad: "...)
	out = append(out, bytes.Repeat([]byte("a"), pad)...)
	out = append(out, "\r\n"...)
	return append(out, rest...)
}

// heldConn keeps what is written while held, and writes it on release: at
// once, or its first split octets, then the rest 30 ms later. With
// holdFrom n, writes from the nth on are held (2: all but a client's
// ClientHello).
type heldConn struct {
	net.Conn
	held     []byte
	on       bool
	writes   int
	holdFrom int
}

func (h *heldConn) hold() { h.on = true }

func (h *heldConn) release(split int) {
	b := h.held
	h.held, h.on = nil, false
	if split > 0 {
		h.Conn.Write(b[:split])
		time.Sleep(30 * time.Millisecond)
		b = b[split:]
	}
	h.Conn.Write(b)
}

func (h *heldConn) Write(p []byte) (int, error) {
	h.writes++
	if h.on || (h.holdFrom > 0 && h.writes >= h.holdFrom) {
		h.holdFrom = 0
		h.on = true
		h.held = append(h.held, p...)
		return len(p), nil
	}
	return h.Conn.Write(p)
}

// A TLS record begun counts as a SIP message begun: a peer that sends
// part of a record and stops is closed at sip.message_timeout (counted in
// GuardStats.Stalled), not left waiting for the idle timeout.
func TestSIPTLSPartialRecordStalls(t *testing.T) {
	cfg := stopConfig(t, false)
	cfg.SIP.TLS, cfg.Server.DataDir = "127.0.0.1:0", t.TempDir()
	cfg.SIP.MessageTimeout, cfg.SIP.IdleTimeout = config.Duration(300*time.Millisecond), config.Duration(time.Hour)
	s, err := newServer(cfg, slog.New(slog.DiscardHandler), options{sipParkAfter: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer shutdownServer(t, s)
	raw, err := net.Dial("tcp", s.Addrs().SIPTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	hc := &heldConn{Conn: raw}
	tc := tls.Client(hc, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	p := servertest.Over(tc)
	p.Transport = "TLS"
	askOptions(t, s, p, s.Addrs().SIPTLS)

	hc.hold()
	tc.Write(p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:lobby@" + s.Addrs().SIPTLS}))
	rec := hc.held
	hc.held, hc.on = nil, false
	raw.Write(rec[:3]) // part of the record header, and nothing more
	start := time.Now()
	raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, raw); err != nil {
		t.Fatalf("the connection was not closed: %v", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("closed after %v, before the message timeout", d)
	}
	if got := s.GuardStats().Stalled; got != 1 {
		t.Fatalf("GuardStats.Stalled = %d, want 1", got)
	}
}

// The client's first request may come in the same segment as its
// Finished, whole or cut short: the guard reads it past the handshake and
// answers it (its message clock starts with the handshake's end).
func TestSIPTLSFirstRequestWithFinished(t *testing.T) {
	for _, split := range []int{0, -7} {
		cfg := stopConfig(t, false)
		cfg.SIP.TLS, cfg.Server.DataDir = "127.0.0.1:0", t.TempDir()
		s, err := newServer(cfg, slog.New(slog.DiscardHandler), options{sipParkAfter: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		raw, err := net.Dial("tcp", s.Addrs().SIPTLS)
		if err != nil {
			t.Fatal(err)
		}
		hc := &heldConn{Conn: raw, holdFrom: 2} // all but the ClientHello
		tc := tls.Client(hc, &tls.Config{InsecureSkipVerify: true, DynamicRecordSizingDisabled: true})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		p := servertest.Over(tc)
		p.Transport = "TLS"
		req := p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:lobby@" + s.Addrs().SIPTLS})
		tc.Write(req[:20]) // two records
		tc.Write(req[20:])
		if split < 0 {
			split += len(hc.held) // the second record cut short, its end 30 ms later
		}
		hc.release(split)
		res, err := p.Read(5 * time.Second)
		if err != nil {
			t.Fatalf("split %d: no answer: %v (GuardStats.Stalled = %d)", split, err, s.GuardStats().Stalled)
		}
		if code, _ := servertest.Status(res); code != 200 {
			t.Fatalf("split %d: answered:\n%s", split, res)
		}
		p.Close()
		shutdownServer(t, s)
	}
}

// A record that carries no data (here an empty application data record,
// RFC 8446 §5.4; a KeyUpdate is read the same way) is gone past: the
// connection is neither closed as stalled nor kept on a goroutine, it
// parks again, and the next request is answered.
func TestSIPTLSEmptyRecord(t *testing.T) {
	cfg := stopConfig(t, false)
	cfg.SIP.TLS, cfg.Server.DataDir = "127.0.0.1:0", t.TempDir()
	cfg.SIP.MessageTimeout = config.Duration(200 * time.Millisecond)
	s, err := newServer(cfg, slog.New(slog.DiscardHandler), options{sipParkAfter: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer shutdownServer(t, s)
	c, err := tlsrecordtest.Dial(s.Addrs().SIPTLS)
	if err != nil {
		t.Fatal(err)
	}
	p := servertest.Over(c)
	p.Transport = "TLS"
	defer p.Close()
	host := s.Addrs().SIPTLS
	parked := func(when string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for s.parker.Parked() != 1 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if n := s.parker.Parked(); n != 1 {
			t.Fatalf("%s: %d connections parked, want the quiet SIP TLS connection", when, n)
		}
	}
	askOptions(t, s, p, host)
	parked("after a request")
	if err := c.Inject(tlsrecordtest.ApplicationData, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Duration(cfg.SIP.MessageTimeout)) // closed by now if it counted as a stalled message
	parked("after an empty record")
	if st := s.GuardStats(); st.Stalled != 0 {
		t.Fatalf("GuardStats.Stalled = %d after an empty record", st.Stalled)
	}
	askOptions(t, s, p, host) // written as injected records, in sequence
	parked("after the next request")
}

// Each record has its own clock: records that each come in two segments,
// further apart than the message timeout, are all read (a record's clock
// starts at its own first wait, not at an earlier record's).
func TestSIPTLSSplitRecordsApart(t *testing.T) {
	cfg := stopConfig(t, false)
	cfg.SIP.TLS, cfg.Server.DataDir = "127.0.0.1:0", t.TempDir()
	cfg.SIP.MessageTimeout = config.Duration(200 * time.Millisecond)
	s, err := newServer(cfg, slog.New(slog.DiscardHandler), options{sipParkAfter: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer shutdownServer(t, s)
	raw, err := net.Dial("tcp", s.Addrs().SIPTLS)
	if err != nil {
		t.Fatal(err)
	}
	hc := &heldConn{Conn: raw}
	tc := tls.Client(hc, &tls.Config{InsecureSkipVerify: true, DynamicRecordSizingDisabled: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	p := servertest.Over(tc)
	p.Transport = "TLS"
	defer p.Close()
	for i := range 3 {
		if i > 0 {
			time.Sleep(2 * time.Duration(cfg.SIP.MessageTimeout))
		}
		hc.hold()
		tc.Write(p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:lobby@" + s.Addrs().SIPTLS}))
		hc.release(7) // 7 octets, the rest 30 ms later
		res, err := p.Read(5 * time.Second)
		if err != nil {
			t.Fatalf("request %d: no answer: %v (GuardStats.Stalled = %d)", i, err, s.GuardStats().Stalled)
		}
		if code, _ := servertest.Status(res); code != 200 {
			t.Fatalf("request %d answered:\n%s", i, res)
		}
	}
}
