package server_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/certs"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/servertest"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// tlsConfig is loopbackConfig with SIP and MSRP over TLS on ports chosen
// by the kernel and the self-signed certificate kept in a temporary data
// directory.
func tlsConfig(t *testing.T) *config.Config {
	cfg := loopbackConfig()
	cfg.SIP.TLS, cfg.MSRP.TLSListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Server.DataDir = t.TempDir()
	return cfg
}

// startTLS runs a parleyd with cfg and returns a client TLS configuration
// that trusts its self-signed certificate (its Leaf, read back from the
// data directory) for 127.0.0.1.
func startTLS(t *testing.T, cfg *config.Config) (*server.Server, *tls.Config) {
	t.Helper()
	srv, client, err := launchTLS(cfg)
	if srv != nil {
		t.Cleanup(func() { stopServer(srv) })
	}
	if err != nil {
		t.Fatal(err)
	}
	return srv, client
}

// launchTLS is startTLS for a caller that stops the server itself (a fuzz
// harness that outlives its first input): the server, started, and a
// client configuration that trusts it; on an error after the start, the
// server too, for the caller to stop.
func launchTLS(cfg *config.Config) (*server.Server, *tls.Config, error) {
	return launchTLSWith(cfg, server.New)
}

// launchTLSWith is launchTLS with a constructor of the server's.
func launchTLSWith(cfg *config.Config, newServer func(*config.Config, *slog.Logger) (*server.Server, error)) (*server.Server, *tls.Config, error) {
	srv, err := newServer(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, fmt.Errorf("starting parleyd: %w", err)
	}
	srv.Start()
	st, err := certs.Load(filepath.Join(cfg.Server.DataDir, certs.SelfSignedCert), filepath.Join(cfg.Server.DataDir, certs.SelfSignedKey))
	if err != nil {
		return srv, nil, err
	}
	if got, want := srv.CertificateFingerprint(), st.Fingerprint(); got != want || !strings.HasPrefix(got, "SHA-256 ") {
		return srv, nil, fmt.Errorf("fingerprint %q, want %q", got, want)
	}
	roots := x509.NewCertPool()
	roots.AddCert(st.Certificate().Leaf)
	return srv, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}, nil
}

func dialSIPTLS(t *testing.T, srv *server.Server, client *tls.Config) *servertest.SIP {
	t.Helper()
	p, err := servertest.DialSIPTLS(srv.Addrs().SIPTLS, client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// member is a participant joined over SIP with its MSRP session bound.
type member struct {
	sip    *servertest.SIP
	uri    string // its SIP identity (From)
	callID string
	tag    string
	self   msrp.URI // its a=path
	sw     msrp.URI // the switch's a=path
	msrp   *msrptest.Peer
}

// joinTLSAs sends an INVITE from uri with offer (its path self), checks the
// 200 and returns the member, not yet bound.
func joinTLSAs(t *testing.T, p *servertest.SIP, roomURI, uri string, self msrp.URI, offer string) (*member, []byte) {
	t.Helper()
	m := &member{sip: p, uri: uri, callID: servertest.RandomToken(), self: self}
	req := servertest.WithFrom(p.Build(servertest.Req{Method: "INVITE", URI: roomURI, CallID: m.callID, FromTag: "ft", CSeq: 1, Body: offer}), "<"+uri+">")
	res := expect(t, p, req, 200, "")
	_, tag, _ := strings.Cut(servertest.Header(res, "To"), ";tag=")
	m.tag, _, _ = strings.Cut(tag, ";")
	_, body, _ := strings.Cut(string(res), "\r\n\r\n")
	_, path, ok := strings.Cut(body, "a=path:")
	if !ok {
		t.Fatalf("no a=path in the answer:\n%s", body)
	}
	path, _, _ = strings.Cut(path, "\r\n")
	sw, err := msrp.ParseURI(path)
	if err != nil {
		t.Fatalf("answer path %q: %v", path, err)
	}
	m.sw = sw
	ack := servertest.WithFrom(p.Build(servertest.Req{Method: "ACK", URI: roomURI, CallID: m.callID, FromTag: "ft", ToTag: m.tag, CSeq: 1}), "<"+uri+">")
	if err := p.Send(ack); err != nil {
		t.Fatal(err)
	}
	return m, res
}

// bindMSRP connects the member's MSRP connection (conn) and binds it.
func (m *member) bindMSRP(t *testing.T, conn net.Conn) {
	t.Helper()
	m.msrp = msrptest.NewPeer(t, conn, m.self)
	t.Cleanup(func() { m.msrp.Close() })
	b := msrptest.Bodiless(m.sw, m.self)
	m.msrp.Send(b)
	m.expectOK(t, b.TID)
}

// expectOK reads until the 200 to the request tid, skipping the
// requests (notices, copies) that come before it.
func (m *member) expectOK(t *testing.T, tid string) {
	t.Helper()
	for range 20 {
		got, err := m.msrp.Next()
		if err != nil {
			t.Fatalf("%s waiting for the 200 to %s: %v", m.uri, tid, err)
		}
		if !got.IsRequest() {
			if got.TID != tid || got.Code != msrp.StatusOK {
				t.Fatalf("%s: response %s %d, want 200 to %s", m.uri, got.TID, got.Code, tid)
			}
			return
		}
	}
	t.Fatalf("%s: no 200 to %s", m.uri, tid)
}

// expectText reads SENDs (skipping the room's notices) until one whose
// body holds text, and returns it.
func (m *member) expectText(t *testing.T, text string) *msrp.Message {
	t.Helper()
	for range 20 {
		got := m.msrp.ExpectRequest(msrp.MethodSEND)
		if bytes.Contains(got.Body, []byte(text)) {
			return got
		}
	}
	t.Fatalf("%s never received %q", m.uri, text)
	return nil
}

// TestTLSRoom: a participant over SIP/TLS and MSRP over TLS (msrps) and
// one over SIP/TCP and plain MSRP share a room: join, bind, regular,
// private and chunked messages both ways, NICKNAME over TLS, the
// conference subscription and its NOTIFY over TLS, and leave.
func TestTLSRoom(t *testing.T) {
	srv, client := startTLS(t, tlsConfig(t))
	roomURI := "sip:tlsroom@127.0.0.1"

	// Alice: SIP over TLS, an msrps offer.
	ps := dialSIPTLS(t, srv, client)
	aliceSelf := msrp.URI{Secure: true, Host: "127.0.0.1", Port: 9, SessionID: "alicetls", Transport: "tcp"}
	alice, res := joinTLSAs(t, ps, roomURI, "sip:alice@127.0.0.1", aliceSelf, servertest.SecureOffer(9, "alicetls"))
	_, sipTLSPort, _ := net.SplitHostPort(srv.Addrs().SIPTLS)
	if c := servertest.Header(res, "Contact"); !strings.HasPrefix(c, "<sips:tlsroom@127.0.0.1:"+sipTLSPort+">") {
		t.Errorf("Contact over TLS = %q, want sips: at port %s", c, sipTLSPort)
	}
	_, msrpTLSPort, _ := net.SplitHostPort(srv.Addrs().MSRPTLS)
	if !alice.sw.Secure || strconv.Itoa(alice.sw.Port) != msrpTLSPort || !strings.Contains(string(res), "m=message "+msrpTLSPort+" TCP/TLS/MSRP *") {
		t.Fatalf("answer to an msrps offer: path %s, want msrps at %s:\n%s", alice.sw, msrpTLSPort, res)
	}
	ac, err := tls.Dial("tcp", srv.Addrs().MSRPTLS, client)
	if err != nil {
		t.Fatal(err)
	}
	alice.bindMSRP(t, ac)

	// Bob: SIP over TCP, plain MSRP, as before.
	pt := dial(t, srv, "TCP")
	bobSelf := msrp.URI{Host: "127.0.0.1", Port: 9, SessionID: "bobtcp", Transport: "tcp"}
	bob, _ := joinTLSAs(t, pt, roomURI, "sip:bob@127.0.0.1", bobSelf, servertest.Offer(9, "bobtcp"))
	if bob.sw.Secure {
		t.Fatalf("plain offer answered with %s", bob.sw)
	}
	bc, err := net.Dial("tcp", srv.Addrs().MSRP)
	if err != nil {
		t.Fatal(err)
	}
	bob.bindMSRP(t, bc)

	// Regular messages, both ways.
	m := msrptest.Send(alice.sw, alice.self, "message/cpim", msrptest.CPIM(alice.uri, roomURI, "hello from TLS"))
	alice.msrp.Send(m)
	alice.expectOK(t, m.TID)
	bob.expectText(t, "hello from TLS")
	m = msrptest.Send(bob.sw, bob.self, "message/cpim", msrptest.CPIM(bob.uri, roomURI, "hello from TCP"))
	bob.msrp.Send(m)
	bob.expectOK(t, m.TID)
	alice.expectText(t, "hello from TCP")

	// Private messages, both ways.
	m = msrptest.Send(bob.sw, bob.self, "message/cpim", msrptest.CPIM(bob.uri, alice.uri, "psst alice"))
	bob.msrp.Send(m)
	bob.expectOK(t, m.TID)
	alice.expectText(t, "psst alice")
	m = msrptest.Send(alice.sw, alice.self, "message/cpim", msrptest.CPIM(alice.uri, bob.uri, "psst bob"))
	alice.msrp.Send(m)
	alice.expectOK(t, m.TID)
	bob.expectText(t, "psst bob")

	// A chunked message from the TLS participant, 6,000 octets in two
	// chunks (RFC 4975 §7.1.1), arrives whole at the TCP one.
	text := strings.Repeat("0123456789", 600)
	body := msrptest.CPIM(alice.uri, roomURI, text)
	total := strconv.Itoa(len(body))
	cut := 3000
	id := msrp.NewMessageID()
	first := msrptest.Send(alice.sw, alice.self, "message/cpim", body[:cut], msrptest.WithFlag('+'))
	first.Header.Set(msrp.HeaderMessageID, id)
	first.Header.Set(msrp.HeaderByteRange, "1-"+strconv.Itoa(cut)+"/"+total)
	second := msrptest.Send(alice.sw, alice.self, "message/cpim", body[cut:])
	second.Header.Set(msrp.HeaderMessageID, id)
	second.Header.Set(msrp.HeaderByteRange, strconv.Itoa(cut+1)+"-"+total+"/"+total)
	alice.msrp.Send(first)
	alice.expectOK(t, first.TID)
	alice.msrp.Send(second)
	alice.expectOK(t, second.TID)
	var got []byte
	for len(got) < len(body) {
		c := bob.msrp.ExpectRequest(msrp.MethodSEND)
		if bytes.HasPrefix(c.Body, []byte("From: <"+roomURI)) {
			continue // a notice
		}
		got = append(got, c.Body...)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("chunked message arrived as %d octets, want %d", len(got), len(body))
	}

	// NICKNAME over TLS.
	nick := msrptest.Nickname(alice.sw, alice.self, "ally")
	alice.msrp.Send(nick)
	alice.expectOK(t, nick.TID)

	// The conference subscription over TLS, and its NOTIFY on the same
	// connection.
	sub := servertest.WithFrom(ps.Build(servertest.Req{Method: "SUBSCRIBE", URI: roomURI, Extra: []string{
		"Event: conference", "Accept: application/conference-info+xml", "Expires: 600"}}), "<sip:watcher@127.0.0.1>")
	res = expect(t, ps, sub, 200, "")
	if c := servertest.Header(res, "Contact"); !strings.HasPrefix(c, "<sips:") {
		t.Errorf("SUBSCRIBE 200 Contact over TLS = %q, want sips:", c)
	}
	for {
		n, err := ps.Read(wait)
		if err != nil {
			t.Fatalf("waiting for the NOTIFY: %v", err)
		}
		if !strings.HasPrefix(string(n), "NOTIFY ") {
			continue
		}
		if !strings.Contains(string(n), "alice@127.0.0.1") || !strings.Contains(string(n), "ally") {
			t.Errorf("NOTIFY does not show alice and her nickname:\n%s", n)
		}
		if err := ps.Send(servertest.Reply(n, 200, "OK")); err != nil {
			t.Fatal(err)
		}
		break
	}

	// Leave over TLS: 200, and Bob hears of it.
	bye := servertest.WithFrom(ps.Build(servertest.Req{Method: "BYE", URI: roomURI, CallID: alice.callID, FromTag: "ft", ToTag: alice.tag, CSeq: 2}), "<"+alice.uri+">")
	expect(t, ps, bye, 200, "")
	alice.msrp.ExpectClosed()
	bob.expectText(t, "left")
}

// A TLS handshake that never finishes — a client that connects and says
// nothing, or speaks plain SIP or MSRP to a TLS port — is closed within
// sip.message_timeout (SIP) or msrp.bind_timeout (MSRP), counted, and the
// server goes on serving over TLS.
func TestTLSHandshakeNeverFinishes(t *testing.T) {
	cfg := tlsConfig(t)
	cfg.SIP.MessageTimeout = config.Duration(300 * time.Millisecond)
	cfg.MSRP.BindTimeout = config.Duration(300 * time.Millisecond)
	srv, client := startTLS(t, cfg)
	var conns []net.Conn
	for _, addr := range []string{srv.Addrs().SIPTLS, srv.Addrs().MSRPTLS} {
		for _, hello := range []string{"", "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n\r\n"} {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if hello != "" {
				io.WriteString(c, hello)
			}
			conns = append(conns, c)
		}
	}
	start := time.Now()
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(wait))
		_, err := io.Copy(io.Discard, c)
		var ne net.Error
		if err != nil && errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection %d: not closed", i)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closed after %v, want about 300 ms", d)
	}
	// Counted once the handshake call returns, which may be just after
	// the close the client saw.
	for deadline := time.Now().Add(wait); srv.GuardStats().Handshake != 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("GuardStats.Handshake = %d, want 2", srv.GuardStats().Handshake)
		}
	}
	// Still serving over TLS.
	p := dialSIPTLS(t, srv, client)
	expect(t, p, p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:alive@127.0.0.1"}), 200, "")
	self := msrp.URI{Secure: true, Host: "127.0.0.1", Port: 9, SessionID: "after", Transport: "tcp"}
	m, _ := joinTLSAs(t, p, "sip:alive@127.0.0.1", "sip:after@127.0.0.1", self, servertest.SecureOffer(9, "after"))
	c, err := tls.Dial("tcp", srv.Addrs().MSRPTLS, client)
	if err != nil {
		t.Fatal(err)
	}
	m.bindMSRP(t, c)
}

// A room whose policy requires TLS (RFC 7701 §4.1) answers 488 with a
// Warning an INVITE over TCP or UDP, and one over TLS that offers a plain
// msrp: path; an INVITE over TLS with an msrps path joins.
func TestTLSRequiredRoom(t *testing.T) {
	cfg := tlsConfig(t)
	cfg.Room = []config.RoomConfig{{Name: "vault", PolicyOverride: config.PolicyOverride{RequireTLS: new(true)}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	srv, client := startTLS(t, cfg)
	roomURI := "sip:vault@127.0.0.1"
	check488 := func(p *servertest.SIP, offer, why string) {
		t.Helper()
		res := expect(t, p, p.Build(servertest.Req{Method: "INVITE", URI: roomURI, Body: offer}), 488, "")
		w := servertest.Header(res, "Warning")
		if !strings.HasPrefix(w, "399 127.0.0.1 \"") || !strings.Contains(w, "requires TLS") {
			t.Errorf("%s: Warning %q, want 399 saying the room requires TLS", why, w)
		}
	}
	check488(dial(t, srv, "TCP"), servertest.Offer(9, "a1"), "over TCP")
	check488(dial(t, srv, "UDP"), servertest.Offer(9, "a2"), "over UDP")
	check488(dial(t, srv, "TCP"), servertest.SecureOffer(9, "a3"), "over TCP, msrps offer")
	p := dialSIPTLS(t, srv, client)
	check488(p, servertest.Offer(9, "a4"), "over TLS, plain msrp offer")
	self := msrp.URI{Secure: true, Host: "127.0.0.1", Port: 9, SessionID: "a5", Transport: "tcp"}
	joinTLSAs(t, p, roomURI, "sip:tester@127.0.0.1", self, servertest.SecureOffer(9, "a5"))
	// A plain room next to it still takes a plain participant.
	join(t, dial(t, srv, "TCP"), "sip:open@127.0.0.1", servertest.RandomToken())
}

// ReloadCertificates (SIGHUP) gives new handshakes the [tls] files'
// new certificate and drops no connection: a SIP/TLS connection made
// before the reload still answers.
func TestReloadCertificates(t *testing.T) {
	dir := t.TempDir()
	a, _, err := certs.SelfSigned(filepath.Join(dir, "a"), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := certs.SelfSigned(filepath.Join(dir, "b"), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	copyPair := func(from *certs.Store) {
		c, k := from.Files()
		for src, dst := range map[string]string{c: filepath.Join(dir, "cert.pem"), k: filepath.Join(dir, "key.pem")} {
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	copyPair(a)
	cfg := tlsConfig(t)
	cfg.TLS.Cert, cfg.TLS.Key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	srv, err := server.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer stopServer(srv)
	trust := func(st ...*certs.Store) *tls.Config {
		roots := x509.NewCertPool()
		for _, s := range st {
			roots.AddCert(s.Certificate().Leaf)
		}
		return &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
	}
	seen := func() string {
		p := dialSIPTLS(t, srv, trust(a, b))
		return certs.Fingerprint(p.Conn().(*tls.Conn).ConnectionState().PeerCertificates[0].Raw)
	}
	if got := seen(); got != a.Fingerprint() {
		t.Fatalf("before the reload the server shows %s, want %s", got, a.Fingerprint())
	}
	old := dialSIPTLS(t, srv, trust(a))
	copyPair(b)
	if err := srv.ReloadCertificates(); err != nil {
		t.Fatal(err)
	}
	if got := seen(); got != b.Fingerprint() {
		t.Fatalf("after the reload the server shows %s, want %s", got, b.Fingerprint())
	}
	expect(t, old, old.Build(servertest.Req{Method: "OPTIONS", URI: "sip:still@127.0.0.1"}), 200, "")
	// A broken pair keeps the certificate in use.
	if err := os.WriteFile(cfg.TLS.Cert, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := srv.ReloadCertificates(); err == nil {
		t.Fatal("reloading a broken pair succeeded")
	}
	if got := seen(); got != b.Fingerprint() {
		t.Fatalf("after a failed reload the server shows %s, want %s", got, b.Fingerprint())
	}
}
