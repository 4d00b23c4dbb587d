package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
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

// dialSIPWS opens a SIP WebSocket (RFC 7118) to the server's HTTPS port,
// as a browser client does.
func dialSIPWS(t *testing.T, srv *server.Server, client *tls.Config) *servertest.SIP {
	t.Helper()
	p, err := servertest.DialSIPWS(wsURL(srv, "/"), client, nil)
	if err != nil {
		t.Fatalf("SIP WebSocket: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	if got := p.WS().Subprotocol(); got != "sip" {
		t.Fatalf("subprotocol %q, want sip", got)
	}
	return p
}

// readRequest reads until a request of method arrives over p, and answers
// it 200 when answer is set.
func readRequest(t *testing.T, p *servertest.SIP, method string, answer bool) []byte {
	t.Helper()
	for {
		m, err := p.Read(wait)
		if err != nil {
			t.Fatalf("waiting for a %s: %v", method, err)
		}
		if !strings.HasPrefix(string(m), method+" ") {
			continue
		}
		if answer {
			if err := p.Send(servertest.Reply(m, 200, "OK")); err != nil {
				t.Fatal(err)
			}
		}
		return m
	}
}

// TestSIPWebSocketRoom: a browser-like participant does everything over
// the HTTPS port — SIP over a secure WebSocket (RFC 7118) and MSRP over
// another (RFC 7977) — with a participant on plain TCP: join, regular and
// private messages both ways, a 6,000-octet message from the TCP side cut
// into WebSocket-sized chunks, NICKNAME, the conference subscription with
// its NOTIFY over the same WebSocket, and leave. A second one closes its
// MSRP WebSocket and gets the focus's BYE over its SIP WebSocket: the
// only way to reach a client whose Contact is a .invalid host.
func TestSIPWebSocketRoom(t *testing.T) {
	srv, client := startTLS(t, wsConfig(t))
	roomURI := "sip:wsroom@127.0.0.1"
	_, port, _ := net.SplitHostPort(srv.Addrs().HTTPS)

	ps := dialSIPWS(t, srv, client)
	opt := expect(t, ps, ps.Build(servertest.Req{Method: "OPTIONS", URI: roomURI}), 200, "")
	if !strings.Contains(servertest.Header(opt, "Allow-Events"), "conference") {
		t.Errorf("OPTIONS over WSS: no Allow-Events: conference\n%s", opt)
	}
	if via := servertest.Header(opt, "Via"); !strings.HasPrefix(via, "SIP/2.0/WSS ") || !strings.Contains(via, "received=127.0.0.1") {
		t.Errorf("Via of the answer %q: want the WSS Via with received=127.0.0.1 (RFC 3261 §18.2.1)", via)
	}
	offer, self := wsOffer("alicesipws")
	alice, res := joinTLSAs(t, ps, roomURI, "sip:alice@127.0.0.1", self, offer)
	if c := servertest.Header(res, "Contact"); !strings.HasPrefix(c, "<sips:wsroom@127.0.0.1:"+port+";transport=ws>") {
		t.Errorf("Contact over WSS = %q, want <sips:wsroom@127.0.0.1:%s;transport=ws> (RFC 7118 §7)", c, port)
	}
	if !alice.sw.Secure || alice.sw.Transport != "ws" || strconv.Itoa(alice.sw.Port) != port {
		t.Fatalf("answer path %s, want msrps on port %s with ;ws", alice.sw, port)
	}
	mws, _, err := wsDial(wsURL(srv, "/"), client, []string{"msrp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mws.SetReadLimit(-1)
	defer mws.CloseNow()
	a := &wsMember{t: t, ws: mws, member: alice}
	b0 := msrptest.Bodiless(alice.sw, alice.self)
	a.send(b0)
	a.expectOK(b0.TID)

	pt := dial(t, srv, "TCP")
	bobSelf := msrp.URI{Host: "127.0.0.1", Port: 9, SessionID: "bobtcp", Transport: "tcp"}
	bob, _ := joinTLSAs(t, pt, roomURI, "sip:bob@127.0.0.1", bobSelf, servertest.Offer(9, "bobtcp"))
	bc, err := net.Dial("tcp", srv.Addrs().MSRP)
	if err != nil {
		t.Fatal(err)
	}
	bob.bindMSRP(t, bc)

	// Regular and private messages, both ways.
	for _, c := range []struct{ to, text string }{{roomURI, "hello room from WSS"}, {bob.uri, "psst bob"}} {
		m := msrptest.Send(alice.sw, alice.self, "message/cpim", msrptest.CPIM(alice.uri, c.to, c.text))
		a.send(m)
		a.expectOK(m.TID)
		bob.expectText(t, c.text)
	}
	for _, c := range []struct{ to, text string }{{roomURI, "hello room from TCP"}, {alice.uri, "psst alice"}} {
		m := msrptest.Send(bob.sw, bob.self, "message/cpim", msrptest.CPIM(bob.uri, c.to, c.text))
		bob.msrp.Send(m)
		bob.expectOK(t, m.TID)
		a.expectText(c.text)
	}

	// 6,000 octets from the TCP side in one chunk reach the WebSocket side
	// as complete chunks of one WebSocket message each (RFC 7977 §4.2).
	body := msrptest.CPIM(bob.uri, roomURI, strings.Repeat("0123456789", 600))
	big := msrptest.Send(bob.sw, bob.self, "message/cpim", body)
	bob.msrp.Send(big)
	bob.expectOK(t, big.TID)
	var got []byte
	for pieces := 0; len(got) < len(body); pieces++ {
		c := a.next()
		if !c.IsRequest() || c.Method != msrp.MethodSEND || (len(got) == 0 && !bytes.HasPrefix(c.Body, body[:20])) {
			continue // a notice, or a 200
		}
		got = append(got, c.Body...)
		if pieces > 10 {
			t.Fatal("too many pieces")
		}
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("the WebSocket side got %d octets, want %d", len(got), len(body))
	}

	// NICKNAME over the WebSocket.
	nick := msrptest.Nickname(alice.sw, alice.self, "ally")
	a.send(nick)
	a.expectOK(nick.TID)

	// The conference subscription over the SIP WebSocket; its NOTIFY comes
	// back over the same WebSocket.
	sub := servertest.WithFrom(ps.Build(servertest.Req{Method: "SUBSCRIBE", URI: roomURI, Extra: []string{
		"Event: conference", "Accept: application/conference-info+xml", "Expires: 600"}}), "<sip:watcher@127.0.0.1>")
	res = expect(t, ps, sub, 200, "")
	if c := servertest.Header(res, "Contact"); !strings.HasPrefix(c, "<sips:wsroom@") {
		t.Errorf("SUBSCRIBE 200 Contact over WSS = %q, want sips:", c)
	}
	n := readRequest(t, ps, "NOTIFY", true)
	if !strings.Contains(string(n), "alice@127.0.0.1") || !strings.Contains(string(n), "ally") {
		t.Errorf("NOTIFY does not show alice and her nickname:\n%s", n)
	}
	if via := servertest.Header(n, "Via"); !strings.HasPrefix(via, "SIP/2.0/WSS ") {
		t.Errorf("NOTIFY Via %q, want SIP/2.0/WSS", via)
	}

	// Carol, also a WebSocket client, closes her MSRP WebSocket: the focus
	// ends her dialog with a BYE over her SIP WebSocket.
	pc := dialSIPWS(t, srv, client)
	offer, self = wsOffer("carolsipws")
	carol, _ := joinTLSAs(t, pc, roomURI, "sip:carol@127.0.0.1", self, offer)
	cws, _, err := wsDial(wsURL(srv, "/"), client, []string{"msrp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cm := &wsMember{t: t, ws: cws, member: carol}
	b1 := msrptest.Bodiless(carol.sw, carol.self)
	cm.send(b1)
	cm.expectOK(b1.TID)
	cws.Close(websocket.StatusNormalClosure, "")
	bye := readRequest(t, pc, "BYE", true)
	if !strings.Contains(servertest.Header(bye, "Call-ID"), carol.callID) {
		t.Errorf("BYE for another dialog:\n%s", bye)
	}

	// Leave over the SIP WebSocket: 200, the MSRP WebSocket closes, and
	// Bob hears of it.
	bye = servertest.WithFrom(ps.Build(servertest.Req{Method: "BYE", URI: roomURI, CallID: alice.callID, FromTag: "ft", ToTag: alice.tag, CSeq: 2}), "<"+alice.uri+">")
	expect(t, ps, bye, 200, "")
	bob.expectText(t, "left")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		if _, _, err := mws.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the MSRP WebSocket was not closed after the BYE")
			}
			break
		}
	}
	bye = servertest.WithFrom(pt.Build(servertest.Req{Method: "BYE", URI: roomURI, CallID: bob.callID, FromTag: "ft", ToTag: bob.tag, CSeq: 2}), "<"+bob.uri+">")
	expect(t, pt, bye, 200, "")
}

// Bad input over a SIP WebSocket gets its SIP answer and the connection
// stays: a request without Call-ID (400 naming it, RFC 3261 §8.2), a
// message too large for the SIP stack (513); a binary message is a SIP
// message like a text one (RFC 7118 §4.2); a message over the WebSocket
// read limit closes the connection with 1009 (RFC 6455 §7.4.1); a
// WebSocket without a subprotocol is refused (400). The server serves on.
func TestSIPWebSocketBadInput(t *testing.T) {
	srv, client := startTLS(t, wsConfig(t))
	p := dialSIPWS(t, srv, client)
	expect(t, p, p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:127.0.0.1", Drop: []string{"Call-ID"}}), 400, "Missing Call-ID")

	large := p.Build(servertest.Req{Method: "MESSAGE", URI: "sip:bad@127.0.0.1", ContentType: "text/plain", Body: strings.Repeat("x", 40000)})
	expect(t, p, large, 513, "")

	binary := p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:127.0.0.1"})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := p.WS().Write(ctx, websocket.MessageBinary, binary); err != nil {
		t.Fatal(err)
	}
	if res, err := p.Read(wait); err != nil || !strings.HasPrefix(string(res), "SIP/2.0 200 ") {
		t.Fatalf("OPTIONS in a binary message: %q, %v", firstLine(res), err)
	}
	before := srv.GuardStats().Answered
	if before < 2 {
		t.Errorf("GuardStats().Answered = %d, want the 400 and the 513 counted", before)
	}

	huge := p.Build(servertest.Req{Method: "MESSAGE", URI: "sip:bad@127.0.0.1", ContentType: "text/plain", Body: strings.Repeat("x", 70000)})
	if err := p.Send(huge); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := p.Read(wait)
		if errors.Is(err, servertest.ErrNoAnswer) {
			t.Fatal("the connection is still open after a 70,000-octet message")
		}
		if err != nil {
			if s := websocket.CloseStatus(err); s != websocket.StatusMessageTooBig {
				t.Fatalf("closed with %v (status %d), want 1009", err, s)
			}
			break
		}
	}

	if ws, res, err := wsDial(wsURL(srv, "/"), client, nil, nil); err == nil {
		ws.CloseNow()
		t.Fatal("a WebSocket without subprotocol was upgraded")
	} else if res == nil || res.StatusCode != http.StatusBadRequest {
		t.Fatalf("no subprotocol: %v (%v), want 400", res, err)
	}
	q := dialSIPWS(t, srv, client)
	expect(t, q, q.Build(servertest.Req{Method: "OPTIONS", URI: "sip:127.0.0.1"}), 200, "")
}

// A SIP WebSocket that set up no dialog or subscription and sends nothing
// is closed after sip.idle_timeout, with 1008 (policy violation), as an
// idle SIP TCP connection is; one with a subscription stays open however
// long it is silent, and the subscription is still usable over it.
func TestSIPWebSocketIdle(t *testing.T) {
	const idle = 300 * time.Millisecond
	cfg := wsConfig(t)
	cfg.SIP.IdleTimeout = config.Duration(idle)
	srv, client := startTLS(t, cfg)
	roomURI := "sip:idlews@127.0.0.1"

	m := dial(t, srv, "TCP") // the room exists while someone is in it
	callID := servertest.RandomToken()
	tag := join(t, m, roomURI, callID)

	lone := dialSIPWS(t, srv, client)
	expect(t, lone, lone.Build(servertest.Req{Method: "OPTIONS", URI: "sip:127.0.0.1"}), 200, "")
	start := time.Now()

	w := dialSIPWS(t, srv, client)
	subCallID := servertest.RandomToken()
	sub := servertest.Req{Method: "SUBSCRIBE", URI: roomURI, CallID: subCallID, FromTag: "wt", CSeq: 1,
		Extra: []string{"Event: conference", "Accept: application/conference-info+xml", "Expires: 600"}}
	res := expect(t, w, servertest.WithFrom(w.Build(sub), "<sip:watcher@127.0.0.1>"), 200, "")
	_, wtag, _ := strings.Cut(servertest.Header(res, "To"), ";tag=")
	wtag, _, _ = strings.Cut(wtag, ";")
	readRequest(t, w, "NOTIFY", true)

	for {
		_, err := lone.Read(wait)
		if errors.Is(err, servertest.ErrNoAnswer) {
			t.Fatalf("the idle SIP WebSocket is still open after %v", time.Since(start))
		}
		if err != nil {
			if s := websocket.CloseStatus(err); s != websocket.StatusPolicyViolation {
				t.Fatalf("closed with %v (status %d), want 1008", err, s)
			}
			break
		}
	}
	t.Logf("idle SIP WebSocket without a dialog closed after %v (sip.idle_timeout %v)", time.Since(start).Round(time.Millisecond), idle)
	if got := srv.GuardStats().Idle; got < 1 {
		t.Errorf("GuardStats().Idle = %d, want at least 1", got)
	}

	time.Sleep(2 * idle) // the watcher's WebSocket is as silent, for longer
	sub.ToTag, sub.CSeq = wtag, 2
	sub.Extra = []string{"Event: conference", "Expires: 0"}
	expect(t, w, servertest.WithFrom(w.Build(sub), "<sip:watcher@127.0.0.1>"), 200, "")
	expect(t, m, m.Build(servertest.Req{Method: "BYE", URI: roomURI, CallID: callID, FromTag: "ft", ToTag: tag, CSeq: 2}), 200, "")
}

// One address may hold at most https.max_pending_per_source connections
// that are not a WebSocket yet (here: TCP connections that never start
// their TLS handshake); one more is closed at once and counted. A
// connection that became a WebSocket no longer counts, and one closed
// frees its place.
func TestHTTPSPendingPerSource(t *testing.T) {
	cfg := wsConfig(t)
	cfg.HTTPS.MaxPendingPerSource = 3
	srv, client := startTLS(t, cfg)
	stalled := func() net.Conn {
		c, err := net.Dial("tcp", srv.Addrs().HTTPS)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	closedNow := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(wait))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
	openStill := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout()
	}

	// An upgraded WebSocket, then two stalled connections: three places,
	// of which the WebSocket no longer holds one.
	ws := dialSIPWS(t, srv, client)
	// Its 101 can reach us before the server has taken the connection over
	// (and freed its place): an answered OPTIONS over it comes after.
	expect(t, ws, ws.Build(servertest.Req{Method: "OPTIONS", URI: "sip:" + srv.Addrs().HTTPS}), 200, "")
	a, b := stalled(), stalled()
	c := stalled()
	if !openStill(a) || !openStill(b) || !openStill(c) {
		t.Fatal("a connection within the limit was closed")
	}
	d := stalled()
	if !closedNow(d) {
		t.Fatal("a fourth pending connection from one address was kept")
	}
	if got := srv.HTTPSStats().PendingRefused; got != 1 {
		t.Errorf("HTTPSStats().PendingRefused = %d, want 1", got)
	}
	a.Close()
	deadline := time.Now().Add(wait)
	for {
		e := stalled()
		if openStill(e) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection's place was never freed")
		}
	}
	// The WebSocket upgraded before all this still works.
	expect(t, ws, ws.Build(servertest.Req{Method: "OPTIONS", URI: "sip:127.0.0.1"}), 200, "")
}

// Connections to the HTTPS port that never finish their TLS handshake
// (silent, or speaking plain HTTP to it) or never finish their request
// header are closed within the header bound (10 s; here 300 ms), and the
// port serves on.
func TestHTTPSHandshakeNeverFinishes(t *testing.T) {
	const bound = 300 * time.Millisecond
	srv, client, err := launchTLSWith(wsConfig(t), func(cfg *config.Config, log *slog.Logger) (*server.Server, error) {
		return server.NewWithHTTPSHeaderTimeout(cfg, log, bound)
	})
	if srv != nil {
		t.Cleanup(func() { stopServer(srv) })
	}
	if err != nil {
		t.Fatal(err)
	}
	silent, err := net.Dial("tcp", srv.Addrs().HTTPS)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	plain, err := net.Dial("tcp", srv.Addrs().HTTPS)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	plain.Write([]byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
	half, err := tls.Dial("tcp", srv.Addrs().HTTPS, client)
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	half.Write([]byte("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr"))
	start := time.Now()
	for name, c := range map[string]net.Conn{"silent": silent, "plain HTTP": plain, "TLS, half a header": half} {
		took := closedWithin(t, c, start, wait)
		t.Logf("%s: closed after %v", name, took.Round(time.Millisecond))
	}
	p := dialSIPWS(t, srv, client)
	expect(t, p, p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:127.0.0.1"}), 200, "")
}
