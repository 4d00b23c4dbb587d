package client

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// rawFocus is a scripted SIP peer on a bare socket, for behaviours parleyd
// does not show: it answers an INVITE with 100 Trying, then with 200 and
// answerSDP if that is set; a CANCEL with 200, then the INVITE with
// finalCode (487, or 200 to play a 2xx crossing the CANCEL); a BYE with
// 200. It records the method of every request, and the first INVITEs.
// With no transaction layer there is nothing in flight once the expected
// requests have been read, so stopping it is deterministic.
//
// For the conference event package (roster_test.go), setup may make the
// 2xx to INVITE carry isfocus and Allow-Events: conference, and hand the
// SUBSCRIBEs (unanswered) and the responses it reads to the test.
type rawFocus struct {
	addr      string
	finalCode int
	answerSDP string
	methods   chan sip.RequestMethod
	invites   chan *sip.Request // every INVITE read (the first few)
	invite    *sip.Request      // the pending INVITE; used by the reading goroutine only
	close     func()
	wg        sync.WaitGroup

	// Set by newRawFocusWith's setup, before the peer reads anything.
	conference bool              // the 2xx to INVITE: Contact with isfocus, Allow-Events: conference
	subscribes chan subscribeReq // non-nil: SUBSCRIBEs go here, unanswered, not to methods
	responses  chan *sip.Response
}

// subscribeReq is a SUBSCRIBE the peer read, and how to write on the
// socket it came from (for the response and for NOTIFYs).
type subscribeReq struct {
	req  *sip.Request
	send func([]byte)
}

func newRawFocus(t *testing.T, transport string, finalCode int, answerSDP string) *rawFocus {
	t.Helper()
	return newRawFocusWith(t, transport, finalCode, answerSDP, nil)
}

// newRawFocusWith is newRawFocus with setup run on the peer before it
// starts reading.
func newRawFocusWith(t *testing.T, transport string, finalCode int, answerSDP string, setup func(*rawFocus)) *rawFocus {
	t.Helper()
	p := &rawFocus{finalCode: finalCode, answerSDP: answerSDP, methods: make(chan sip.RequestMethod, 16), invites: make(chan *sip.Request, 4)}
	if setup != nil {
		setup(p)
	}
	if transport == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p.addr, p.close = pc.LocalAddr().String(), func() { pc.Close() }
		p.wg.Go(func() {
			buf := make([]byte, 65536)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				if m, err := sip.ParseMessage(buf[:n]); err == nil {
					p.handle(m, func(b []byte) { pc.WriteTo(b, from) })
				}
			}
		})
		return p
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	p.addr = l.Addr().String()
	p.close = func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
	p.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			p.wg.Go(func() {
				stream := sip.NewParser().NewSIPStream()
				buf := make([]byte, 65536)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					_ = stream.ParseSIPStream(buf[:n], func(m sip.Message) {
						p.handle(m, func(b []byte) { c.Write(b) })
					})
				}
			})
		}
	})
	return p
}

// handle runs on the peer's one reading goroutine per socket.
func (p *rawFocus) handle(m sip.Message, send func([]byte)) {
	req, ok := m.(*sip.Request)
	if !ok {
		if res, ok := m.(*sip.Response); ok && p.responses != nil {
			select {
			case p.responses <- res:
			default:
			}
		}
		return
	}
	if req.Method == sip.SUBSCRIBE && p.subscribes != nil {
		select {
		case p.subscribes <- subscribeReq{req, send}:
		default: // the test is not reading: left unanswered
		}
		return
	}
	p.methods <- req.Method
	reply := func(r *sip.Request, code int, reason string) {
		res := sip.NewResponseFromRequest(r, code, reason, nil)
		if code == 200 && r.IsInvite() {
			c := &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "lobby", Host: "127.0.0.1", Port: portOf(p.addr)}, Params: sip.NewParams()}
			if p.conference {
				c.Params.Add("isfocus", "")
				res.AppendHeader(sip.NewHeader("Allow-Events", "dialog, conference"))
			}
			res.AppendHeader(c)
			if p.answerSDP != "" {
				res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
				res.SetBody([]byte(p.answerSDP))
			}
		}
		send([]byte(res.String()))
	}
	switch req.Method {
	case sip.INVITE:
		p.invite = req
		select {
		case p.invites <- req:
		default:
		}
		reply(req, 100, "Trying")
		if p.answerSDP != "" {
			reply(req, 200, "OK")
		}
	case sip.CANCEL:
		reply(req, 200, "OK")
		if p.invite != nil {
			reply(p.invite, p.finalCode, "Request Terminated")
		}
	case sip.BYE:
		reply(req, 200, "OK")
	}
}

// expect checks the methods of the next requests the peer reads.
func (p *rawFocus) expect(t *testing.T, want ...sip.RequestMethod) {
	t.Helper()
	for _, w := range want {
		select {
		case got := <-p.methods:
			if got != w {
				t.Fatalf("peer read %s, want %s", got, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("peer did not read %s", w)
		}
	}
}

func (p *rawFocus) stop() {
	p.close()
	p.wg.Wait()
}

func portOf(addr string) int {
	_, port, _ := net.SplitHostPort(addr)
	n, _ := net.LookupPort("udp", port)
	return n
}
