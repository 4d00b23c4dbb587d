package client

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"
)

// testAgent makes and starts an agent for a room at peer (host:port) over
// transport, with an OPTIONS handler answering 200.
func testAgent(t *testing.T, transport, peer string) *agent {
	t.Helper()
	host, port, err := sip.ParseAddr(peer)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := opts(t, "alice", transport).resolve(sip.Uri{Scheme: "sip", User: "lobby", Host: host, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	a, err := newAgent(testCtx(t), &cfg, peer, func(srv *sipgo.Server) {
		srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
			respond(cfg.log, tx, sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.start(); err != nil {
		t.Fatal(err)
	}
	return a
}

// lateLookup does what sipgo does when it must write to peer over
// transport: find a connection in the pool, or open one. The goroutine
// sipgo starts for each request it reads does so to answer it, and may
// run after the agent stopped (its pool emptied): a connection it opened
// then would stay open, with its reader goroutine. After stop, the lookup
// must come to nothing that can write.
func lateLookup(t *testing.T, a *agent, transport, peer string) {
	t.Helper()
	host, port, _ := sip.ParseAddr(peer)
	req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: host, Port: port})
	req.SetTransport(transport)
	req.SetDestination(peer)
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: transport, Host: "127.0.0.1", Port: 1, Params: sip.NewParams()}
	via.Params.Add("branch", sip.GenerateBranch())
	req.AppendHeader(via)
	req.SetBody(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := a.ua.TransportLayer().ClientRequestConnection(ctx, req)
	if err != nil {
		if !errors.Is(err, errStopped) {
			t.Errorf("lookup after stop: %v, want %v", err, errStopped)
		}
		return
	}
	defer c.TryClose()
	if err := c.WriteMsg(req); err == nil {
		t.Errorf("after stop, sipgo still writes to %s over %s (from %s)", peer, transport, c.LocalAddr())
	}
}

// TestAgentStoppedOverUDP: once a UDP agent has stopped, sipgo finds a
// tombstone for a peer it heard from, and opens no new socket (bound to
// 0.0.0.0, with a reader goroutine) to answer a request of that peer read
// just before the stop.
func TestAgentStoppedOverUDP(t *testing.T) {
	defer goleak.VerifyNone(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	peer := pc.LocalAddr().String()
	a := testAgent(t, "udp", peer)
	defer a.stop()

	// The peer asks; the agent answers from its listener.
	host, port, _ := sip.ParseAddr(a.laddr)
	req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: host, Port: port})
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: portOf(peer), Params: sip.NewParams()}
	via.Params.Add("branch", sip.GenerateBranch())
	req.AppendHeader(via)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "lobby", Host: "127.0.0.1"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "alice", Host: host}, Params: sip.NewParams()})
	cid := sip.CallIDHeader(sip.GenerateTagN(16))
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.OPTIONS})
	req.SetBody(nil)
	if _, err := pc.WriteTo([]byte(req.String()), &net.UDPAddr{IP: net.ParseIP(host), Port: port}); err != nil {
		t.Fatal(err)
	}
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65536)
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no answer to OPTIONS: %v", err)
	}
	if m, err := sip.ParseMessage(buf[:n]); err != nil {
		t.Fatal(err)
	} else if res, ok := m.(*sip.Response); !ok || res.StatusCode != 200 {
		t.Fatalf("OPTIONS answered:\n%s", m)
	}

	a.stop()
	lateLookup(t, a, "UDP", peer)
	// Our own requests over UDP look up the listener's address.
	if c := a.ua.TransportLayer().Pool("udp").Get(a.laddr); c == nil || c.WriteMsg(req) == nil {
		t.Errorf("after stop, the listener's address leads to %v", c)
	}
}

// TestAgentStoppedOverTCP: once a TCP agent has stopped, sipgo cannot dial
// the peer again (where a late goroutine would, its connection gone).
func TestAgentStoppedOverTCP(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := newRawFocus(t, "tcp", 487, "")
	defer p.stop()
	a := testAgent(t, "tcp", p.addr)
	defer a.stop()

	// A request over a connection sipgo dials: the peer answers 200.
	host, port, _ := sip.ParseAddr(p.addr)
	req := sip.NewRequest(sip.BYE, sip.Uri{Scheme: "sip", User: "lobby", Host: host, Port: port})
	req.SetTransport("TCP")
	req.SetDestination(p.addr)
	req.SetBody(nil)
	res, err := a.do(testCtx(t), req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("BYE: %v, %v", res, err)
	}
	p.expect(t, sip.BYE)

	a.stop()
	if _, err := a.do(testCtx(t), req.Clone()); !errors.Is(err, errStopped) {
		t.Errorf("request after stop: %v, want %v", err, errStopped)
	}
	lateLookup(t, a, "TCP", p.addr)
}

// TestAgentStoppedOverWSS: once a WSS agent has stopped, its SIP
// WebSocket's address leads sipgo to a tombstone: it cannot dial a new
// WebSocket to the server (sipgo's WSS dialer is not ours to refuse).
func TestAgentStoppedOverWSS(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, trust, stop := startWSServer(t, nil)
	defer stop()
	ctx := testCtx(t)
	s, err := Join(ctx, "sip:lobby@127.0.0.1", wsOpts(t, "alice", srv, "/", trust))
	if err != nil {
		t.Fatal(err)
	}
	a := s.current().sip
	if err := s.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	lateLookup(t, a, "WSS", srv.Addrs().HTTPS)
}
