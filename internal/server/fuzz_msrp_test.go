package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/servertest"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// FuzzMSRPConnection writes the fuzzer's bytes on a bound MSRP connection
// of an in-process parleyd, then checks that the server still serves: a
// fresh participant joins and binds (INVITE → 200 → ACK, bodiless SEND →
// 200), its SEND of a message/cpim to the room is answered 200, and the
// copy reaches a participant who stays in the room for the whole run. "No
// packet can stop parleyd."
//
// One server per process (made at the first input, shut down when the
// fuzz target ends; a fuzz worker simply exits), driven by lean raw SIP
// over UDP and raw MSRP over TCP, so that an input costs a join, a few
// writes and reads, and the server's own BYE. The participant checked at
// the end of one input is the one whose connection the next input is
// written on, so each input's join is also the previous input's check.
//
// The input may name the session: "{to}" is replaced by the switch's URI
// of the fuzzed session (its To-Path), "{from}" by the participant's own
// (From-Path), "{me}" by its SIP URI (a valid CPIM From), "{room}" by the
// room's URI and "{peer}" by the staying participant's SIP URI (a private
// message's CPIM To). After writing, the participant half-closes the
// connection and reads until the server closes it (a message cut short is
// the peer hanging up mid-message), so the input's effects are over before
// the check.
//
//	go test ./internal/server -run '^$' -fuzz FuzzMSRPConnection -parallel 1
func FuzzMSRPConnection(f *testing.F) {
	var h *msrpFuzzHarness
	f.Cleanup(func() {
		if h != nil {
			h.stop()
		}
	})
	var mu sync.Mutex
	f.Fuzz(func(t *testing.T, data []byte) {
		mu.Lock()
		defer mu.Unlock()
		if h == nil {
			var err error
			if h, err = startMSRPFuzzHarness(); err != nil {
				t.Fatalf("starting the server: %v", err)
			}
		}
		h.run(t, data)
	})
}

// msrpFuzzDebug (PARLEY_FUZZ_DEBUG=1) logs each input as written and what the
// server wrote back on its connection.
var msrpFuzzDebug = os.Getenv("PARLEY_FUZZ_DEBUG") == "1"

// msrpFuzzWait bounds every wait of one input.
const msrpFuzzWait = 5 * time.Second

const msrpFuzzRoom = "fuzz"

type msrpFuzzHarness struct {
	srv     *server.Server
	sip     *msrpFuzzSIP
	room    string         // the room's URI
	stayer  *msrpFuzzParty // in the room for the whole run, reading everything
	next    *msrpFuzzParty // joined and bound: the next input is written on its connection
	n       int64          // participants joined so far
	secret  string         // in every check message's marker, so no input can forge one
	markers chan string
	readers sync.WaitGroup
}

// msrpFuzzParty is one joined participant with its bound MSRP connection.
type msrpFuzzParty struct {
	uri  string   // sip:f<n>@example.com
	self msrp.URI // its MSRP URI (From-Path)
	sw   msrp.URI // the switch's URI of its session (To-Path)
	conn *net.TCPConn
	rd   *msrp.Reader
	bye  chan struct{} // closed when the focus's BYE for its dialog arrives
}

func startMSRPFuzzHarness() (h *msrpFuzzHarness, err error) {
	cfg := config.Default()
	cfg.SIP.UDP, cfg.SIP.TCP, cfg.MSRP.Listen = "127.0.0.1:0", "", "127.0.0.1:0"
	cfg.SIP.TLS, cfg.MSRP.TLSListen, cfg.HTTPS.Listen = "", "", "" // no TLS: no certificate, no fixed ports
	cfg.Store.Mode = config.StoreMemory                            // nothing written to the working directory
	cfg.Rooms.History = 2                                          // kept and replayed, but few: every input joins one participant
	// Write copies at once: the check's copy is then not held back for
	// others to share its write (a throughput knob, not a behaviour).
	cfg.MSRP.CoalesceDelay = 0
	srv, err := server.New(cfg, nil)
	if err != nil {
		return nil, err
	}
	srv.Start()
	h = &msrpFuzzHarness{srv: srv, room: "sip:" + msrpFuzzRoom + "@" + srv.Addrs().SIPUDP, markers: make(chan string, 64),
		secret: msrp.NewTID()}
	defer func() {
		if err != nil {
			h.stop()
		}
	}()
	if h.sip, err = newMSRPFuzzSIP(srv.Addrs().SIPUDP); err != nil {
		return h, err
	}
	if h.stayer, err = h.join(); err != nil {
		return h, err
	}
	h.readers.Go(func() { h.readStayer(h.stayer) })
	return h, nil
}

func (h *msrpFuzzHarness) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.srv.Shutdown(ctx)
	for _, p := range []*msrpFuzzParty{h.stayer, h.next} {
		if p != nil {
			p.conn.Close()
		}
	}
	if h.sip != nil {
		h.sip.close()
	}
	h.readers.Wait()
}

// readStayer reads the staying participant's connection until it closes,
// passing on the markers of the check messages it receives.
func (h *msrpFuzzHarness) readStayer(p *msrpFuzzParty) {
	for {
		m, err := p.rd.ReadMessage()
		var me *msrp.MessageError
		switch {
		case errors.As(err, &me):
			continue
		case err != nil:
			return
		}
		if m.Method != msrp.MethodSEND {
			continue
		}
		if msrpFuzzDebug {
			fmt.Printf("the staying participant got: %q\n", m.Body)
		}
		if i := bytes.Index(m.Body, []byte("check-"+h.secret+"-")); i >= 0 {
			select {
			case h.markers <- string(m.Body[i:]):
			default: // nobody waits for it any more
			}
		}
	}
}

// run writes one input on a bound connection and checks the server after.
func (h *msrpFuzzHarness) run(t *testing.T, data []byte) {
	p := h.next
	if p == nil {
		var err error
		if p, err = h.join(); err != nil {
			t.Fatalf("join before the input: %v", err)
		}
	}
	h.next = nil
	in := data
	for _, r := range [...][2]string{
		{"{to}", p.sw.String()}, {"{from}", p.self.String()}, {"{me}", p.uri},
		{"{room}", h.room}, {"{peer}", h.stayer.uri},
	} {
		in = bytes.ReplaceAll(in, []byte(r[0]), []byte(r[1]))
	}
	p.conn.SetDeadline(time.Now().Add(msrpFuzzWait))
	p.conn.Write(in) // the server may close first: an error here is fine
	p.conn.CloseWrite()
	// The server closes the connection once it has read the input's end
	// (or earlier: lost framing, bad start line).
	var out io.Writer = io.Discard
	var got bytes.Buffer
	if msrpFuzzDebug {
		out = &got
	}
	if _, err := io.Copy(out, p.conn); msrpFuzzTimeout(err) {
		t.Fatalf("the server did not close the connection within %v of the input's end", msrpFuzzWait)
	}
	if msrpFuzzDebug {
		t.Logf("input:\n%s\nthe server wrote back:\n%s", in, got.Bytes())
	}
	p.conn.Close()

	// The check: a fresh participant joins and binds, sends to the room,
	// gets its 200, and the staying participant gets the copy.
	q, err := h.join()
	if err != nil {
		t.Fatalf("after the input, a new participant cannot join: %v", err)
	}
	marker := "check-" + h.secret + "-" + strconv.FormatInt(h.n, 10)
	m := msrptest.Send(q.sw, q.self, "message/cpim", msrptest.CPIM(q.uri, h.room, marker))
	if err := q.transact(m); err != nil {
		q.conn.Close()
		t.Fatalf("after the input, a SEND to the room: %v", err)
	}
	timer := time.NewTimer(msrpFuzzWait)
	defer timer.Stop()
	for {
		select {
		case got := <-h.markers:
			if got != marker {
				continue // an earlier check's copy
			}
			h.next = q
			// The fuzzed session's end reached the focus, which ended the
			// dialog with BYE (checked last: it has come by now).
			select {
			case <-p.bye:
			case <-timer.C:
				t.Fatalf("no BYE from the focus within %v of the fuzzed MSRP connection's close", msrpFuzzWait)
			}
			return
		case <-timer.C:
			q.conn.Close()
			t.Fatalf("after the input, a message to the room was not delivered within %v", msrpFuzzWait)
		}
	}
}

// join makes a new participant join the room and bind its MSRP session.
func (h *msrpFuzzHarness) join() (*msrpFuzzParty, error) {
	h.n++
	id := "f" + strconv.FormatInt(h.n, 10)
	p := &msrpFuzzParty{uri: "sip:" + id + "@example.com"}
	p.self = msrp.URI{Host: "127.0.0.1", Port: 9, SessionID: h.sip.run + id, Transport: "tcp"}
	p.bye = h.sip.expectBye(id)
	path, err := h.sip.invite(msrpFuzzRoom, id, p.self.String())
	if err != nil {
		return nil, err
	}
	if p.sw, err = msrp.ParseURI(path); err != nil {
		return nil, fmt.Errorf("a=path %q: %w", path, err)
	}
	nc, err := net.DialTimeout("tcp", net.JoinHostPort(p.sw.Host, strconv.Itoa(p.sw.Port)), msrpFuzzWait)
	if err != nil {
		return nil, err
	}
	p.conn = nc.(*net.TCPConn)
	p.rd = msrp.NewReader(p.conn, msrp.Limits{})
	if err := p.transact(msrptest.Bodiless(p.sw, p.self)); err != nil {
		p.conn.Close()
		return nil, fmt.Errorf("bind: %w", err)
	}
	return p, nil
}

// transact sends request m and reads until its response, which must be a
// 200; requests from the switch (notices) are skipped.
func (p *msrpFuzzParty) transact(m *msrp.Message) error {
	p.conn.SetDeadline(time.Now().Add(msrpFuzzWait))
	defer p.conn.SetDeadline(time.Time{})
	if _, err := p.conn.Write(m.Bytes()); err != nil {
		return err
	}
	for {
		r, err := p.rd.ReadMessage()
		if err != nil {
			return err
		}
		if r.IsRequest() || r.TID != m.TID {
			continue
		}
		if r.Code != msrp.StatusOK {
			return fmt.Errorf("%s answered %d %s", m.Method, r.Code, r.Comment)
		}
		return nil
	}
}

func msrpFuzzTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// msrpFuzzSIP plays the SIP side of the participants over one UDP socket:
// INVITE (retransmitted every 500 ms, RFC 3261 §17.1.1.2, here simplified)
// and ACK; requests from the focus (its BYE when a session ends) get a 200.
type msrpFuzzSIP struct {
	conn  *net.UDPConn
	focus *net.UDPAddr
	me    string
	fhost string // the focus's host:port
	run   string // distinguishes the Call-IDs and session ids of runs

	mu      sync.Mutex
	waiting map[string]chan []byte   // Call-ID → its final response
	byes    map[string]chan struct{} // Call-ID → closed at the focus's BYE
	done    chan struct{}
	buf     []byte
}

func newMSRPFuzzSIP(focus string) (*msrpFuzzSIP, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	fa, err := net.ResolveUDPAddr("udp", focus)
	if err != nil {
		c.Close()
		return nil, err
	}
	d := &msrpFuzzSIP{conn: c, focus: fa, me: c.LocalAddr().String(), fhost: focus,
		run: strconv.FormatInt(time.Now().UnixNano(), 36), waiting: map[string]chan []byte{}, byes: map[string]chan struct{}{}, done: make(chan struct{})}
	go d.read()
	return d, nil
}

func (d *msrpFuzzSIP) close() {
	d.conn.Close()
	<-d.done
}

func (d *msrpFuzzSIP) read() {
	defer close(d.done)
	buf := make([]byte, 65536)
	for {
		n, from, err := d.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		msg := buf[:n]
		if !bytes.HasPrefix(msg, []byte("SIP/2.0 ")) {
			// A request from the focus (BYE): 200.
			if bytes.HasPrefix(msg, []byte("BYE ")) {
				cid := string(servertest.Field(msg, "Call-ID"))
				d.mu.Lock()
				if ch := d.byes[cid]; ch != nil {
					close(ch)
					delete(d.byes, cid)
				}
				d.mu.Unlock()
			}
			d.conn.WriteToUDP(servertest.Reply(msg, 200, "OK"), from)
			continue
		}
		if n < 12 || msg[8] == '1' {
			continue // provisional
		}
		cid := servertest.Field(msg, "Call-ID")
		d.mu.Lock()
		ch := d.waiting[string(cid)]
		delete(d.waiting, string(cid))
		d.mu.Unlock()
		if ch != nil {
			ch <- bytes.Clone(msg)
		}
	}
}

func (d *msrpFuzzSIP) callID(id string) string { return "c" + d.run + id }

// expectBye returns a channel closed when the focus sends BYE in the
// dialog of participant id.
func (d *msrpFuzzSIP) expectBye(id string) chan struct{} {
	ch := make(chan struct{})
	d.mu.Lock()
	d.byes[d.callID(id)] = ch
	d.mu.Unlock()
	return ch
}

// invite runs an INVITE transaction for participant id (offering MSRP URI
// path) and its ACK, and returns the focus's a=path.
func (d *msrpFuzzSIP) invite(roomName, id, path string) (string, error) {
	callID, fromTag := d.callID(id), "t"+id
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=message 9 TCP/MSRP *\r\n" +
		"a=accept-types:message/cpim text/plain\r\na=path:" + path + "\r\na=setup:active\r\na=chatroom:nickname private-messages\r\n"
	r := d.buf[:0]
	r = fmt.Appendf(r, "INVITE sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-i%s\r\n"+
		"From: <sip:%s@example.com>;tag=%s\r\nTo: <sip:%s@%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"+
		"Contact: <sip:%s@%s>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		roomName, d.fhost, d.me, callID, id, fromTag, roomName, d.fhost, callID, id, d.me, len(sdp), sdp)
	d.buf = r
	res, err := d.transact(callID, r)
	if err != nil {
		return "", err
	}
	if !bytes.HasPrefix(res, []byte("SIP/2.0 200 ")) {
		return "", fmt.Errorf("INVITE: %q", res[:max(0, bytes.IndexByte(res, '\r'))])
	}
	to := servertest.Field(res, "To")
	contact := servertest.Field(res, "Contact")
	if i, j := bytes.IndexByte(contact, '<'), bytes.IndexByte(contact, '>'); i >= 0 && j > i {
		contact = contact[i+1 : j]
	}
	i := bytes.Index(res, []byte("\r\na=path:"))
	if i < 0 {
		return "", errors.New("INVITE: no a=path in the answer")
	}
	answer := res[i+len("\r\na=path:"):]
	answer = answer[:max(0, bytes.Index(answer, []byte("\r\n")))]
	if f := strings.Fields(string(answer)); len(f) > 0 {
		answer = []byte(f[len(f)-1])
	}

	r = d.buf[:0]
	r = fmt.Appendf(r, "ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-a%s\r\n"+
		"From: <sip:%s@example.com>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		contact, d.me, callID, id, fromTag, to, callID)
	d.buf = r
	if _, err := d.conn.WriteToUDP(r, d.focus); err != nil {
		return "", err
	}
	return string(answer), nil
}

// transact sends req and returns its final response, retransmitting every
// 500 ms for at most msrpFuzzWait.
func (d *msrpFuzzSIP) transact(callID string, req []byte) ([]byte, error) {
	ch := make(chan []byte, 1)
	d.mu.Lock()
	d.waiting[callID] = ch
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.waiting, callID)
		d.mu.Unlock()
	}()
	t := time.NewTimer(500 * time.Millisecond)
	defer t.Stop()
	for try := 0; ; try++ {
		if _, err := d.conn.WriteToUDP(req, d.focus); err != nil {
			return nil, err
		}
		select {
		case res := <-ch:
			return res, nil
		case <-t.C:
			if try == int(msrpFuzzWait/(500*time.Millisecond)) {
				return nil, fmt.Errorf("%s: no answer within %v", callID, msrpFuzzWait)
			}
			t.Reset(500 * time.Millisecond)
		}
	}
}
