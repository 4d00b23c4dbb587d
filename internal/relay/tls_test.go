package relay

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/certs"
	"github.com/parley-im/parley/internal/tlsrecord/tlsrecordtest"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// tlsPair is a self-signed certificate for 127.0.0.1 and a client
// configuration that trusts it.
func tlsPair(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	st, _, err := certs.SelfSigned(t.TempDir(), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(st.Certificate().Leaf)
	return st.ServerConfig(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// startTLSServer is startServer with an msrps listener too.
func startTLSServer(t testing.TB, cfg Config, h Handler) (*Server, *tls.Config) {
	t.Helper()
	var client *tls.Config
	cfg.TLS, client = tlsPair(t)
	cfg.TLSAddr = "127.0.0.1:0"
	return startServer(t, cfg, h), client
}

func securePeerURI(name string) msrp.URI {
	return msrp.MustParseURI("msrps://client.example.com:7777/" + name + "0000;tcp")
}

// dialTLS connects a participant to the msrps listener over TLS.
func dialTLS(t testing.TB, srv *Server, client *tls.Config, self msrp.URI) *msrptest.Peer {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: waitTimeout}, "tcp", srv.TLSAddr().String(), client)
	if err != nil {
		t.Fatalf("dial TLS: %v", err)
	}
	p := msrptest.NewPeer(t, c, self)
	t.Cleanup(func() { p.Close() })
	return p
}

// A peer with an msrps URI gets an msrps session on the TLS listener,
// binds it over TLS, and what the switch queues arrives whole and in
// order: frames small and large (a 40 KiB body goes out uncopied), many
// per batch, coalesced into few TLS records.
func TestTLSSession(t *testing.T) {
	rec := &recorder{}
	srv, client := startTLSServer(t, Config{}, rec)
	u := securePeerURI("alice")
	s := newSession(t, srv, u)
	local := s.LocalURI()
	if !local.Secure || local.Port != srv.TLSAddr().(*net.TCPAddr).Port {
		t.Fatalf("session URI %s: want msrps on the TLS port %v", local, srv.TLSAddr())
	}
	p := dialTLS(t, srv, client, u)
	bind(t, p, s)
	m := msrptest.Send(local, u, "text/plain", []byte("over TLS"))
	p.Send(m)
	p.ExpectResponse(m.TID, msrp.StatusOK)
	waitFor(t, "the request handled", func() bool { return len(rec.reqs()) == 1 })

	writes := srv.Stats().Writes
	const n = 300
	bodies := make([][]byte, n)
	for i := range n {
		size := 100 + i
		if i%100 == 50 {
			size = 40 << 10 // written directly, between copied ones
		}
		bodies[i] = bytes.Repeat([]byte{byte('a' + i%26)}, size)
		out := msrptest.Send(u, local, "text/plain", bodies[i])
		head := out.AppendHead(nil)
		if err := s.Enqueue(head, bodies[i], out.AppendEnd(nil)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		got := p.ExpectRequest(msrp.MethodSEND)
		if !bytes.Equal(got.Body, bodies[i]) {
			t.Fatalf("message %d: body of %d octets, want %d", i, len(got.Body), len(bodies[i]))
		}
	}
	if w := srv.Stats().Writes - writes; w > n/2 {
		t.Errorf("%d batches for %d frames: the writer does not batch", w, n)
	}
}

// A session binds only over the kind of connection its URI names: an
// msrps session not over plain TCP, an msrp one not over TLS (481).
func TestTLSBindWrongTransport(t *testing.T) {
	rec := &recorder{}
	srv, client := startTLSServer(t, Config{}, rec)

	su := securePeerURI("bob")
	secure := newSession(t, srv, su)
	plain := dial(t, srv, su)
	b := msrptest.Bodiless(secure.LocalURI(), su)
	plain.Send(b)
	plain.ExpectResponse(b.TID, msrp.StatusSessionDoesNotExist)

	pu := peerURI("carol")
	clear := newSession(t, srv, pu)
	if clear.LocalURI().Secure {
		t.Fatalf("plain peer got %s", clear.LocalURI())
	}
	overTLS := dialTLS(t, srv, client, pu)
	b = msrptest.Bodiless(clear.LocalURI(), pu)
	overTLS.Send(b)
	overTLS.ExpectResponse(b.TID, msrp.StatusSessionDoesNotExist)

	// Each still binds where it belongs.
	bind(t, dialTLS(t, srv, client, su), secure)
	bind(t, dial(t, srv, pu), clear)
	if rec.numBound() != 2 {
		t.Errorf("%d sessions bound, want 2", rec.numBound())
	}
}

// Without a TLS listener, an msrps peer gets no session.
func TestTLSNoListener(t *testing.T) {
	srv := startServer(t, Config{}, nil)
	if _, err := srv.NewSession([]msrp.URI{securePeerURI("dave")}, nil); !errors.Is(err, ErrNoTLS) {
		t.Fatalf("NewSession: %v, want ErrNoTLS", err)
	}
}

// A TLS handshake that never finishes (a client that connects and says
// nothing, or speaks plain MSRP to the TLS port) is closed within the bind
// timeout with CloseHandshake, and the server serves on.
func TestTLSHandshakeNeverFinishes(t *testing.T) {
	const bindTimeout = 300 * time.Millisecond
	srv, client := startTLSServer(t, Config{BindTimeout: bindTimeout}, nil)
	silent, err := net.Dial("tcp", srv.TLSAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	plain, err := net.Dial("tcp", srv.TLSAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	fmt.Fprintf(plain, "MSRP a1 SEND\r\nTo-Path: msrp://x/y;tcp\r\nFrom-Path: msrp://z/w;tcp\r\n-------a1$\r\n")

	start := time.Now()
	for _, c := range []net.Conn{silent, plain} {
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, net.ErrClosed) {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server did not close a connection whose handshake never finished")
			}
		}
	}
	if d := time.Since(start); d > bindTimeout+2*time.Second {
		t.Errorf("closed after %v, want about the bind timeout %v", d, bindTimeout)
	}
	waitFor(t, "both closes counted", func() bool { return srv.Stats().ConnsClosed[CloseHandshake] == 2 })

	u := securePeerURI("erin")
	s := newSession(t, srv, u)
	bind(t, dialTLS(t, srv, client, u), s)
}

// Between messages, an idle TLS connection's read loop waits on the TCP
// socket (readIdle), not inside tls.Conn.Read, whatever the peer's input
// looked like: a message split across records and TCP segments at every
// position, many messages in one record, many records in one segment
// (its tlsrecord.Reader keeps what lies past a record for tls.Conn's next read), a
// record of 16 KiB. Everything is answered, in order.
func TestTLSReadIdle(t *testing.T) {
	srv, client := startTLSServer(t, Config{}, &recorder{})
	u := securePeerURI("idle")
	s := newSession(t, srv, u)
	raw, err := net.Dial("tcp", srv.TLSAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	hc := &holdConn{Conn: raw}
	tc := tls.Client(hc, client)
	p := msrptest.NewPeer(t, tc, u)
	defer p.Close()
	bind(t, p, s)
	waitTLSIdle(t, "bound")

	var n int
	next := func() *msrp.Message {
		m := msrptest.Bodiless(s.LocalURI(), u)
		m.TID = "tls" + strconv.Itoa(n)
		n++
		return m
	}
	// Split across two records (and segments), at every 37th position.
	for cut := 1; cut < 200; cut += 37 {
		m := next()
		wire := m.Bytes()
		cut := min(cut, len(wire)-1)
		p.SendRaw(wire[:cut])
		time.Sleep(time.Millisecond)
		p.SendRaw(wire[cut:])
		p.ExpectResponse(m.TID, msrp.StatusOK)
	}
	waitTLSIdle(t, "split messages")
	// Ten messages in one record; then ten records in one segment.
	var ms []*msrp.Message
	var all []byte
	for range 10 {
		m := next()
		ms = append(ms, m)
		all = m.AppendTo(all)
	}
	p.SendRaw(all)
	hc.hold(true)
	for range 10 {
		m := next()
		ms = append(ms, m)
		p.Send(m)
	}
	hc.hold(false)
	for _, m := range ms {
		p.ExpectResponse(m.TID, msrp.StatusOK)
	}
	waitTLSIdle(t, "bursts")
	// A SEND of 40,000 octets: records of 16 KiB.
	big := msrptest.Send(s.LocalURI(), u, "text/plain", bytes.Repeat([]byte("x"), 40000))
	p.Send(big)
	p.ExpectResponse(big.TID, msrp.StatusOK)
	m := next()
	p.Send(m)
	p.ExpectResponse(m.TID, msrp.StatusOK)
}

// readLoopsIn counts the relay read loops (goroutines running
// readMessages) whose stack holds fn.
func readLoopsIn(fn string) int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("relay.(*conn).readMessages")) && bytes.Contains(g, []byte(fn)) {
			n++
		}
	}
	return n
}

// holdConn is a client's TCP connection that can hold its writes back and
// send them in one write: TLS records back to back in one segment.
type holdConn struct {
	net.Conn
	mu   sync.Mutex
	held []byte
	on   bool
}

func (h *holdConn) hold(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.on = on
	if !on && len(h.held) > 0 {
		h.Conn.Write(h.held)
		h.held = nil
	}
}

func (h *holdConn) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.on {
		h.held = append(h.held, p...)
		return len(p), nil
	}
	return h.Conn.Write(p)
}

// A bound TLS connection that sends part of a record and stops is closed
// at the progress timeout, as one that stops inside a message: the record
// begun is input begun (conn.inRecord).
func TestTLSPartialRecordStalls(t *testing.T) {
	const timeout = 300 * msec
	rec := &recorder{}
	srv, client := startTLSServer(t, Config{ProgressTimeout: timeout}, rec)
	u := securePeerURI("partial")
	s := newSession(t, srv, u)
	raw, err := net.Dial("tcp", srv.TLSAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	hc := &holdConn{Conn: raw}
	p := msrptest.NewPeer(t, tls.Client(hc, client), u)
	defer p.Close()
	bind(t, p, s)
	hc.hold(true)
	p.Send(msrptest.Bodiless(s.LocalURI(), u))
	hc.mu.Lock()
	record := hc.held
	hc.held, hc.on = nil, false
	hc.mu.Unlock()
	raw.Write(record[:3]) // part of the record header, and nothing more
	start := time.Now()
	rec.waitEnded(t, s, CloseStalled)
	if d := time.Since(start); d < timeout/2 {
		t.Fatalf("closed after %v, before the progress timeout %v", d, timeout)
	}
}

// A record that carries no data (an empty application data record, RFC
// 8446 §5.4; a KeyUpdate is read the same way) is gone past: the bound
// connection is not closed as stalled, its read loop goes back to waiting
// on the TCP socket, and the next message is answered.
func TestTLSEmptyRecord(t *testing.T) {
	const timeout = 200 * msec
	rec := &recorder{}
	srv, _ := startTLSServer(t, Config{ProgressTimeout: timeout}, rec)
	u := securePeerURI("empty")
	s := newSession(t, srv, u)
	c, err := tlsrecordtest.Dial(srv.TLSAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	p := msrptest.NewPeer(t, c, u)
	defer p.Close()
	bind(t, p, s)
	waitTLSIdle(t, "bound")
	if err := c.Inject(tlsrecordtest.ApplicationData, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * timeout) // closed by now if it counted as a stalled message
	if !s.Bound() {
		t.Fatal("the session ended after an empty record")
	}
	waitTLSIdle(t, "after an empty record")
	m := msrptest.Bodiless(s.LocalURI(), u)
	p.Send(m) // written as an injected record, in sequence
	p.ExpectResponse(m.TID, msrp.StatusOK)
}

// waitTLSIdle waits until the one TLS connection's read loop waits on the
// TCP socket (readIdle), not inside tls.Conn.Read.
func waitTLSIdle(t *testing.T, what string) {
	t.Helper()
	waitFor(t, what+": the read loop waiting on the TCP socket", func() bool {
		return readLoopsIn("readIdle") == 1 && readLoopsIn("crypto/tls.(*Conn).Read") == 0
	})
}
