package focus

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/msrp"
)

// fakeSwitch stands in for internal/relay.
type fakeSwitch struct {
	mu     sync.Mutex
	opened []*fakeSession
}

type fakeSession struct {
	id     string
	uri    msrp.URI
	peer   []msrp.URI
	handle any
	mu     sync.Mutex
	closed bool
}

func (s *fakeSession) ID() string         { return s.id }
func (s *fakeSession) LocalURI() msrp.URI { return s.uri }
func (s *fakeSession) Close()             { s.mu.Lock(); s.closed = true; s.mu.Unlock() }
func (s *fakeSession) isClosed() bool     { s.mu.Lock(); defer s.mu.Unlock(); return s.closed }

func (sw *fakeSwitch) OpenSession(peer []msrp.URI, handle any) (Session, error) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sid := msrp.NewSessionID()
	s := &fakeSession{id: sid, uri: msrp.URI{Host: "127.0.0.1", Port: 2855, SessionID: sid, Transport: "tcp"}, peer: peer, handle: handle}
	sw.opened = append(sw.opened, s)
	return s, nil
}

func (sw *fakeSwitch) sessions() []*fakeSession {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return append([]*fakeSession(nil), sw.opened...)
}

// env is a focus on a real sipgo server listening on UDP and TCP loopback.
type env struct {
	t     *testing.T
	focus *Focus
	sw    *fakeSwitch
	rooms *room.Registry
	addr  map[string]string // "UDP"/"TCP" → host:port
	ua    *sipgo.UserAgent
}

type envOpt func(*Config)

func newEnv(t *testing.T, policy room.PolicySource, opts ...envOpt) *env {
	t.Helper()
	if policy == nil {
		policy = func(string) (room.Policy, bool, bool) {
			return room.Policy{Nicknames: true, PrivateMessages: true, AcceptWrappedTypes: []string{"text/plain", "*"}}, false, true
		}
	}
	var f *Focus // set below, before any request of the focus is answered
	ua, err := NewUAWith("127.0.0.1", nil, UAOptions{StrayResponse: func(r *sip.Response) { f.StrayResponse(r) }})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, sw: &fakeSwitch{}, ua: ua, addr: map[string]string{"UDP": udp.LocalAddr().String(), "TCP": tcp.Addr().String()}}
	e.rooms = room.NewRegistry(policy, 0)
	cfg := Config{
		Host:       "127.0.0.1",
		Ports:      map[string]int{"UDP": udp.LocalAddr().(*net.UDPAddr).Port, "TCP": tcp.Addr().(*net.TCPAddr).Port},
		UDP:        udp.LocalAddr().(*net.UDPAddr),
		Rooms:      e.rooms,
		Switch:     e.sw,
		ByeTimeout: 300 * time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.focus = New(cfg, client)
	f = e.focus
	e.focus.Register(srv)
	go srv.ServeUDP(udp)
	go srv.ServeTCP(tcp)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if cfg.Conference != nil {
			cfg.Conference.Shutdown(ctx)
		}
		e.focus.Shutdown(ctx)
		ua.Close()
		udp.Close()
		tcp.Close()
	})
	return e
}

// peer is a raw SIP user agent for tests: it builds requests by hand so a
// test controls every header and the order of everything.
type peer struct {
	t          *testing.T
	transport  string
	ua         *sipgo.UserAgent
	client     *sipgo.Client
	addr       string // our listening address
	focusAddr  string
	user       string
	domain     string // of the From URI; "" for example.com
	tag        string
	callID     string
	cseq       uint32
	byes       chan *sip.Request
	respondBye int

	notifies      chan *sip.Request
	respondNotify atomic.Int32 // status answered to NOTIFYs (default 200; 0: no answer)
	// pendings counts the NOTIFYs with Subscription-State: pending (the
	// focus's probe of an unverified UDP subscriber, SendNotify): answered
	// as the others, but not put in notifies.
	pendings atomic.Int32
}

func newPeer(t *testing.T, e *env, transport, user string) *peer {
	t.Helper()
	ua, err := NewUA("127.0.0.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	p := &peer{t: t, transport: transport, ua: ua, focusAddr: e.addr[transport], user: user,
		tag: sip.GenerateTagN(10), callID: sip.GenerateTagN(20) + "@test", cseq: 1, byes: make(chan *sip.Request, 4), respondBye: 200,
		notifies: make(chan *sip.Request, 64)}
	p.respondNotify.Store(200)
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		code := int(p.respondNotify.Load())
		if code != 0 { // 0: a subscriber that went away
			tx.Respond(sip.NewResponseFromRequest(req, code, "OK", nil))
		}
		if st := req.GetHeader("Subscription-State"); st != nil && strings.HasPrefix(st.Value(), "pending") {
			p.pendings.Add(1)
			return
		}
		if code == 200 || code == 0 {
			select {
			case p.notifies <- req:
			default:
			}
		}
	})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		p.byes <- req // recorded before the answer, which is what the focus waits for
		tx.Respond(sip.NewResponseFromRequest(req, p.respondBye, "OK", nil))
	})
	if transport == "UDP" {
		// UDP, and TCP on the same port (RFC 3261 §18.2.1): requests of
		// the focus over 1,300 octets, or to a UDP address not yet
		// verified, come that way (overStream).
		c, l := listenUDPAndTCP(t)
		p.addr = c.LocalAddr().String()
		go srv.ServeUDP(c)
		go srv.ServeTCP(l)
		t.Cleanup(func() { c.Close(); l.Close() })
	} else {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p.addr = l.Addr().String()
		go srv.ServeTCP(l)
		t.Cleanup(func() { l.Close() })
	}
	_, port, _ := net.SplitHostPort(p.addr)
	n, _ := strconv.Atoi(port)
	p.client, err = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(n), sipgo.WithClientLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	return p
}

const chatOffer = "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=message 7654 TCP/MSRP *\r\na=accept-types:message/cpim text/plain\r\n" +
	"a=accept-wrapped-types:text/plain\r\na=path:msrp://127.0.0.1:7654/%s;tcp\r\na=chatroom:nickname private-messages\r\na=setup:active\r\n"

func offerFor(sid string) string { return fmt.Sprintf(chatOffer, sid) }

// request builds an in-dialog or initial request to room.
func (p *peer) request(method sip.RequestMethod, roomName string, toTag string) *sip.Request {
	host, port, _ := net.SplitHostPort(p.focusAddr)
	n, _ := strconv.Atoi(port)
	req := sip.NewRequest(method, sip.Uri{Scheme: "sip", User: roomName, Host: host, Port: n})
	domain := p.domain
	if domain == "" {
		domain = "example.com"
	}
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: p.user, Host: domain}, Params: sip.NewParams()}
	from.Params.Add("tag", p.tag)
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: roomName, Host: host}, Params: sip.NewParams()}
	if toTag != "" {
		to.Params.Add("tag", toTag)
	}
	req.AppendHeader(from)
	req.AppendHeader(to)
	cid := sip.CallIDHeader(p.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: p.cseq, MethodName: method})
	lh, lp, _ := net.SplitHostPort(p.addr)
	ln, _ := strconv.Atoi(lp)
	contact := &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: p.user, Host: lh, Port: ln}}
	if p.transport == "TCP" {
		contact.Address.UriParams = sip.NewParams()
		contact.Address.UriParams.Add("transport", "tcp")
	}
	req.AppendHeader(contact)
	req.SetTransport(p.transport)
	req.SetDestination(p.focusAddr)
	return req
}

func (p *peer) withSDP(req *sip.Request, body string) *sip.Request {
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte(body))
	return req
}

// do sends a request and returns its final response.
func (p *peer) do(req *sip.Request) *sip.Response {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.client.Do(ctx, req)
	if err != nil {
		p.t.Fatalf("%s: %v", req.Method, err)
	}
	return res
}

// ack sends the ACK for a 2xx to the INVITE with CSeq n.
func (p *peer) ack(res *sip.Response, n uint32) {
	p.t.Helper()
	tag, _ := res.To().Params.Get("tag")
	req := p.request(sip.ACK, "", tag)
	req.Recipient = res.Contact().Address
	req.CSeq().SeqNo = n
	req.CSeq().MethodName = sip.ACK
	if err := p.client.WriteRequest(req); err != nil {
		p.t.Fatal(err)
	}
}

// join INVITEs room, checks the 200, ACKs it, and returns the 200.
func (p *peer) join(roomName string) *sip.Response {
	p.t.Helper()
	res := p.do(p.withSDP(p.request(sip.INVITE, roomName, ""), offerFor(msrp.NewSessionID())))
	if res.StatusCode != 200 {
		p.t.Fatalf("INVITE: %d %s", res.StatusCode, res.Reason)
	}
	p.ack(res, p.cseq)
	p.cseq++
	return res
}

func (p *peer) bye(res *sip.Response) *sip.Response {
	p.t.Helper()
	tag, _ := res.To().Params.Get("tag")
	req := p.request(sip.BYE, "", tag)
	req.Recipient = res.Contact().Address
	p.cseq++
	return p.do(req)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

var quiet = slog.New(slog.DiscardHandler)

// startInvite sends an INVITE to roomName in a client transaction without
// waiting for its answer (for tests that hold the focus in beforeAnswer).
func (p *peer) startInvite(ctx context.Context, roomName, sid string) (*sip.Request, sip.ClientTransaction) {
	p.t.Helper()
	inv := p.withSDP(p.request(sip.INVITE, roomName, ""), offerFor(sid))
	tx, err := p.client.TransactionRequest(ctx, inv)
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(tx.Terminate)
	return inv, tx
}

// finalResponse waits for tx's final response.
func finalResponse(t *testing.T, ctx context.Context, tx sip.ClientTransaction) *sip.Response {
	t.Helper()
	for {
		select {
		case r := <-tx.Responses():
			if r.StatusCode >= 200 {
				return r
			}
		case <-ctx.Done():
			t.Fatal("no final response")
		}
	}
}

// listenUDPAndTCP listens for UDP and TCP on one loopback port.
func listenUDPAndTCP(t *testing.T) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 50 {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", c.LocalAddr().String())
		if err == nil {
			return c, l
		}
		c.Close() // the port is taken for TCP: try another
	}
	t.Fatal("no loopback port free for both UDP and TCP")
	return nil, nil
}
