package server_test

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/servertest"
)

const wait = 5 * time.Second

// loopbackConfig is the default configuration listening on 127.0.0.1
// ports chosen by the kernel.
func loopbackConfig() *config.Config {
	cfg := config.Default()
	cfg.SIP.UDP, cfg.SIP.TCP, cfg.MSRP.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.SIP.TLS, cfg.MSRP.TLSListen, cfg.HTTPS.Listen = "", "", "" // no TLS: no certificate, no fixed ports
	cfg.Store.Mode = config.StoreMemory                            // history kept, nothing written to the working directory
	return cfg
}

// startServer runs a parleyd with loopbackConfig; stop shuts it down.
func startServer(t *testing.T) (srv *server.Server, stop func()) {
	t.Helper()
	srv, err := server.New(loopbackConfig(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("starting parleyd: %v", err)
	}
	srv.Start()
	return srv, func() { stopServer(srv) }
}

// sipAddr is the server's SIP address for transport.
func sipAddr(srv *server.Server, transport string) string {
	if transport == "UDP" {
		return srv.Addrs().SIPUDP
	}
	return srv.Addrs().SIPTCP
}

func dial(t *testing.T, srv *server.Server, transport string) *servertest.SIP {
	t.Helper()
	p, err := servertest.DialSIP(transport, sipAddr(srv, transport))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// expect sends req and checks the final answer's code and reason phrase.
func expect(t *testing.T, p *servertest.SIP, req []byte, code int, reason string) []byte {
	t.Helper()
	res, err := p.Exchange(req, wait)
	if err != nil {
		t.Fatalf("%s: %v", firstLine(req), err)
	}
	if c, r := servertest.Status(res); c != code || (reason != "" && r != reason) {
		t.Fatalf("%s: got %q, want %d %s", firstLine(req), firstLine(res), code, reason)
	}
	return res
}

func firstLine(b []byte) string { l, _, _ := strings.Cut(string(b), "\r\n"); return l }

// join admits a participant to name and returns the dialog's To tag.
func join(t *testing.T, p *servertest.SIP, roomURI, callID string) string {
	t.Helper()
	res := expect(t, p, p.Build(servertest.Req{Method: "INVITE", URI: roomURI, CallID: callID, FromTag: "ft", CSeq: 1,
		Body: servertest.Offer(9, servertest.RandomToken())}), 200, "")
	tag := servertest.Header(res, "To")
	_, tag, _ = strings.Cut(tag, ";tag=")
	tag, _, _ = strings.Cut(tag, ";")
	if err := p.Send(p.Build(servertest.Req{Method: "ACK", URI: roomURI, CallID: callID, FromTag: "ft", ToTag: tag, CSeq: 1})); err != nil {
		t.Fatal(err)
	}
	return tag
}

// stillServes: the server answers OPTIONS, admits a participant and lets
// it leave.
func stillServes(t *testing.T, srv *server.Server, transport string) {
	t.Helper()
	p := dial(t, srv, transport)
	roomURI := "sip:alive@127.0.0.1"
	expect(t, p, p.Build(servertest.Req{Method: "OPTIONS", URI: roomURI}), 200, "") // ad hoc: any room may be joined
	callID := servertest.RandomToken()
	tag := join(t, p, roomURI, callID)
	expect(t, p, p.Build(servertest.Req{Method: "OPTIONS", URI: roomURI}), 200, "")
	expect(t, p, p.Build(servertest.Req{Method: "BYE", URI: roomURI, CallID: callID, FromTag: "ft", ToTag: tag, CSeq: 2}), 200, "")
}

// TestMissingMandatoryFields: a request without Via, From, To, Call-ID,
// CSeq or Max-Forwards gets 400 naming the field, whatever its method, in
// or out of a dialog (RFC 3261 §8.1.1, §8.2, §21.4.1), and the server goes
// on serving. Before the guard, an INVITE without Call-ID or To, or a
// SUBSCRIBE to an existing room without To, stopped the server.
func TestMissingMandatoryFields(t *testing.T) {
	srv, stop := startServer(t)
	defer stop()
	for _, transport := range []string{"UDP", "TCP"} {
		t.Run(transport, func(t *testing.T) {
			p := dial(t, srv, transport)
			roomURI := "sip:lobby-" + strings.ToLower(transport) + "@127.0.0.1"
			callID := servertest.RandomToken()
			tag := join(t, p, roomURI, callID) // the room exists; a dialog to address
			for _, method := range []string{"INVITE", "SUBSCRIBE", "OPTIONS", "MESSAGE", "INFO", "BYE", "CANCEL"} {
				for _, field := range []string{"Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards"} {
					r := servertest.Req{Method: method, URI: roomURI, Drop: []string{field}}
					switch method {
					case "INVITE":
						r.Body = servertest.Offer(9, servertest.RandomToken())
					case "SUBSCRIBE":
						r.Extra = []string{"Event: conference", "Expires: 60"}
					case "BYE", "INFO":
						r.CallID, r.FromTag, r.ToTag = callID, "ft", tag // in the dialog
					}
					expect(t, p, p.Build(r), 400, "Missing "+field)
				}
			}
			expect(t, p, p.Build(servertest.Req{Method: "BYE", URI: roomURI, CallID: callID, FromTag: "ft", ToTag: tag, CSeq: 9}), 200, "")
			stillServes(t, srv, transport)
		})
	}
}

// TestRequestAnswers: each malformed or unsupported request gets the
// answer RFC 3261 gives it, over UDP and over TCP, where the connection
// stays usable.
func TestRequestAnswers(t *testing.T) {
	srv, stop := startServer(t)
	defer stop()
	const roomURI = "sip:answers@127.0.0.1"
	for _, transport := range []string{"UDP", "TCP"} {
		t.Run(transport, func(t *testing.T) {
			p := dial(t, srv, transport)
			opt := func(mod func(*servertest.Req)) []byte {
				r := servertest.Req{Method: "OPTIONS", URI: roomURI}
				mod(&r)
				return p.Build(r)
			}
			cases := []struct {
				name   string
				req    []byte
				code   int
				reason string
			}{
				{"unparseable CSeq", opt(func(r *servertest.Req) { r.Drop = []string{"CSeq"}; r.Extra = []string{"CSeq: abc OPTIONS"} }), 400, "Bad CSeq"},
				{"CSeq over 2**31", opt(func(r *servertest.Req) { r.Drop = []string{"CSeq"}; r.Extra = []string{"CSeq: 4294967296 OPTIONS"} }), 400, "Bad CSeq"},
				{"CSeq of another method", opt(func(r *servertest.Req) { r.Drop = []string{"CSeq"}; r.Extra = []string{"CSeq: 1 INVITE"} }), 400, "CSeq Method Mismatch"},
				{"two Call-IDs", opt(func(r *servertest.Req) { r.Extra = []string{"Call-ID: second"} }), 400, "Duplicate Call-ID"},
				{"bad Max-Forwards", opt(func(r *servertest.Req) { r.Drop = []string{"Max-Forwards"}; r.Extra = []string{"Max-Forwards: ten"} }), 400, "Bad Max-Forwards"},
				{"bad Via", opt(func(r *servertest.Req) { r.Drop = []string{"Via"}; r.Extra = []string{"Via: SIP/2.0"} }), 400, "Bad Via"},
				{"bad From", opt(func(r *servertest.Req) { r.Drop = []string{"From"}; r.Extra = []string{"From: <sip:x@y;tag=1"} }), 400, "Bad From"},
				{"bad Contact", opt(func(r *servertest.Req) { r.Drop = []string{"Contact"}; r.Extra = []string{"Contact: <sip:x@y"} }), 400, "Bad Contact"},
				{"SIP/3.0", opt(func(r *servertest.Req) { r.Version = "SIP/3.0" }), 505, "Version Not Supported"},
				{"unknown method", p.Build(servertest.Req{Method: "FROB", URI: roomURI}), 501, "Not Implemented"},
				{"REGISTER", p.Build(servertest.Req{Method: "REGISTER", URI: "sip:127.0.0.1"}), 405, "Method Not Allowed"},
				{"PUBLISH", p.Build(servertest.Req{Method: "PUBLISH", URI: roomURI}), 405, "Method Not Allowed"},
				{"tel Request-URI", opt(func(r *servertest.Req) { r.URI = "tel:+15551234567" }), 416, "Unsupported URI Scheme"},
				{"Require", opt(func(r *servertest.Req) { r.Extra = []string{"Require: 100rel, timer"} }), 420, "Bad Extension"},
				{"gzip body", p.Build(servertest.Req{Method: "INVITE", URI: roomURI, Body: servertest.Offer(9, "gz"), Extra: []string{"Content-Encoding: gzip"}}), 415, "Unsupported Media Type"},
			}
			for _, c := range cases {
				res := expect(t, p, c.req, c.code, c.reason)
				switch c.code {
				case 405:
					if allow := servertest.Header(res, "Allow"); !strings.Contains(allow, "INVITE") || strings.Contains(allow, "REGISTER") {
						t.Errorf("%s: Allow %q", c.name, allow)
					}
				case 420:
					if u := servertest.Header(res, "Unsupported"); u != "100rel, timer" {
						t.Errorf("%s: Unsupported %q", c.name, u)
					}
				}
				if c.reason != "Bad Via" && servertest.Header(res, "Via") == "" {
					t.Errorf("%s: answer without the request's Via", c.name)
				}
			}
			// A malformed ACK gets no answer (RFC 3261 §17.2.1), and
			// the OPTIONS after it is answered normally.
			if err := p.Send(p.Build(servertest.Req{Method: "ACK", URI: roomURI, Drop: []string{"Call-ID"}})); err != nil {
				t.Fatal(err)
			}
			res := expect(t, p, p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:127.0.0.1"}), 200, "")
			if servertest.Header(res, "CSeq") == "" || strings.Contains(servertest.Header(res, "CSeq"), "ACK") {
				t.Fatalf("the ACK was answered: %q", res)
			}
		})
	}
	stillServes(t, srv, "UDP")
	if s := srv.GuardStats(); s.Dropped < 2 { // the malformed ACK over each transport
		t.Fatalf("guard stats %+v: the malformed ACKs not counted as dropped", s)
	}
}

// TestStreamFraming: over TCP a request without Content-Length is answered
// 400 and the connection goes on; one whose Content-Length is not a number
// is answered 400, one too large 513, and the connection is closed, since
// the stream has no boundary left to find (RFC 3261 §18.3).
func TestStreamFraming(t *testing.T) {
	srv, stop := startServer(t)
	defer stop()
	p := dial(t, srv, "TCP")
	expect(t, p, p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:127.0.0.1", Drop: []string{"Content-Length"}}), 400, "Missing Content-Length")
	expect(t, p, p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:127.0.0.1"}), 200, "")

	for _, c := range []struct {
		length string
		code   int
		reason string
	}{
		{"abc", 400, "Bad Content-Length"},
		{strconv.Itoa(1 << 20), 513, "Message Too Large"},
	} {
		p := dial(t, srv, "TCP")
		req := p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:127.0.0.1", Drop: []string{"Content-Length"}, Extra: []string{"Content-Length: " + c.length}})
		expect(t, p, req, c.code, c.reason)
		if _, err := p.Read(wait); !errors.Is(err, io.EOF) {
			t.Fatalf("Content-Length %s: connection not closed: %v", c.length, err)
		}
	}
	// Two requests in one write, and one split over many writes.
	p = dial(t, srv, "TCP")
	two := append(p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:127.0.0.1"}), p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:127.0.0.1", Drop: []string{"Call-ID"}})...)
	if err := p.Send(two); err != nil {
		t.Fatal(err)
	}
	got := map[int]bool{}
	for range 2 {
		res, err := p.Read(wait)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := servertest.Status(res)
		got[code] = true
	}
	if !got[200] || !got[400] {
		t.Fatalf("pipelined: answers %v, want 200 and 400", got)
	}
	req := p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:127.0.0.1", Drop: []string{"To"}})
	for i := 0; i < len(req); i += 7 {
		if err := p.Send(req[i:min(i+7, len(req))]); err != nil {
			t.Fatal(err)
		}
	}
	res, err := p.Read(wait)
	if err != nil {
		t.Fatal(err)
	}
	if code, reason := servertest.Status(res); code != 400 || reason != "Missing To" {
		t.Fatalf("split request: %q", firstLine(res))
	}
	if s := srv.GuardStats(); s.Answered < 4 || s.Closed != 2 {
		t.Fatalf("guard stats %+v", s)
	}
}

// TestCrashShapes: the three requests that stopped parleyd with one
// datagram (a nil header in the focus's dialog set-up) are answered 400,
// and the server serves on.
func TestCrashShapes(t *testing.T) {
	srv, stop := startServer(t)
	defer stop()
	p := dial(t, srv, "UDP")
	const roomURI = "sip:crash@127.0.0.1"
	callID := servertest.RandomToken()
	tag := join(t, p, roomURI, callID) // the room exists
	offer := servertest.Offer(9, servertest.RandomToken())
	expect(t, p, p.Build(servertest.Req{Method: "INVITE", URI: roomURI, Drop: []string{"Call-ID"}, Body: offer}), 400, "Missing Call-ID")
	expect(t, p, p.Build(servertest.Req{Method: "INVITE", URI: roomURI, Drop: []string{"To"}, Body: offer}), 400, "Missing To")
	expect(t, p, p.Build(servertest.Req{Method: "SUBSCRIBE", URI: roomURI, Drop: []string{"To"}, Extra: []string{"Event: conference"}}), 400, "Missing To")
	expect(t, p, p.Build(servertest.Req{Method: "BYE", URI: roomURI, CallID: callID, FromTag: "ft", ToTag: tag, CSeq: 2}), 200, "")
	stillServes(t, srv, "UDP")
	stillServes(t, srv, "TCP")
}

// TestAnswersGoToTheSource: over UDP the server stamps the top Via of a
// request with the IP it came from when the Via names another host
// (received, RFC 3261 §18.2.1), replacing a received the sender wrote, and
// the answer goes to that IP with the Via's port (§18.2.2), never to the
// host the Via names: parleyd cannot be made to send to a third party.
func TestAnswersGoToTheSource(t *testing.T) {
	srv, stop := startServer(t)
	defer stop()
	listen := func(addr string) *net.UDPConn {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	here := listen("127.0.0.1:0")                          // where the Via's port is, at the source's IP
	port := here.LocalAddr().(*net.UDPAddr).Port           //
	elsewhere := listen("127.0.0.2:" + strconv.Itoa(port)) // the host the Via names
	sender, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(srv.Addrs().SIPUDP)))
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	for i, via := range []string{
		"SIP/2.0/UDP 127.0.0.2:" + strconv.Itoa(port) + ";branch=z9hG4bK" + servertest.RandomToken(),
		"SIP/2.0/UDP 127.0.0.1:" + strconv.Itoa(port) + ";received=127.0.0.2;branch=z9hG4bK" + servertest.RandomToken(),
	} {
		req := "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: " + via + "\r\nMax-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\n" +
			"To: <sip:127.0.0.1>\r\nCall-ID: " + servertest.RandomToken() + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
		if _, err := sender.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		here.SetReadDeadline(time.Now().Add(wait))
		n, _, err := here.ReadFrom(buf)
		if err != nil {
			t.Fatalf("case %d: no answer at the source's IP: %v", i, err)
		}
		if code, _ := servertest.Status(buf[:n]); code != 200 {
			t.Fatalf("case %d: %q", i, firstLine(buf[:n]))
		}
		if v := servertest.Header(buf[:n], "Via"); i == 0 && !strings.HasSuffix(v, ";received=127.0.0.1") || strings.Contains(v, "received=127.0.0.2") {
			t.Fatalf("case %d: the answer's Via is %q, want the source stamped as received", i, v)
		}
		elsewhere.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, _, err := elsewhere.ReadFrom(buf); err == nil {
			t.Fatalf("case %d: answer sent to the host the Via names: %q", i, firstLine(buf[:n]))
		}
	}
}
