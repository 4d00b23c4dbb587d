package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/servertest"
)

// stopConfig is the default configuration on 127.0.0.1 ports chosen by
// the kernel, without TLS or HTTPS; withWS adds the HTTPS listener (SIP
// over WebSocket) with a self-signed certificate in a temporary directory.
func stopConfig(t *testing.T, withWS bool) *config.Config {
	cfg := config.Default()
	cfg.SIP.UDP, cfg.SIP.TCP, cfg.MSRP.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.SIP.TLS, cfg.MSRP.TLSListen, cfg.HTTPS.Listen = "", "", ""
	cfg.Store.Mode = config.StoreMemory
	if withWS {
		cfg.HTTPS.Listen = "127.0.0.1:0"
		cfg.Server.DataDir = t.TempDir()
	}
	return cfg
}

func startStopServer(t *testing.T, cfg *config.Config) *Server {
	t.Helper()
	s, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	return s
}

func shutdownServer(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// askOptions has the server answer an OPTIONS from p (so that it has heard
// from p) and returns the answer.
func askOptions(t *testing.T, s *Server, p *servertest.SIP, host string) []byte {
	t.Helper()
	res, err := p.Exchange(p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:lobby@" + host}), 5*time.Second)
	if err != nil {
		t.Fatalf("OPTIONS over %s: %v", p.Transport, err)
	}
	if code, _ := servertest.Status(res); code != 200 {
		t.Fatalf("OPTIONS over %s answered:\n%s", p.Transport, res)
	}
	return res
}

// lateLookup does what sipgo does when it must write to dest over
// transport: find a connection in its pool, or open one (dial, or over UDP
// bind a socket with a reader goroutine). The goroutine sipgo starts for
// each request it reads does so to answer it (by the request's source),
// and the focus for its own requests (from laddr over UDP, when set);
// either may run after Shutdown. It reports the lookup's error; a
// connection found must not write.
func lateLookup(t *testing.T, s *Server, transport, dest string, laddr net.Addr, timeout time.Duration) error {
	t.Helper()
	host, port, err := sip.ParseAddr(dest)
	if err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: host, Port: port})
	req.SetTransport(transport)
	req.SetDestination(dest)
	if ua, ok := laddr.(*net.UDPAddr); ok {
		req.Laddr = sip.Addr{IP: ua.IP, Port: ua.Port}
	}
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: transport, Host: "127.0.0.1", Port: 1, Params: sip.NewParams()}
	via.Params.Add("branch", sip.GenerateBranch())
	req.AppendHeader(via)
	req.SetBody(nil)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := s.ua.TransportLayer().ClientRequestConnection(ctx, req)
	if err != nil {
		return err
	}
	defer c.TryClose()
	if err := c.WriteMsg(req); !errors.Is(err, errSIPStopped) {
		t.Errorf("after Shutdown, a lookup over %s for %s finds a connection from %s that writes (%v)", transport, dest, c.LocalAddr(), err)
	}
	return nil
}

// TestShutdownUDPOpensNothing: after Shutdown, sipgo's lookup for a UDP
// peer the server heard from finds a tombstone, and so does the focus's
// (by the listener's address), where it would otherwise bind a new socket
// with a reader goroutine nobody closes: to 0.0.0.0 towards the peer, or
// to the listener's port, free again.
func TestShutdownUDPOpensNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := startStopServer(t, stopConfig(t, false))
	p, err := servertest.DialSIP("UDP", s.Addrs().SIPUDP)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	askOptions(t, s, p, s.Addrs().SIPUDP)
	shutdownServer(t, s)

	peer := p.LocalAddr()
	if err := lateLookup(t, s, "UDP", peer, nil, 2*time.Second); err != nil {
		t.Errorf("lookup for %s: %v", peer, err)
	}
	if err := lateLookup(t, s, "UDP", peer, s.udp.LocalAddr(), 2*time.Second); err != nil {
		t.Errorf("lookup for %s from %s: %v", peer, s.udp.LocalAddr(), err)
	}
	// A second Shutdown does nothing, at once.
	shutdownServer(t, s)
}

// TestShutdownStreamsDialNothing: after Shutdown, sipgo cannot dial over
// TCP or TLS (as it would for a late answer whose connection is gone, or
// a BYE to a Contact): the dialer refuses before connecting.
func TestShutdownStreamsDialNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := startStopServer(t, stopConfig(t, false))
	p, err := servertest.DialSIP("TCP", s.Addrs().SIPTCP)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	askOptions(t, s, p, s.Addrs().SIPTCP)
	// Somewhere a dial would succeed: a participant's Contact.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	shutdownServer(t, s)

	for _, transport := range []string{"TCP", "TLS"} {
		if err := lateLookup(t, s, transport, l.Addr().String(), nil, 2*time.Second); !errors.Is(err, errSIPStopped) {
			t.Errorf("dial over %s after Shutdown: %v, want %v", transport, err, errSIPStopped)
		}
	}
	l.(*net.TCPListener).SetDeadline(time.Now().Add(100 * time.Millisecond))
	if c, err := l.Accept(); err == nil {
		c.Close()
		t.Errorf("after Shutdown, the server connected from %s", c.RemoteAddr())
	}
}

// TestShutdownWSSOpensNothing: after Shutdown, sipgo's lookup for a SIP
// WebSocket peer finds a tombstone instead of dialing a WebSocket (with
// its own dialer, which is not ours to refuse) to the address it came
// from.
func TestShutdownWSSOpensNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := startStopServer(t, stopConfig(t, true))
	p, err := servertest.DialSIPWS("wss://"+s.Addrs().HTTPS+"/", &tls.Config{InsecureSkipVerify: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	res := askOptions(t, s, p, "127.0.0.1")
	// The peer's address as the server sees it: rport and received of the
	// answer's Via (RFC 3581).
	via := servertest.Header(res, "Via")
	_, rport, _ := strings.Cut(via, ";rport=")
	rport, _, _ = strings.Cut(rport, ";")
	peer := "127.0.0.1:" + rport
	if _, err := netip.ParseAddrPort(peer); err != nil {
		t.Fatalf("no rport in the answer's Via %q", via)
	}
	shutdownServer(t, s)

	if err := lateLookup(t, s, "WSS", peer, nil, 2*time.Second); err != nil {
		t.Errorf("lookup for %s: %v", peer, err)
	}
}

// TestShutdownUnderLoad: requests keep coming over UDP and TCP while the
// server shuts down, so that sipgo reads some just before and handles
// them late; nothing it does then may leave a socket or a goroutine. (It
// does not fail every time without the tombstones, but nearly.)
func TestShutdownUnderLoad(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := startStopServer(t, stopConfig(t, false))
	var peers []*servertest.SIP
	for i := range 6 {
		transport, addr := "UDP", s.Addrs().SIPUDP
		if i%3 == 2 {
			transport, addr = "TCP", s.Addrs().SIPTCP
		}
		p, err := servertest.DialSIP(transport, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		peers = append(peers, p)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if p.Send(p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:lobby@127.0.0.1"})) != nil && p.Transport == "TCP" {
					return
				}
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	shutdownServer(t, s)
	close(stop)
	wg.Wait()
}

// TestShutdownWithoutStart: a server never started shuts down at once.
func TestShutdownWithoutStart(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := New(stopConfig(t, true), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	shutdownServer(t, s)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown of a server never started took %v", d)
	}
}

// TestUDPGraveKeys: the tombstones go where sipgo's UDP pool keys its
// sources (net.UDPAddr.String of what ReadFrom returned), whatever form
// the address came in.
func TestUDPGraveKeys(t *testing.T) {
	for _, a := range []*net.UDPAddr{
		{IP: net.IPv4(127, 0, 0, 1).To4(), Port: 5060},
		{IP: net.IPv4(192, 0, 2, 7), Port: 1}, // 16-octet form, as a dual-stack socket reads IPv4
		{IP: net.ParseIP("2001:db8::1"), Port: 65535},
		{IP: net.ParseIP("fe80::1"), Port: 5062, Zone: "eth0"},
	} {
		if got, want := net.UDPAddrFromAddrPort(a.AddrPort()).String(), a.String(); got != want {
			t.Errorf("grave %q, sipgo's key %q", got, want)
		}
	}
}

// TestWSPeersForget: the address of a closed SIP WebSocket is kept for a
// tombstone lateLookupGrace, then forgotten; an open one never is.
func TestWSPeersForget(t *testing.T) {
	now := time.Unix(1e9, 0)
	st := &sipStop{now: func() time.Time { return now }}
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 443}
	a := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	b := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40001}
	st.wsOpened(local, a)
	st.wsOpened(local, b)
	st.wsClosed(a)
	graves := func() string {
		keys := st.wsGraves()
		slices.Sort(keys)
		return strings.Join(keys, " ")
	}
	if got, want := graves(), "127.0.0.1:40000 127.0.0.1:40001 127.0.0.1:443"; got != want {
		t.Errorf("graves %q, want %q", got, want)
	}
	now = now.Add(lateLookupGrace)
	st.wsOpened(local, a) // the same address again: open
	st.wsClosed(a)
	now = now.Add(lateLookupGrace)
	st.wsClosed(b) // purges a, closed a grace ago; b just closed
	if got, want := graves(), "127.0.0.1:40001 127.0.0.1:443"; got != want {
		t.Errorf("graves %q, want %q", got, want)
	}
	st.stop()
	if st.wsOpened(local, a) {
		t.Error("a SIP WebSocket let through once stopping")
	}
	if data, _ := st.readFilter(sip.TransportReadProps{}, []byte("OPTIONS")); data != nil {
		t.Error("the read filter lets a message through once stopping")
	}
}
