package focus

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/sdp"
)

// Regression tests for defects found in review: each failed before its fix.

// rawUDP is a hand-driven UDP participant: it sends exactly what a test
// says and never retransmits or acknowledges on its own.
type rawUDP struct {
	t  *testing.T
	c  net.PacketConn
	to net.Addr
}

func newRawUDP(t *testing.T, e *env) *rawUDP {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	to, _ := net.ResolveUDPAddr("udp", e.addr["UDP"])
	return &rawUDP{t: t, c: c, to: to}
}

func (r *rawUDP) invite(roomName, branch string) []byte {
	body := offerFor(msrp.NewSessionID())
	la := r.c.LocalAddr().String()
	return []byte(fmt.Sprintf("INVITE sip:%s@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK%s\r\n"+
		"From: <sip:raw@example.com>;tag=rawtag\r\n"+
		"To: <sip:%s@%s>\r\n"+
		"Call-ID: raw-%s\r\n"+
		"CSeq: 1 INVITE\r\n"+
		"Contact: <sip:raw@%s>\r\n"+
		"Max-Forwards: 70\r\n"+
		"Content-Type: application/sdp\r\n"+
		"Content-Length: %d\r\n\r\n%s", roomName, r.to, la, branch, roomName, r.to, branch, la, len(body), body))
}

func (r *rawUDP) send(b []byte) {
	if _, err := r.c.WriteTo(b, r.to); err != nil {
		r.t.Fatal(err)
	}
}

// read returns the start lines of everything received within d.
func (r *rawUDP) read(d time.Duration) []string {
	var out []string
	buf := make([]byte, 65535)
	deadline := time.Now().Add(d)
	for {
		r.c.SetReadDeadline(deadline)
		n, _, err := r.c.ReadFrom(buf)
		if err != nil {
			return out
		}
		out = append(out, strings.SplitN(string(buf[:n]), "\r\n", 2)[0])
	}
}

func count(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func shortT1(c *Config) { c.T1 = 20 * time.Millisecond }

// Over UDP the focus retransmits its 2xx until the ACK (RFC 3261
// §13.3.1.4): sipgo leaves that to the transaction user, so a lost 200 was
// never recovered.
func TestRegressUDP2xxRetransmitted(t *testing.T) {
	e := newEnv(t, nil, shortT1)
	r := newRawUDP(t, e)
	r.send(r.invite("rr1", "abc1"))
	got := r.read(300 * time.Millisecond) // T1 = 20 ms: several retransmissions
	if n := count(got, "SIP/2.0 200"); n < 3 {
		t.Fatalf("got %d 200s in 300 ms, want retransmissions: %q", n, got)
	}
}

// A 2xx never ACKed ends the dialog with BYE after 64·T1, and the BYE goes
// out even though its ACK wait used up the timeout (it used to share one
// context and be sent once, unretransmitted) — when the participant was
// heard from over UDP (here an INFO in the dialog before the ACK). When
// nothing but the INVITE ever came from its address, the dialog ends
// without BYE: that address may be spoofed (issue 14).
func TestRegressNoAckEndsDialogWithRetransmittedBye(t *testing.T) {
	e := newEnv(t, nil, shortT1, func(c *Config) { c.ByeTimeout = 2 * time.Second })
	r := newRawUDP(t, e)
	r.send(r.invite("rr2", "abc2"))
	tag := r.toTag(r.readMsg(time.Second))
	r.send(r.info("rr2", "abc2", tag))
	// never ACK, never answer the BYE: sent at 64·T1, retransmitted after
	// sipgo's Timer E (500 ms)
	got := r.read(64*20*time.Millisecond + 1500*time.Millisecond)
	if n := count(got, "BYE "); n < 2 {
		t.Fatalf("want the BYE retransmitted over UDP, got %d: %q", n, got)
	}
	eventually(t, "dialog ended", func() bool { return e.focus.Dialogs() == 0 })
}

// TestNoByeToUnheardUDPSource: an INVITE over UDP whose 2xx is never
// ACKed, from an address nothing else came from, gets its 2xx
// retransmissions (RFC 3261 §13.3.1.4 requires them) and nothing more:
// no BYE, which would be retransmitted at a possibly spoofed address.
func TestNoByeToUnheardUDPSource(t *testing.T) {
	e := newEnv(t, nil, shortT1, func(c *Config) { c.ByeTimeout = 2 * time.Second })
	r := newRawUDP(t, e)
	r.send(r.invite("rr2b", "abc2b"))
	got := r.read(64*20*time.Millisecond + 1500*time.Millisecond)
	if n := count(got, "BYE "); n != 0 {
		t.Fatalf("%d BYEs to an address never heard from: %q", n, got)
	}
	if n := count(got, "SIP/2.0 200"); n < 3 {
		t.Fatalf("want the 2xx retransmitted, got %d: %q", n, got)
	}
	eventually(t, "dialog ended", func() bool { return e.focus.Dialogs() == 0 && e.focus.dialogs.len() == 0 })
}

// readMsg returns the next datagram received within d.
func (r *rawUDP) readMsg(d time.Duration) string {
	r.t.Helper()
	buf := make([]byte, 65535)
	r.c.SetReadDeadline(time.Now().Add(d))
	n, _, err := r.c.ReadFrom(buf)
	if err != nil {
		r.t.Fatal(err)
	}
	return string(buf[:n])
}

// toTag is the To tag of a response.
func (r *rawUDP) toTag(msg string) string {
	for _, line := range strings.Split(msg, "\r\n") {
		if strings.HasPrefix(line, "To:") {
			if _, tag, ok := strings.Cut(line, ";tag="); ok {
				tag, _, _ = strings.Cut(tag, ";")
				return tag
			}
		}
	}
	r.t.Fatalf("no To tag in %q", msg)
	return ""
}

// info is an INFO in the dialog the raw INVITE with branch made.
func (r *rawUDP) info(roomName, branch, toTag string) []byte {
	la := r.c.LocalAddr().String()
	return []byte(fmt.Sprintf("INFO sip:%s@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bKinfo%s\r\n"+
		"From: <sip:raw@example.com>;tag=rawtag\r\n"+
		"To: <sip:%s@%s>;tag=%s\r\n"+
		"Call-ID: raw-%s\r\n"+
		"CSeq: 2 INFO\r\n"+
		"Max-Forwards: 70\r\n"+
		"Content-Length: 0\r\n\r\n", roomName, r.to, la, branch, roomName, r.to, toTag, branch))
}

// A re-INVITE is answered from its own offer: one answer m-line per offer
// m-line (RFC 3264 §8), the same o= version when nothing changed.
func TestRegressReInviteAnswersNewOffer(t *testing.T) {
	e := newEnv(t, nil)
	p := newPeer(t, e, "TCP", "zed")
	sid := msrp.NewSessionID()
	res := p.inviteOnly("rr3", sid)
	p.ack(res, p.cseq)
	p.cseq++
	tag, _ := res.To().Params.Get("tag")
	extra := "m=audio 49170 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	re := p.withSDP(p.request(sip.INVITE, "rr3", tag), offerFor(sid)+extra)
	re.Recipient = res.Contact().Address
	res2 := p.do(re)
	if res2.StatusCode != 200 {
		t.Fatalf("re-INVITE: %d", res2.StatusCode)
	}
	p.ack(res2, p.cseq)
	p.cseq++
	ans, err := sdp.Parse(res2.Body())
	if err != nil {
		t.Fatal(err)
	}
	if len(ans.Media) != 2 || ans.Media[1].Port != 0 {
		t.Fatalf("offer has 2 m-lines; answer:\n%s", res2.Body())
	}
	first, _ := sdp.Parse(res.Body())
	if first.Origin.SessionVersion == ans.Origin.SessionVersion {
		t.Error("the answer changed (one more m-line) but its o= version did not")
	}
	if n := len(e.sw.sessions()); n != 1 {
		t.Errorf("%d sessions: an unchanged path keeps the session", n)
	}
}

// An offer with a=setup:passive is refused (488), not answered passive
// with nobody to connect.
func TestRegressSetupPassiveOfferRefused(t *testing.T) {
	e := newEnv(t, nil)
	p := newPeer(t, e, "TCP", "pat")
	body := strings.Replace(offerFor(msrp.NewSessionID()), "a=setup:active", "a=setup:passive", 1)
	res := p.do(p.withSDP(p.request(sip.INVITE, "rr4", ""), body))
	if res.StatusCode != 488 || res.GetHeader("Warning") == nil {
		t.Fatalf("passive offer: %d, Warning %v", res.StatusCode, res.GetHeader("Warning"))
	}
	actpass := strings.Replace(offerFor(msrp.NewSessionID()), "a=setup:active", "a=setup:actpass", 1)
	if res := p.do(p.withSDP(p.request(sip.INVITE, "rr4", ""), actpass)); res.StatusCode != 200 {
		t.Fatalf("actpass offer: %d", res.StatusCode)
	}
}

// cancel sends a CANCEL for inv (RFC 3261 §9.1).
func (p *peer) cancel(ctx context.Context, inv *sip.Request) {
	p.t.Helper()
	c := sip.NewRequest(sip.CANCEL, inv.Recipient)
	c.AppendHeader(sip.HeaderClone(inv.Via()))
	for _, name := range []string{"From", "To", "Call-ID"} {
		c.AppendHeader(sip.HeaderClone(inv.GetHeader(name)))
	}
	c.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	c.AppendHeader(&mf)
	c.SetBody(nil)
	c.SetTransport(p.transport)
	c.SetDestination(p.focusAddr)
	keep := func(*sipgo.Client, *sip.Request) error { return nil }
	if r, err := p.client.Do(ctx, c, keep); err != nil || r.StatusCode != 200 {
		p.t.Fatalf("CANCEL: %v %v", r, err)
	}
}

// A CANCEL that rolls back the creator of a creator-leaves room deletes
// the room and BYEs everyone else in it (the eviction list used to be
// dropped).
func TestRegressRollbackEvicts(t *testing.T) {
	release := make(chan struct{})
	reached := make(chan struct{}, 1)
	var first atomic.Bool
	e := newEnv(t, func(string) (room.Policy, bool, bool) {
		return room.Policy{DeleteWhen: room.DeleteWhenCreatorLeaves}, false, true
	}, func(c *Config) {
		c.beforeAnswer = func() {
			if first.CompareAndSwap(false, true) {
				reached <- struct{}{}
				<-release
			}
		}
	})
	a := newPeer(t, e, "TCP", "creator")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	inv, tx := a.startInvite(ctx, "rx", "sa")
	<-reached // the creator is in the room, not answered yet
	b := newPeer(t, e, "TCP", "guest")
	b.join("rx")
	a.cancel(ctx, inv)
	// sipgo answers the CANCEL before it tells the focus (and sends the
	// 487): released before that, the focus would answer the INVITE 200
	// and the creator would stay, as RFC 3261 §9.2 allows.
	if r := finalResponse(t, ctx, tx); r.StatusCode != 487 {
		t.Fatalf("the canceled INVITE was answered %d, want 487", r.StatusCode)
	}
	close(release)
	select {
	case <-b.byes:
	case <-time.After(5 * time.Second):
		t.Fatal("the guest of a deleted room got no BYE")
	}
	eventually(t, "no live dialog", func() bool { return e.focus.Dialogs() == 0 })
}

// An INVITE already being processed when Shutdown begins is refused with
// 503 instead of being admitted behind Shutdown's back.
func TestRegressShutdownFencesInFlightInvite(t *testing.T) {
	release := make(chan struct{})
	reached := make(chan struct{}, 1)
	e := newEnv(t, nil, func(c *Config) {
		c.beforeAnswer = func() { reached <- struct{}{}; <-release }
	})
	p := newPeer(t, e, "TCP", "late")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, tx := p.startInvite(ctx, "rs", "sl")
	<-reached
	if err := e.focus.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	close(release)
	final := finalResponse(t, ctx, tx)
	if final.StatusCode != 503 || e.focus.Dialogs() != 0 {
		t.Fatalf("INVITE in flight at shutdown: %d, %d live dialogs", final.StatusCode, e.focus.Dialogs())
	}
	eventually(t, "session closed", func() bool { return e.sw.sessions()[0].isClosed() })
}
