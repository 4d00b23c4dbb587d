package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/msrp"
)

// startWSServer is startTLSServer with the HTTPS port on as well (SIP and
// MSRP over secure WebSockets, RFC 7118 and RFC 7977).
func startWSServer(t *testing.T, mutate func(*config.Config)) (*server.Server, *tls.Config, func()) {
	t.Helper()
	return startTLSServer(t, func(c *config.Config) {
		c.HTTPS.Listen = "127.0.0.1:0"
		if mutate != nil {
			mutate(c)
		}
	})
}

// wsURL is srv's wss: URL at path.
func wsURL(srv *server.Server, path string) string { return "wss://" + srv.Addrs().HTTPS + path }

// wsOpts are the options of user joining over WebSockets to srv at path,
// trusting trust.
func wsOpts(t *testing.T, user string, srv *server.Server, path string, trust *tls.Config) Options {
	o := opts(t, user, "ws")
	o.WebSocketURL = wsURL(srv, path)
	o.TLS = trust
	return o
}

// checkWS fails unless s does SIP and MSRP over WebSockets to srv: a WSS
// user agent naming a .invalid host, an msrps: ;ws path on that host, the
// switch's msrps: ;ws URI on the HTTPS port, reached by a wsStream.
func checkWS(t *testing.T, s *Session, srv *server.Server) {
	t.Helper()
	_, httpsPort, _ := net.SplitHostPort(srv.Addrs().HTTPS)
	if s.current().sip.transport != "WSS" || !strings.HasSuffix(s.current().sip.host, ".invalid") || s.current().sip.port != 0 {
		t.Fatalf("SIP transport %q, host %q, port %d", s.current().sip.transport, s.current().sip.host, s.current().sip.port)
	}
	if c := s.current().sip.ua.TransportLayer().Pool("wss").Get(srv.Addrs().HTTPS); c == nil {
		t.Fatalf("no SIP WebSocket to %s in sipgo's pool", srv.Addrs().HTTPS)
	} else {
		c.TryClose()
	}
	l, r := s.LocalURI(), s.RemotePath()
	if !l.Secure || l.Transport != "ws" || l.Host != s.current().sip.host {
		t.Fatalf("local MSRP URI %s, want msrps://%s:…;ws", l, s.current().sip.host)
	}
	if len(r) != 1 || !r[0].Secure || r[0].Transport != "ws" || strconv.Itoa(r[0].Port) != httpsPort {
		t.Fatalf("remote MSRP path %v, want msrps on port %s with ;ws", r, httpsPort)
	}
	ws, ok := s.current().conn.nc.(*wsStream)
	if !ok || !s.current().conn.whole {
		t.Fatalf("MSRP connection %T (whole %v), want a wsStream", s.current().conn.nc, s.current().conn.whole)
	}
	if ws.ws.Subprotocol() != "msrp" {
		t.Fatalf("MSRP WebSocket subprotocol %q", ws.ws.Subprotocol())
	}
}

// A participant over SIP and MSRP over secure WebSockets (Transport "ws")
// and one over TCP share a room through the real parleyd: join (the
// INVITE over the SIP WebSocket, an msrps ;ws path, the MSRP WebSocket to
// the switch's ;ws URI, bound), regular and private messages both ways,
// a message of several chunks both ways (the switch cuts what it sends a
// WebSocket peer into 2,048-octet chunks, and takes only one MSRP message
// per WebSocket message: a message written in pieces would close the
// connection; here it takes no chunk over 2,048 octets either),
// nicknames, the roster over the SIP WebSocket (SUBSCRIBE
// and NOTIFYs), leave. A second WebSocket participant, on a sips: room
// URI and the /ws path, gets the focus's BYE over its SIP WebSocket when
// its MSRP WebSocket is closed.
func TestWSChatThroughServer(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, trust, stop := startWSServer(t, func(c *config.Config) {
		fastNotify(c)
		// What the switch accepts in one chunk: a larger one from us would
		// be refused (RFC 7977 §4.2 wants chunks WebSocket-sized).
		c.MSRP.MaxChunk = msrp.InterruptibleSize
	})
	defer stop()
	ctx := testCtx(t)

	alice, err := Join(ctx, "sip:lobby@127.0.0.1", wsOpts(t, "alice", srv, "/", trust))
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Leave(ctx)
	checkWS(t, alice, srv)
	bob, err := Join(ctx, roomURI(srv, "tcp", "lobby"), opts(t, "bob", "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Leave(ctx)

	// The roster, both sides: alice's over her SIP WebSocket.
	waitRoster(t, alice, "alice sees bob", func(ms []Member) bool { _, ok := nicknameOf(ms, "sip:bob@example.com"); return ok })
	waitRoster(t, bob, "bob sees alice", func(ms []Member) bool { _, ok := nicknameOf(ms, "sip:alice@example.com"); return ok })

	// Regular messages, both ways.
	if err := alice.Send(ctx, "hello over WebSocket"); err != nil {
		t.Fatal(err)
	}
	if m := recvChat(t, bob); m.From != "sip:alice@example.com" || m.Private || string(m.Body) != "hello over WebSocket" {
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

	// Larger than a chunk, both ways: 10,000 octets of text whose
	// characters straddle the 2,048-octet cuts (é is two octets).
	big := strings.Repeat("abcdé", 2000)
	if err := alice.Send(ctx, big); err != nil {
		t.Fatal(err)
	}
	if m := recvChat(t, bob); string(m.Body) != big {
		t.Errorf("bob got %d octets of alice's big message, want %d", len(m.Body), len(big))
	}
	if err := bob.Send(ctx, big); err != nil {
		t.Fatal(err)
	}
	if m := recvChat(t, alice); string(m.Body) != big {
		t.Errorf("alice got %d octets of bob's big message, want %d", len(m.Body), len(big))
	}

	// Nicknames: alice's over her MSRP WebSocket, seen by bob; bob's seen
	// in alice's roster.
	if err := alice.SetNickname(ctx, "Alice"); err != nil {
		t.Fatal(err)
	}
	if err := bob.SetNickname(ctx, "Bob"); err != nil {
		t.Fatal(err)
	}
	if code := statusCode(bob.SetNickname(ctx, "ALICE")); code != 425 {
		t.Errorf("bob taking alice's nickname: %d, want 425", code)
	}
	waitRoster(t, alice, "alice sees Bob", func(ms []Member) bool { n, _ := nicknameOf(ms, "sip:bob@example.com"); return n == "Bob" })
	waitRoster(t, bob, "bob sees Alice", func(ms []Member) bool { n, _ := nicknameOf(ms, "sip:alice@example.com"); return n == "Alice" })
	if err := alice.Send(ctx, "named"); err != nil {
		t.Fatal(err)
	}
	if m := recvChat(t, bob); m.FromDisplay != "Alice" || string(m.Body) != "named" {
		t.Errorf("bob got %+v", m)
	}

	// Carol: a sips: room URI, the /ws path (sipgo dials it with a WSS
	// transport of ours). When her MSRP WebSocket closes, the focus ends
	// her dialog with a BYE over her SIP WebSocket: nobody could reach her
	// any other way.
	o := wsOpts(t, "carol", srv, "/ws", trust)
	o.lostGrace = 10 * time.Second // far longer than the focus needs: its BYE must win
	carol, err := Join(ctx, "sips:lobby@127.0.0.1", o)
	if err != nil {
		t.Fatal(err)
	}
	defer carol.Leave(ctx)
	checkWS(t, carol, srv)
	if c := carol.current().sip.contact("carol"); c.Address.Scheme != "sips" || !strings.HasSuffix(c.Address.Host, ".invalid") {
		t.Errorf("carol's Contact %s, want sips: on a .invalid host", c.Address.String())
	}
	waitRoster(t, alice, "alice sees carol", func(ms []Member) bool { _, ok := nicknameOf(ms, "sip:carol@example.com"); return ok })
	if err := carol.Send(ctx, "hi from /ws"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Session{alice, bob} {
		if m := recvChat(t, s); string(m.Body) != "hi from /ws" {
			t.Errorf("got %+v", m)
		}
	}
	carol.current().conn.nc.(*wsStream).ws.Close(websocket.StatusNormalClosure, "")
	waitDone(t, carol)
	if !errors.Is(carol.Err(), ErrEndedByFocus) {
		t.Errorf("carol's Err() = %v, want ErrEndedByFocus (the focus's BYE over her SIP WebSocket)", carol.Err())
	}

	// Leave over the SIP WebSocket.
	if err := alice.Leave(ctx); err != nil {
		t.Fatalf("alice's Leave: %v", err)
	}
	if err := alice.Err(); err != nil {
		t.Errorf("alice ended with %v", err)
	}
	waitRoster(t, bob, "bob sees alice leave", func(ms []Member) bool { _, ok := nicknameOf(ms, "sip:alice@example.com"); return !ok })
}

// Without the server's certificate among the roots, or with the wrong
// name, the Join fails at the SIP WebSocket's TLS handshake, saying why,
// and leaves nothing behind; InsecureSkipVerify joins, still over
// WebSockets, SIP and MSRP alike.
func TestWSVerification(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, trust, stop := startWSServer(t, nil)
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
			s, err := Join(ctx, "sip:lobby@127.0.0.1", wsOpts(t, "alice", srv, "/", tc.cfg))
			if err == nil {
				s.Leave(ctx)
				t.Fatal("Join succeeded without trusting the certificate")
			}
			var cv *tls.CertificateVerificationError
			if !errors.As(err, &cv) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "WebSocket") {
				t.Errorf("Join: %v, want a certificate verification error (%q) of the WebSocket", err, tc.want)
			}
		})
	}

	wrong := trust.Clone()
	wrong.ServerName = "wrong.example"
	_, err := Join(ctx, "sip:lobby@127.0.0.1", wsOpts(t, "alice", srv, "/", wrong))
	var he x509.HostnameError
	if !errors.As(err, &he) {
		t.Errorf("Join with ServerName wrong.example: %v, want a hostname error", err)
	}

	s, err := Join(ctx, "sip:lobby@127.0.0.1", wsOpts(t, "alice", srv, "/", &tls.Config{InsecureSkipVerify: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Leave(ctx)
	checkWS(t, s, srv)
	if err := s.Send(ctx, "hi"); err != nil {
		t.Fatal(err)
	}
}

// The MSRP WebSocket's certificate is verified too, with the same
// configuration: a switch URI whose host the certificate does not name
// fails the MSRP connect.
func TestWSMSRPVerification(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, trust, stop := startWSServer(t, nil)
	defer stop()
	ctx := testCtx(t)
	o := wsOpts(t, "alice", srv, "/", trust)
	c, err := o.resolve(sip.Uri{Scheme: "sip", User: "lobby", Host: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(srv.Addrs().HTTPS)
	first, err := msrp.ParseURI("msrps://localhost:" + port + "/x;ws")
	if err != nil {
		t.Fatal(err)
	}
	_, err = dialMSRPWebSocket(ctx, first, c.wsURL, time.Second, c.tls, 1<<20)
	var he x509.HostnameError
	if !errors.As(err, &he) {
		t.Errorf("MSRP WebSocket to localhost: %v, want a hostname error (the certificate names 127.0.0.1)", err)
	}
	first.Host = "127.0.0.1"
	nc, err := dialMSRPWebSocket(ctx, first, c.wsURL, time.Second, c.tls, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
}

func TestWSOptions(t *testing.T) {
	room := sip.Uri{Scheme: "sip", User: "lobby", Host: "chat.example.com"}
	c, err := Options{From: "sip:a@example.com", Transport: "WS"}.resolve(room)
	if err != nil || c.transport != "WSS" || c.tls == nil || c.tls.MinVersion != tls.VersionTLS12 || c.wsURL.String() != "wss://chat.example.com:8443/" {
		t.Errorf("ws by default: transport %q, tls %v, URL %v, %v", c.transport, c.tls, c.wsURL, err)
	}
	c, err = Options{From: "sip:a@example.com"}.resolve(sip.Uri{Scheme: "sips", Host: "[::1]", UriParams: sip.HeaderParams{{K: "transport", V: "ws"}}})
	if err != nil || c.transport != "WSS" || c.wsURL.String() != "wss://[::1]:8443/" || !c.sips {
		t.Errorf("transport=ws in a sips: room URI: %q %v, %v", c.transport, c.wsURL, err)
	}
	for _, tc := range []struct{ in, want string }{
		{"wss://h", "wss://h:443/"},
		{"WSS://h:9443/ws?x=1", "wss://h:9443/ws?x=1"},
		{"wss://[::1]:8443/sip", "wss://[::1]:8443/sip"},
	} {
		c, err := Options{From: "sip:a@example.com", Transport: "ws", WebSocketURL: tc.in}.resolve(room)
		if err != nil || c.wsURL.String() != tc.want {
			t.Errorf("WebSocketURL %q: %v, %v; want %s", tc.in, c.wsURL, err, tc.want)
		}
	}
	for _, o := range []Options{
		{From: "sip:a@example.com", Transport: "ws", WebSocketURL: "ws://h:8080/"},
		{From: "sip:a@example.com", Transport: "ws", WebSocketURL: "https://h/"},
		{From: "sip:a@example.com", Transport: "ws", WebSocketURL: "wss:///x"},
		{From: "sip:a@example.com", Transport: "ws", WebSocketURL: "wss://u@h/"},
		{From: "sip:a@example.com", Transport: "ws", WebSocketURL: "wss://h:99999/"},
		{From: "sip:a@example.com", Transport: "ws", WebSocketURL: "::"},
		{From: "sip:a@example.com", Transport: "ws", Server: "127.0.0.1:5060"},
		{From: "sip:a@example.com", Transport: "wss"},
	} {
		if _, err := o.resolve(room); !errors.Is(err, errOptions) {
			t.Errorf("resolve(%+v) = %v, want an options error", o, err)
		}
	}
	if c, err := (Options{From: "sip:a@example.com", Transport: "tcp", WebSocketURL: "wss://h/"}).resolve(room); err != nil || c.wsURL != nil || c.tls != nil {
		t.Errorf("WebSocketURL over TCP: %v, %v (ignored)", c.wsURL, err)
	}
}
