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

	"go.uber.org/goleak"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/servertest"
	"github.com/parley-im/parley/internal/tlsrecord/tlsrecordtest"
)

// SIP over TLS parks as over TCP (siptls.go); these tests drive the
// tls.Conn over a tlsrecord.Reader with input cut at record and segment
// edges.

// startParkingTLS starts a server with SIP over TLS whose quiet
// connections park after 10 ms, with sip.message_timeout messageTimeout
// (0: the default). The caller shuts it down.
func startParkingTLS(t *testing.T, messageTimeout time.Duration) *Server {
	t.Helper()
	cfg := stopConfig(t, false)
	cfg.SIP.TLS, cfg.Server.DataDir = "127.0.0.1:0", t.TempDir()
	if messageTimeout > 0 {
		cfg.SIP.MessageTimeout, cfg.SIP.IdleTimeout = config.Duration(messageTimeout), config.Duration(time.Hour)
	}
	s, err := newServer(cfg, slog.New(slog.DiscardHandler), options{sipParkAfter: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	return s
}

// dialHeld opens a SIP TLS peer to s whose writes can be held (heldConn,
// holdFrom as there); a Write of less than 16 KiB is one record.
func dialHeld(t *testing.T, s *Server, holdFrom int) (*heldConn, *tls.Conn, *servertest.SIP) {
	t.Helper()
	raw, err := net.Dial("tcp", s.Addrs().SIPTLS)
	if err != nil {
		t.Fatal(err)
	}
	hc := &heldConn{Conn: raw, holdFrom: holdFrom}
	tc := tls.Client(hc, &tls.Config{InsecureSkipVerify: true, DynamicRecordSizingDisabled: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	p := servertest.Over(tc)
	p.Transport = "TLS"
	t.Cleanup(func() { p.Close() })
	return hc, tc, p
}

// waitParked fails unless the server's one connection is parked within
// 5 s.
func waitParked(t *testing.T, s *Server, when string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.parker.Parked() != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := s.parker.Parked(); n != 1 {
		t.Fatalf("%s: %d connections parked, want the quiet SIP TLS connection", when, n)
	}
}

// answered reads n answers from p and fails unless each is a 200.
func answered(t *testing.T, s *Server, p *servertest.SIP, n int) {
	t.Helper()
	for i := range n {
		res, err := p.Read(5 * time.Second)
		if err != nil {
			t.Fatalf("answer %d: %v (GuardStats.Stalled = %d)", i, err, s.GuardStats().Stalled)
		}
		if code, _ := servertest.Status(res); code != 200 {
			t.Fatalf("answered:\n%s", res)
		}
	}
}

// Issue 20: a quiet SIP TLS connection parks too, and whatever its input
// looked like is read whole and in order: two requests in two records of
// one TCP segment (the second kept by the Reader, not by tls.Conn, so the
// connection does not park on it), a request split over two records sent
// apart, a record split over two TCP segments sent apart, and a record
// with more than the guard's read buffer.
func TestSIPTLSConnectionParks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := startParkingTLS(t, 0)
	defer shutdownServer(t, s)
	hc, tc, p := dialHeld(t, s, 0)
	host := s.Addrs().SIPTLS
	options := func() []byte { return p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:lobby@" + host}) }

	askOptions(t, s, p, host)
	waitParked(t, s, "after one request")

	hc.hold()
	tc.Write(options())
	tc.Write(options())
	hc.release(0)
	answered(t, s, p, 2)
	waitParked(t, s, "after two records in one segment")

	req := options()
	tc.Write(req[:20])
	time.Sleep(30 * time.Millisecond) // past parkAfter
	tc.Write(req[20:])
	answered(t, s, p, 1)
	waitParked(t, s, "after a request in two records")

	hc.hold()
	tc.Write(options())
	hc.release(7) // the first 7 octets, then the rest apart
	answered(t, s, p, 1)
	waitParked(t, s, "after a record in two segments")

	// One record with more than the guard's read buffer, whose edge falls
	// on a request's end: tls.Conn keeps the rest decrypted, so the
	// connection must not wait on the socket then.
	var burst []byte
	for range 2 * guardReadSize / 1024 {
		burst = append(burst, padded(options(), 1024)...)
	}
	tc.Write(burst)
	answered(t, s, p, 2*guardReadSize/1024)
	waitParked(t, s, "after a record larger than the read buffer")
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
	s := startParkingTLS(t, 300*time.Millisecond)
	defer shutdownServer(t, s)
	hc, tc, p := dialHeld(t, s, 0)
	askOptions(t, s, p, s.Addrs().SIPTLS)

	hc.hold()
	tc.Write(p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:lobby@" + s.Addrs().SIPTLS}))
	rec := hc.held
	hc.held, hc.on = nil, false
	hc.Conn.Write(rec[:3]) // part of the record header, and nothing more
	start := time.Now()
	hc.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, hc.Conn); err != nil {
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
		s := startParkingTLS(t, 0)
		hc, tc, p := dialHeld(t, s, 2) // all but the ClientHello held
		req := p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:lobby@" + s.Addrs().SIPTLS})
		tc.Write(req[:20]) // two records
		tc.Write(req[20:])
		if split < 0 {
			split += len(hc.held) // the second record cut short, its end 30 ms later
		}
		hc.release(split)
		answered(t, s, p, 1)
		shutdownServer(t, s)
	}
}

// A record that carries no data (here an empty application data record,
// RFC 8446 §5.4; a KeyUpdate is read the same way) is gone past: the
// connection is neither closed as stalled nor kept on a goroutine, it
// parks again, and the next request is answered.
func TestSIPTLSEmptyRecord(t *testing.T) {
	const timeout = 200 * time.Millisecond
	s := startParkingTLS(t, timeout)
	defer shutdownServer(t, s)
	c, err := tlsrecordtest.Dial(s.Addrs().SIPTLS)
	if err != nil {
		t.Fatal(err)
	}
	p := servertest.Over(c)
	p.Transport = "TLS"
	defer p.Close()
	host := s.Addrs().SIPTLS
	askOptions(t, s, p, host)
	waitParked(t, s, "after a request")
	if err := c.Inject(tlsrecordtest.ApplicationData, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * timeout) // closed by now if it counted as a stalled message
	waitParked(t, s, "after an empty record")
	if st := s.GuardStats(); st.Stalled != 0 {
		t.Fatalf("GuardStats.Stalled = %d after an empty record", st.Stalled)
	}
	askOptions(t, s, p, host) // written as injected records, in sequence
	waitParked(t, s, "after the next request")
}

// Each record has its own clock: records that each come in two segments,
// further apart than the message timeout, are all read (a record's clock
// starts at its own first wait, not at an earlier record's).
func TestSIPTLSSplitRecordsApart(t *testing.T) {
	const timeout = 200 * time.Millisecond
	s := startParkingTLS(t, timeout)
	defer shutdownServer(t, s)
	hc, tc, p := dialHeld(t, s, 0)
	for i := range 3 {
		if i > 0 {
			time.Sleep(2 * timeout)
		}
		hc.hold()
		tc.Write(p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:lobby@" + s.Addrs().SIPTLS}))
		hc.release(7) // 7 octets, the rest 30 ms later
		answered(t, s, p, 1)
	}
}
