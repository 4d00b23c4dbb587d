package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"github.com/parley-im/parley/internal/certs"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
)

// startTLSServer runs a parleyd with SIP and MSRP over TLS on ports chosen
// by the kernel, its self-signed certificate kept in a temporary data
// directory, and returns a client TLS configuration that trusts that
// certificate (and nothing else).
func startTLSServer(t *testing.T, mutate func(*config.Config)) (*server.Server, *tls.Config, func()) {
	t.Helper()
	dir := t.TempDir()
	srv, stop := startServer(t, func(c *config.Config) {
		c.SIP.TLS, c.MSRP.TLSListen = "127.0.0.1:0", "127.0.0.1:0"
		c.Server.DataDir = dir
		if mutate != nil {
			mutate(c)
		}
	})
	st, err := certs.Load(filepath.Join(dir, certs.SelfSignedCert), filepath.Join(dir, certs.SelfSignedKey))
	if err != nil {
		stop()
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(st.Certificate().Leaf)
	return srv, &tls.Config{RootCAs: roots}, stop
}

// tlsRoomURI is the sips: URI of room name on srv.
func tlsRoomURI(srv *server.Server, name string) string {
	return "sips:" + name + "@" + srv.Addrs().SIPTLS
}

func nicknameOf(ms []Member, uri string) (string, bool) {
	for _, m := range ms {
		if m.URI == uri {
			return m.Nickname, true
		}
	}
	return "", false
}

// A participant over SIP/TLS and MSRP over TLS (a sips: room URI) and one
// over TCP share a room through the real parleyd: join (an msrps path on a
// TCP/TLS/MSRP m-line, connected over TLS to the switch's msrps path),
// regular and private messages both ways, nicknames, the roster over TLS
// (its SUBSCRIBE and NOTIFYs on the one TLS connection: the agent listens
// for nothing), and leave.
func TestTLSChatThroughServer(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, trust, stop := startTLSServer(t, fastNotify)
	defer stop()
	ctx := testCtx(t)

	o := opts(t, "alice", "") // the sips: URI alone asks for TLS
	o.TLS = trust
	alice, err := Join(ctx, tlsRoomURI(srv, "lobby"), o)
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Leave(ctx)
	if alice.current().sip.transport != "TLS" || alice.current().sip.listener == nil {
		t.Fatalf("alice's SIP transport %q", alice.current().sip.transport)
	}
	_, msrpsPort, _ := net.SplitHostPort(srv.Addrs().MSRPTLS)
	if l, r := alice.LocalURI(), alice.RemotePath(); !l.Secure || len(r) != 1 || !r[0].Secure || strconv.Itoa(r[0].Port) != msrpsPort {
		t.Fatalf("alice's MSRP: local %s, remote %v, want msrps to port %s", l, r, msrpsPort)
	}
	if _, ok := alice.current().conn.nc.(*tls.Conn); !ok {
		t.Fatalf("alice's MSRP connection is a %T", alice.current().conn.nc)
	}
	bob, err := Join(ctx, roomURI(srv, "tcp", "lobby"), opts(t, "bob", "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Leave(ctx)
	if bob.LocalURI().Secure || bob.RemotePath()[0].Secure {
		t.Fatalf("bob over TCP got msrps: %s, %v", bob.LocalURI(), bob.RemotePath())
	}

	// The roster over TLS.
	waitRoster(t, alice, "alice sees bob", func(ms []Member) bool { _, ok := nicknameOf(ms, "sip:bob@example.com"); return ok })

	// Regular messages, both ways.
	if err := alice.Send(ctx, "hello over TLS"); err != nil {
		t.Fatal(err)
	}
	if m := recvChat(t, bob); m.From != "sip:alice@example.com" || m.Private || string(m.Body) != "hello over TLS" {
		t.Errorf("bob got %+v", m)
	}
	if err := bob.Send(ctx, "hello over TCP"); err != nil {
		t.Fatal(err)
	}
	if m := recvChat(t, alice); m.From != "sip:bob@example.com" || m.Private || string(m.Body) != "hello over TCP" {
		t.Errorf("alice got %+v", m)
	}

	// Private messages, both ways.
	if err := alice.SendPrivate(ctx, "sip:bob@example.com", "psst bob"); err != nil {
		t.Fatal(err)
	}
	if m := recvChat(t, bob); !m.Private || string(m.Body) != "psst bob" {
		t.Errorf("bob got %+v", m)
	}
	if err := bob.SendPrivate(ctx, "sip:alice@example.com", "psst alice"); err != nil {
		t.Fatal(err)
	}
	if m := recvChat(t, alice); !m.Private || string(m.Body) != "psst alice" {
		t.Errorf("alice got %+v", m)
	}

	// Nicknames: alice's over TLS, seen by bob; bob's seen in alice's roster.
	if err := alice.SetNickname(ctx, "Alice"); err != nil {
		t.Fatal(err)
	}
	if err := bob.SetNickname(ctx, "Bob"); err != nil {
		t.Fatal(err)
	}
	waitRoster(t, alice, "alice sees Bob", func(ms []Member) bool { n, _ := nicknameOf(ms, "sip:bob@example.com"); return n == "Bob" })
	waitRoster(t, bob, "bob sees Alice", func(ms []Member) bool { n, _ := nicknameOf(ms, "sip:alice@example.com"); return n == "Alice" })

	// A second TLS participant: a sip: URI with Transport "tls".
	o = opts(t, "carol", "tls")
	o.TLS = trust
	carol, err := Join(ctx, "sip:lobby@"+srv.Addrs().SIPTLS, o)
	if err != nil {
		t.Fatal(err)
	}
	defer carol.Leave(ctx)
	if !carol.LocalURI().Secure {
		t.Errorf("carol's path %s", carol.LocalURI())
	}
	waitRoster(t, alice, "alice sees carol", func(ms []Member) bool { _, ok := nicknameOf(ms, "sip:carol@example.com"); return ok })

	// Leave over TLS.
	if err := alice.Leave(ctx); err != nil {
		t.Fatalf("alice's Leave: %v", err)
	}
	if err := alice.Err(); err != nil {
		t.Errorf("alice ended with %v", err)
	}
	waitRoster(t, bob, "bob sees alice leave", func(ms []Member) bool { _, ok := nicknameOf(ms, "sip:alice@example.com"); return !ok })
}

// Without the server's certificate among the roots, the Join fails at the
// TLS handshake, saying why, and leaves nothing behind.
func TestTLSVerificationFails(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, _, stop := startTLSServer(t, nil)
	defer stop()
	ctx := testCtx(t)
	for _, tc := range []struct {
		name string
		cfg  *tls.Config
		want string
	}{
		{"system roots", nil, "certificate"},
		{"another CA", &tls.Config{RootCAs: x509.NewCertPool()}, "certificate signed by unknown authority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := opts(t, "alice", "")
			o.TLS = tc.cfg
			s, err := Join(ctx, tlsRoomURI(srv, "lobby"), o)
			if err == nil {
				s.Leave(ctx)
				t.Fatal("Join succeeded without trusting the certificate")
			}
			var cv *tls.CertificateVerificationError
			if !errors.As(err, &cv) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Join: %v, want a certificate verification error (%q)", err, tc.want)
			}
		})
	}
}

// The certificate is checked for the room URI's host (SIP) and the switch
// path's host (MSRP): a ServerName it does not hold fails, even with the
// right roots.
func TestTLSWrongName(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, trust, stop := startTLSServer(t, nil)
	defer stop()
	ctx := testCtx(t)
	o := opts(t, "alice", "")
	o.TLS = trust.Clone()
	o.TLS.ServerName = "wrong.example"
	_, err := Join(ctx, tlsRoomURI(srv, "lobby"), o)
	var he x509.HostnameError
	if !errors.As(err, &he) {
		t.Fatalf("Join with ServerName wrong.example: %v, want a hostname error", err)
	}
}

// InsecureSkipVerify (parley --insecure) joins without trusting the
// certificate: still TLS on both SIP and MSRP.
func TestTLSInsecure(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, _, stop := startTLSServer(t, nil)
	defer stop()
	ctx := testCtx(t)
	o := opts(t, "alice", "tls")
	o.TLS = &tls.Config{InsecureSkipVerify: true}
	s, err := Join(ctx, tlsRoomURI(srv, "lobby"), o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Leave(ctx)
	if _, ok := s.current().conn.nc.(*tls.Conn); !ok || !s.RemotePath()[0].Secure {
		t.Fatalf("MSRP over %T to %v", s.current().conn.nc, s.RemotePath())
	}
	if err := s.Send(ctx, "hi"); err != nil {
		t.Fatal(err)
	}
}

func TestTLSOptions(t *testing.T) {
	sips := sip.Uri{Scheme: "sips", User: "lobby", Host: "[::1]"}
	c, err := Options{From: "sip:a@example.com"}.resolve(sips)
	if err != nil || c.transport != "TLS" || c.tls == nil || c.roomHost != "::1" || c.tls.MinVersion != tls.VersionTLS12 {
		t.Errorf("a sips: room: transport %q, tls %v, room host %q, %v", c.transport, c.tls, c.roomHost, err)
	}
	for _, tr := range []string{"tcp", "udp"} {
		if _, err := (Options{From: "sip:a@example.com", Transport: tr}).resolve(sips); !errors.Is(err, errOptions) || !strings.Contains(err.Error(), "sips") {
			t.Errorf("a sips: room over %s: %v", tr, err)
		}
	}
	mine := &tls.Config{ServerName: "chat.example.com"}
	c, err = Options{From: "sip:a@example.com", Transport: "TLS", TLS: mine}.resolve(sip.Uri{Scheme: "sip", Host: "h"})
	if err != nil || c.transport != "TLS" || c.tls == mine || c.tls.ServerName != "chat.example.com" || mine.MinVersion != 0 {
		t.Errorf("Transport TLS with a config: %q %+v, %v (the caller's config must be cloned)", c.transport, c.tls, err)
	}
	c, err = Options{From: "sip:a@example.com"}.resolve(sip.Uri{Scheme: "sip", Host: "h", UriParams: sip.HeaderParams{{K: "transport", V: "tls"}}})
	if err != nil || c.transport != "TLS" {
		t.Errorf("transport=tls in the room URI: %q, %v", c.transport, err)
	}
	if c, _ := (Options{From: "sip:a@example.com"}).resolve(sip.Uri{Scheme: "sip", Host: "h"}); c.tls != nil {
		t.Errorf("a TLS config over TCP")
	}
	for _, tc := range []struct {
		u         sip.Uri
		transport string
		want      string
	}{
		{sips, "TLS", "[::1]:5061"},
		{sip.Uri{Scheme: "sip", Host: "h"}, "TLS", "h:5061"},
		{sip.Uri{Scheme: "sips", Host: "h"}, "TCP", "h:5061"},
		{sip.Uri{Scheme: "sip", Host: "h"}, "TCP", "h:5060"},
		{sip.Uri{Scheme: "sip", Host: "h", Port: 7}, "TLS", "h:7"},
	} {
		if got := hostPort(tc.u, tc.transport); got != tc.want {
			t.Errorf("hostPort(%s, %s) = %s, want %s", tc.u.String(), tc.transport, got, tc.want)
		}
	}
}
