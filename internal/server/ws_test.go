package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/servertest"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// wsConfig is tlsConfig with the HTTPS listener on a port chosen by the
// kernel.
func wsConfig(t *testing.T) *config.Config {
	cfg := tlsConfig(t)
	cfg.HTTPS.Listen = "127.0.0.1:0"
	return cfg
}

// wsOffer is a WebSocket client's offer (RFC 7977 §5.2.1, §5.3): an
// msrps ;ws path whose host is .invalid, on a TCP/TLS/MSRP m-line.
func wsOffer(sid string) (string, msrp.URI) {
	self := msrp.URI{Secure: true, Host: "x" + sid + ".invalid", Port: 2855, SessionID: sid, Transport: "ws"}
	return "v=0\r\no=tester 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=message 9 TCP/TLS/MSRP *\r\na=accept-types:message/cpim\r\n" +
		"a=accept-wrapped-types:text/plain\r\na=path:" + self.String() + "\r\n" +
		"a=setup:active\r\na=chatroom:nickname private-messages\r\n", self
}

// wsURL is the server's wss URL at path.
func wsURL(srv *server.Server, path string) string { return "wss://" + srv.Addrs().HTTPS + path }

// wsDial opens a WebSocket to the server's HTTPS port with coder/websocket's
// client over HTTP/1.1, trusting client's roots; header is added to the
// upgrade request.
func wsDial(url string, client *tls.Config, protos []string, header http.Header) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return websocket.Dial(ctx, url, &websocket.DialOptions{
		Subprotocols: protos,
		HTTPHeader:   header,
		HTTPClient:   &http.Client{Transport: &http.Transport{TLSClientConfig: client}},
	})
}

// wsMember is a participant whose MSRP goes over a WebSocket.
type wsMember struct {
	t  *testing.T
	ws *websocket.Conn
	*member
}

func (m *wsMember) send(msg *msrp.Message) {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := m.ws.Write(ctx, websocket.MessageText, msg.AppendTo(nil)); err != nil {
		m.t.Fatalf("WS write: %v", err)
	}
}

// next reads one WebSocket message, which must hold exactly one MSRP
// message (RFC 7977 §4.2).
func (m *wsMember) next() *msrp.Message {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, data, err := m.ws.Read(ctx)
	if err != nil {
		m.t.Fatalf("WS read: %v", err)
	}
	r := msrp.NewReader(bytes.NewReader(data), msrp.Limits{})
	msg, err := r.ReadMessage()
	if err != nil {
		m.t.Fatalf("a WS message of %d octets: %v", len(data), err)
	}
	msg = msg.Clone()
	if _, err := r.ReadMessage(); err != io.EOF {
		m.t.Fatalf("a WS message of %d octets holds more than one MSRP message (%v)", len(data), err)
	}
	return msg
}

// expectOK reads until the 200 to tid, skipping requests (notices).
func (m *wsMember) expectOK(tid string) {
	m.t.Helper()
	for range 20 {
		got := m.next()
		if !got.IsRequest() {
			if got.TID != tid || got.Code != msrp.StatusOK {
				m.t.Fatalf("%s: response %s %d, want 200 to %s", m.uri, got.TID, got.Code, tid)
			}
			return
		}
	}
	m.t.Fatalf("%s: no 200 to %s", m.uri, tid)
}

// expectText reads SENDs until one whose body holds text.
func (m *wsMember) expectText(text string) {
	m.t.Helper()
	for range 20 {
		got := m.next()
		if got.IsRequest() && got.Method == msrp.MethodSEND && bytes.Contains(got.Body, []byte(text)) {
			return
		}
	}
	m.t.Fatalf("%s never received %q", m.uri, text)
}

// joinWS joins roomURI over p with a WebSocket offer, checks that the
// answer names our HTTPS port (msrps, ;ws, TCP/TLS/MSRP), opens the
// WebSocket (subprotocol msrp, with origin when not "") and binds.
func joinWS(t *testing.T, srv *server.Server, client *tls.Config, p *servertest.SIP, roomURI, uri, sid, origin string) *wsMember {
	t.Helper()
	offer, self := wsOffer(sid)
	m, res := joinTLSAs(t, p, roomURI, uri, self, offer)
	_, port, _ := net.SplitHostPort(srv.Addrs().HTTPS)
	if !m.sw.Secure || m.sw.Transport != "ws" || strconv.Itoa(m.sw.Port) != port || m.sw.Host != "127.0.0.1" ||
		!strings.Contains(string(res), "m=message "+port+" TCP/TLS/MSRP *") {
		t.Fatalf("answer to a ;ws offer: path %s, want msrps://127.0.0.1:%s/…;ws on TCP/TLS/MSRP:\n%s", m.sw, port, res)
	}
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	ws, _, err := wsDial(wsURL(srv, "/ws"), client, []string{"msrp"}, h)
	if err != nil {
		t.Fatalf("WebSocket: %v", err)
	}
	ws.SetReadLimit(-1)
	t.Cleanup(func() { ws.CloseNow() })
	if ws.Subprotocol() != "msrp" {
		t.Fatalf("subprotocol %q, want msrp", ws.Subprotocol())
	}
	wm := &wsMember{t: t, ws: ws, member: m}
	b := msrptest.Bodiless(m.sw, m.self)
	wm.send(b)
	wm.expectOK(b.TID)
	return wm
}

// TestWSRoom: a participant that joins over SIP/TLS with a WebSocket
// client's offer gets a ;ws path on the HTTPS port, binds over wss with
// coder/websocket's client (subprotocol msrp), and exchanges messages
// with a participant over plain TCP both ways, each MSRP message in one
// WebSocket message.
func TestWSRoom(t *testing.T) {
	srv, client := startTLS(t, wsConfig(t))
	roomURI := "sip:wsroom@127.0.0.1"
	_, port, _ := net.SplitHostPort(srv.Addrs().HTTPS)

	alice := joinWS(t, srv, client, dialSIPTLS(t, srv, client), roomURI, "sip:alice@127.0.0.1", "alicews", "https://127.0.0.1:"+port)

	pt := dial(t, srv, "TCP")
	bobSelf := msrp.URI{Host: "127.0.0.1", Port: 9, SessionID: "bobtcp", Transport: "tcp"}
	bob, _ := joinTLSAs(t, pt, roomURI, "sip:bob@127.0.0.1", bobSelf, servertest.Offer(9, "bobtcp"))
	bc, err := net.Dial("tcp", srv.Addrs().MSRP)
	if err != nil {
		t.Fatal(err)
	}
	bob.bindMSRP(t, bc)

	m := msrptest.Send(alice.sw, alice.self, "message/cpim", msrptest.CPIM(alice.uri, roomURI, "hello from WebSocket"))
	alice.send(m)
	alice.expectOK(m.TID)
	bob.expectText(t, "hello from WebSocket")

	m = msrptest.Send(bob.sw, bob.self, "message/cpim", msrptest.CPIM(bob.uri, roomURI, "hello from TCP"))
	bob.msrp.Send(m)
	bob.expectOK(t, m.TID)
	alice.expectText("hello from TCP")

	// A keep-alive (a bodiless SEND) is answered and reaches nobody.
	ka := msrptest.Bodiless(alice.sw, alice.self)
	alice.send(ka)
	alice.expectOK(ka.TID)

	// Leave: BYE over SIP closes the WebSocket.
	bye := servertest.WithFrom(alice.sip.Build(servertest.Req{Method: "BYE", URI: roomURI, CallID: alice.callID, FromTag: "ft", ToTag: alice.tag, CSeq: 2}), "<"+alice.uri+">")
	expect(t, alice.sip, bye, 200, "")
	bob.expectText(t, "left")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		if _, _, err := alice.ws.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the WebSocket was not closed after the BYE")
			}
			break
		}
	}
	// Bob leaves too, so that shutdown has no BYE to wait for.
	bye = servertest.WithFrom(pt.Build(servertest.Req{Method: "BYE", URI: roomURI, CallID: bob.callID, FromTag: "ft", ToTag: bob.tag, CSeq: 2}), "<"+bob.uri+">")
	expect(t, pt, bye, 200, "")
}

// The HTTPS port refuses what it does not serve, each with its status and
// nothing upgraded: an Origin that is not the server's (403), no
// subprotocol or an unknown one (400), a plain GET
// (404 at /, 426 at /ws), another path (404); and it serves on.
func TestWSRefusals(t *testing.T) {
	srv, client := startTLS(t, wsConfig(t))
	_, port, _ := net.SplitHostPort(srv.Addrs().HTTPS)
	for _, c := range []struct {
		name   string
		path   string
		protos []string
		origin string
		want   int
	}{
		{"wrong origin", "/ws", []string{"msrp"}, "https://evil.example", http.StatusForbidden},
		{"origin on another port", "/", []string{"msrp"}, "https://127.0.0.1:1", http.StatusForbidden},
		{"plain http origin", "/ws", []string{"msrp"}, "http://127.0.0.1:" + port, http.StatusForbidden},
		{"no subprotocol", "/ws", nil, "", http.StatusBadRequest},
		{"unknown subprotocol", "/", []string{"xmpp"}, "", http.StatusBadRequest},
		{"another path", "/msrp", []string{"msrp"}, "", http.StatusNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			if c.origin != "" {
				h.Set("Origin", c.origin)
			}
			ws, res, err := wsDial(wsURL(srv, c.path), client, c.protos, h)
			if err == nil {
				ws.CloseNow()
				t.Fatal("upgraded")
			}
			if res == nil || res.StatusCode != c.want {
				t.Fatalf("%v (%v), want %d", res, err, c.want)
			}
		})
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: client}}
	defer hc.CloseIdleConnections()
	for path, want := range map[string]int{"/": http.StatusNotFound, "/ws": http.StatusUpgradeRequired, "/x": http.StatusNotFound} {
		res, err := hc.Get("https://" + srv.Addrs().HTTPS + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want || res.ProtoMajor != 1 {
			t.Errorf("GET %s: %s %s, want %d over HTTP/1.1", path, res.Proto, res.Status, want)
		}
	}
	// Serving on: a WebSocket participant joins and binds, at /.
	p := dial(t, srv, "TCP")
	offer, self := wsOffer("after")
	m, _ := joinTLSAs(t, p, "sip:after@127.0.0.1", "sip:late@127.0.0.1", self, offer)
	ws, _, err := wsDial(wsURL(srv, "/"), client, []string{"msrp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	wm := &wsMember{t: t, ws: ws, member: m}
	b := msrptest.Bodiless(m.sw, m.self)
	wm.send(b)
	wm.expectOK(b.TID)
	bye := servertest.WithFrom(p.Build(servertest.Req{Method: "BYE", URI: "sip:after@127.0.0.1", CallID: m.callID, FromTag: "ft", ToTag: m.tag, CSeq: 2}), "<"+m.uri+">")
	expect(t, p, bye, 200, "")
}

// https.origins replaces the same-host default: a listed Origin is
// upgraded, the server's own is not any more.
func TestWSOrigins(t *testing.T) {
	cfg := wsConfig(t)
	cfg.HTTPS.Origins = []string{"https://chat.example.com"}
	srv, client := startTLS(t, cfg)
	_, port, _ := net.SplitHostPort(srv.Addrs().HTTPS)
	for origin, want := range map[string]int{"https://CHAT.example.com": http.StatusSwitchingProtocols, "https://127.0.0.1:" + port: http.StatusForbidden} {
		ws, res, err := wsDial(wsURL(srv, "/ws"), client, []string{"msrp"}, http.Header{"Origin": {origin}})
		if err == nil {
			ws.CloseNow()
		}
		if res == nil || res.StatusCode != want {
			t.Errorf("Origin %s: %v (%v), want %d", origin, res, err, want)
		}
	}
}

// Without the HTTPS listener, a WebSocket client's offer is declined with
// 488 and a Warning that says why; the server never tries to reach its
// .invalid host.
func TestWSOfferWithoutHTTPS(t *testing.T) {
	srv, stop := startServer(t)
	defer stop()
	p := dial(t, srv, "TCP")
	offer, _ := wsOffer("nows")
	res := expect(t, p, p.Build(servertest.Req{Method: "INVITE", URI: "sip:nows@127.0.0.1", Body: offer}), 488, "")
	if w := servertest.Header(res, "Warning"); !strings.Contains(w, "WebSocket") {
		t.Errorf("Warning %q, want one about MSRP over WebSocket", w)
	}
}

// The HTTPS listener left at its default port, that port taken, is turned
// off with a warning like the other default TLS listeners (the server
// starts, and declines WebSocket offers); the same address set explicitly
// fails the start in one line.
func TestDefaultHTTPSPortTaken(t *testing.T) {
	def := config.Default()
	if l, err := net.Listen("tcp", def.HTTPS.Listen); err == nil { // else someone holds it already
		defer l.Close()
	}
	cfg := loopbackConfig()
	cfg.HTTPS.Listen, cfg.Server.DataDir = def.HTTPS.Listen, t.TempDir()
	var logs servertest.LogBuffer
	srv, err := server.New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("a taken default HTTPS port stopped the start: %v", err)
	}
	srv.Start()
	defer stopServer(srv)
	if a := srv.Addrs().HTTPS; a != "" {
		t.Errorf("HTTPS listening on %s, want off", a)
	}
	if !strings.Contains(logs.String(), "TLS left off: the default HTTPS port is not free") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
	p := dial(t, srv, "TCP")
	offer, _ := wsOffer("offport")
	expect(t, p, p.Build(servertest.Req{Method: "INVITE", URI: "sip:offport@127.0.0.1", Body: offer}), 488, "")
	stillServes(t, srv, "TCP")

	cfg = loopbackConfig()
	cfg.HTTPS.Listen, cfg.Server.DataDir = srv.Addrs().SIPTCP, t.TempDir() // explicitly, and taken
	if s, err := server.New(cfg, nil); err == nil {
		stopServer(s)
		t.Error("an explicit HTTPS address in use did not fail the start")
	} else if !strings.HasPrefix(err.Error(), "HTTPS listener: ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q, want one line naming the HTTPS listener", err)
	}
}

// Shutdown is bounded with WebSocket participants bound and an HTTPS
// client that never finishes its handshake: the WebSocket is closed, the
// half-open connection too, and a second Shutdown returns at once.
func TestWSShutdown(t *testing.T) {
	srv, client := startTLS(t, wsConfig(t)) // its cleanup's Shutdown is the third
	p := dial(t, srv, "TCP")
	alice := joinWS(t, srv, client, p, "sip:down@127.0.0.1", "sip:alice@127.0.0.1", "downws", "")
	stalled, err := net.Dial("tcp", srv.Addrs().HTTPS)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()

	// The participant answers the focus's BYE, as a live one would.
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		for {
			req, err := p.Read(wait)
			if err != nil {
				return
			}
			if strings.HasPrefix(string(req), "BYE ") {
				p.Send(servertest.Reply(req, 200, "OK"))
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	start := time.Now()
	srv.Shutdown(ctx)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
	rctx, rcancel := context.WithTimeout(context.Background(), wait)
	defer rcancel()
	if _, _, err := alice.ws.Read(rctx); err == nil || rctx.Err() != nil {
		t.Fatalf("the WebSocket is still open after Shutdown (%v)", err)
	}
	stalled.SetReadDeadline(time.Now().Add(wait))
	if _, err := io.Copy(io.Discard, stalled); err != nil {
		t.Fatalf("the stalled HTTPS connection is still open after Shutdown: %v", err)
	}
	start = time.Now()
	srv.Shutdown(context.Background())
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("a second Shutdown took %v", d)
	}
	<-answered
}
