package relay

import (
	"net"
	"net/netip"
	"testing"

	"github.com/parley-im/parley/msrp/msrptest"
)

// dialFromIP connects a participant playing self from the loopback address
// ip (Linux routes all of 127.0.0.0/8 to lo), or skips the test.
func dialFromIP(t *testing.T, srv *Server, ip string, self string) *msrptest.Peer {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: waitTimeout}
	nc, err := d.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Skipf("cannot connect from %s: %v", ip, err)
	}
	p := msrptest.NewPeer(t, nc, peerURI(self))
	t.Cleanup(func() { p.Close() })
	return p
}

// Issue 17: a source IP address holds at most MaxConnsPerSource
// connections, bound or not; one more is closed at once, before anything
// is read, and counted (CloseConnLimit). Another address is not affected;
// a connection that closes makes room; Exempt addresses are held to
// neither this nor MaxUnboundPerSource.
func TestConnsPerSourceLimit(t *testing.T) {
	const limit = 3
	srv := startServer(t, Config{MaxConnsPerSource: limit, MaxUnboundPerSource: 100,
		Exempt: []netip.Prefix{netip.MustParsePrefix("127.0.0.9/32")}}, &recorder{})
	var peers []*msrptest.Peer
	for i := range limit {
		name := "c" + string(rune('a'+i))
		p := dialFromIP(t, srv, "127.0.0.8", name)
		bind(t, p, newSession(t, srv, peerURI(name))) // bound: not held by the unbound limit
		peers = append(peers, p)
	}
	extra := dialFromIP(t, srv, "127.0.0.8", "cx")
	expectEOF(t, extra)
	st := srv.Stats()
	t.Logf("connection %d from one address, the others bound: closed at once (%s: %d)", limit+1, CloseConnLimit, st.ConnsClosed[CloseConnLimit])
	if st.ConnsClosed[CloseConnLimit] != 1 || st.ConnsClosed[CloseSourceLimit] != 0 {
		t.Fatalf("ConnsClosed[conn-limit] = %d, [source-limit] = %d; want 1, 0", st.ConnsClosed[CloseConnLimit], st.ConnsClosed[CloseSourceLimit])
	}

	// Another address is not held by this one's connections.
	other := dialFromIP(t, srv, "127.0.0.10", "o")
	bind(t, other, newSession(t, srv, peerURI("o")))

	// One closes: another may come.
	peers[0].Close()
	waitFor(t, "the closed connection to be forgotten", func() bool { return srv.Stats().ConnsOpen == limit }) // 2 of 127.0.0.8, 1 of .10
	again := dialFromIP(t, srv, "127.0.0.8", "ca2")
	bind(t, again, newSession(t, srv, peerURI("ca2")))

	// An exempt address: past both limits.
	for i := range limit + 2 {
		name := "e" + string(rune('a'+i))
		p := dialFromIP(t, srv, "127.0.0.9", name)
		bind(t, p, newSession(t, srv, peerURI(name)))
	}
	if st := srv.Stats(); st.ConnsClosed[CloseConnLimit] != 1 {
		t.Fatalf("ConnsClosed[conn-limit] = %d at the end, want 1", st.ConnsClosed[CloseConnLimit])
	}
}

// Exempt sources skip the unbound limit too (a gateway opens many
// connections at once).
func TestUnboundLimitExempt(t *testing.T) {
	srv := startServer(t, Config{MaxUnboundPerSource: 2, Exempt: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, &recorder{})
	var peers []*msrptest.Peer
	for i := range 5 {
		peers = append(peers, dial(t, srv, peerURI("u"+string(rune('a'+i)))))
	}
	waitFor(t, "five unbound connections", func() bool { return srv.Stats().ConnsOpen == 5 })
	if st := srv.Stats(); st.ConnsClosed[CloseSourceLimit] != 0 {
		t.Fatalf("an exempt source's connections were refused: %d", st.ConnsClosed[CloseSourceLimit])
	}
	_ = peers
}

// Session.RemoteAddr is the address of the connection the session is
// bound to, and nothing before it binds.
func TestSessionRemoteAddr(t *testing.T) {
	srv := startServer(t, Config{}, &recorder{})
	s := newSession(t, srv, peerURI("ra"))
	if a := s.RemoteAddr(); a.IsValid() {
		t.Fatalf("unbound session: RemoteAddr %v", a)
	}
	p := dialFromIP(t, srv, "127.0.0.11", "ra")
	bind(t, p, s)
	if a := s.RemoteAddr(); a != netip.MustParseAddr("127.0.0.11") {
		t.Fatalf("RemoteAddr %v, want 127.0.0.11", a)
	}
}
