package focus

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/sdp"
)

// inviteOnly sends the INVITE and returns its 200 without ACKing it.
func (p *peer) inviteOnly(roomName, sid string) *sip.Response {
	p.t.Helper()
	res := p.do(p.withSDP(p.request(sip.INVITE, roomName, ""), offerFor(sid)))
	if res.StatusCode != 200 {
		p.t.Fatalf("INVITE: %d", res.StatusCode)
	}
	return res
}

// TestByeBeforeAck: the BYE overtakes the ACK; the late ACK is ignored
// and nothing is left behind.
func TestByeBeforeAck(t *testing.T) {
	e := newEnv(t, nil)
	p := newPeer(t, e, "UDP", "dave")
	res := p.inviteOnly("r1", "s1")
	inviteCSeq := p.cseq
	p.cseq++
	if bye := p.bye(res); bye.StatusCode != 200 {
		t.Fatalf("BYE before ACK: %d", bye.StatusCode)
	}
	p.ack(res, inviteCSeq) // late
	if e.focus.Dialogs() != 0 || !e.sw.sessions()[0].isClosed() {
		t.Fatal("dialog or session survived")
	}
	select {
	case b := <-p.byes:
		t.Fatalf("focus sent a BYE on a dialog the participant ended: %v", b.StartLine())
	case <-time.After(50 * time.Millisecond):
	}
}

// TestReInviteBeforeAck: a re-INVITE processed before the ACK of the
// INVITE is answered, and both ACKs are then accepted.
func TestReInviteBeforeAck(t *testing.T) {
	e := newEnv(t, nil)
	p := newPeer(t, e, "TCP", "erin")
	sid := msrp.NewSessionID()
	res := p.inviteOnly("r2", sid)
	first := p.cseq
	p.cseq++
	tag, _ := res.To().Params.Get("tag")
	re := p.withSDP(p.request(sip.INVITE, "r2", tag), offerFor(sid)) // same path
	re.Recipient = res.Contact().Address
	res2 := p.do(re)
	if res2.StatusCode != 200 {
		t.Fatalf("re-INVITE: %d", res2.StatusCode)
	}
	if string(res2.Body()) != string(res.Body()) {
		t.Errorf("unchanged offer must get the same answer (same o= version):\n%s\nvs\n%s", res2.Body(), res.Body())
	}
	p.ack(res2, p.cseq)
	p.ack(res, first)
	p.cseq++
	d := e.focus.dialogs.all()[0]
	eventually(t, "both ACKs", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.pendingAck == 0 && d.state == stateConfirmed
	})
	if n := len(e.sw.sessions()); n != 1 {
		t.Fatalf("%d sessions: the session must be kept", n)
	}
}

// TestReInviteChangesPath: a new path gets a new MSRP session and a new
// SDP version; the old session is closed.
func TestReInviteChangesPath(t *testing.T) {
	e := newEnv(t, nil)
	p := newPeer(t, e, "UDP", "frank")
	res := p.join("r3")
	tag, _ := res.To().Params.Get("tag")
	re := p.withSDP(p.request(sip.INVITE, "r3", tag), offerFor(msrp.NewSessionID()))
	re.Recipient = res.Contact().Address
	res2 := p.do(re)
	if res2.StatusCode != 200 {
		t.Fatalf("re-INVITE: %d", res2.StatusCode)
	}
	p.ack(res2, p.cseq)
	p.cseq++
	s := e.sw.sessions()
	if len(s) != 2 || s[1].isClosed() {
		t.Fatalf("sessions after the path change: %d", len(s))
	}
	eventually(t, "old session closed after the 200", s[0].isClosed)
	a1, _ := sdp.Parse(res.Body())
	a2, _ := sdp.Parse(res2.Body())
	if a1.Origin.SessionVersion == a2.Origin.SessionVersion || a1.Origin.SessionID != a2.Origin.SessionID {
		t.Errorf("a changed answer keeps the o= session-id and bumps the version: %+v → %+v", a1.Origin, a2.Origin)
	}
	// a bad re-INVITE leaves everything as it was
	bad := p.withSDP(p.request(sip.INVITE, "r3", tag), "garbage")
	bad.Recipient = res.Contact().Address
	if r := p.do(bad); r.StatusCode != 400 {
		t.Fatalf("bad re-INVITE: %d", r.StatusCode)
	}
	p.cseq++
	if s := e.sw.sessions(); len(s) != 2 || s[1].isClosed() {
		t.Fatal("a failed re-INVITE changed the session")
	}
}

// TestStaleCSeq: a request with a CSeq below one already seen gets 500.
func TestStaleCSeq(t *testing.T) {
	e := newEnv(t, nil)
	p := newPeer(t, e, "UDP", "gina")
	p.cseq = 10
	res := p.join("r4")
	p.cseq = 5
	if r := p.bye(res); r.StatusCode != 500 {
		t.Fatalf("stale BYE: %d", r.StatusCode)
	}
	p.cseq = 20
	if r := p.bye(res); r.StatusCode != 200 {
		t.Fatalf("BYE: %d", r.StatusCode)
	}
}

// TestCancelBeforeAnswer: CANCEL while the focus is still working on the
// INVITE → 487, and the room and session are rolled back.
func TestCancelBeforeAnswer(t *testing.T) {
	for _, tr := range []string{"UDP", "TCP"} {
		t.Run(tr, func(t *testing.T) { testCancelBeforeAnswer(t, tr) })
	}
}

func testCancelBeforeAnswer(t *testing.T, transport string) {
	release := make(chan struct{})
	reached := make(chan struct{}, 1)
	e := newEnv(t, nil, func(c *Config) {
		c.beforeAnswer = func() {
			reached <- struct{}{}
			<-release
		}
	})
	p := newPeer(t, e, transport, "hal")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	inv, tx := p.startInvite(ctx, "r5", "s5")
	<-reached
	p.cancel(ctx, inv)
	final := finalResponse(t, ctx, tx)
	close(release)
	if final.StatusCode != 487 {
		t.Fatalf("canceled INVITE: %d", final.StatusCode)
	}
	eventually(t, "rollback", func() bool {
		s := e.sw.sessions()
		_, ok := e.rooms.Get("r5")
		return len(s) == 1 && s[0].isClosed() && !ok && e.focus.Dialogs() == 0
	})
}

// TestFocusSendsBye: when the switch reports the MSRP session gone, the
// focus sends BYE on the dialog and the participant leaves the room.
func TestFocusSendsBye(t *testing.T) {
	for _, tr := range []string{"UDP", "TCP"} {
		t.Run(tr, func(t *testing.T) {
			e := newEnv(t, nil)
			p := newPeer(t, e, tr, "ivy")
			res := p.join("r6")
			s := e.sw.sessions()[0]
			e.focus.SessionEnded(s.handle, "not-the-current-session", "test")
			select {
			case <-p.byes:
				t.Fatal("a report about another session ended the dialog")
			case <-time.After(50 * time.Millisecond):
			}
			e.focus.SessionEnded(s.handle, s.id, "test")
			select {
			case bye := <-p.byes:
				tag, _ := bye.From().Params.Get("tag")
				want, _ := res.To().Params.Get("tag")
				if tag != want || bye.CallID().Value() != p.callID {
					t.Fatalf("BYE not in the dialog: %s", bye)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no BYE from the focus")
			}
			if _, ok := e.rooms.Get("r6"); ok || e.focus.Dialogs() != 0 {
				t.Fatal("participant still in the room")
			}
		})
	}
}

// TestShutdownByes: Shutdown sends BYE to every participant, with a Reason
// saying the server shuts down (RFC 3326: cause 503, which tells a client
// to come back), and returns once they answered; a second Shutdown is a
// no-op.
func TestShutdownByes(t *testing.T) {
	e := newEnv(t, nil)
	var peers []*peer
	for i, tr := range []string{"UDP", "TCP", "UDP"} {
		p := newPeer(t, e, tr, "user"+string(rune('a'+i)))
		p.join("big")
		peers = append(peers, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.focus.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for i, p := range peers {
		select {
		case bye := <-p.byes:
			if h := bye.GetHeader("Reason"); h == nil || !strings.Contains(h.Value(), "cause=503") {
				t.Errorf("participant %d: shutdown BYE's Reason %v, want cause=503", i, h)
			}
		default:
			t.Errorf("participant %d got no BYE before Shutdown returned", i)
		}
	}
	if err := e.focus.Shutdown(ctx); err != nil {
		t.Fatal("second Shutdown:", err)
	}
	// a new INVITE during shutdown is refused
	p := newPeer(t, e, "UDP", "late")
	if r := p.do(p.withSDP(p.request(sip.INVITE, "big", ""), offerFor("x"))); r.StatusCode != 503 {
		t.Fatalf("INVITE after shutdown: %d", r.StatusCode)
	}
}

// TestCreatorLeavesDeletesRoom: with the creator-leaves policy (RFC 7701
// §4.1 item 4), the creator's BYE deletes the room and the focus ends every
// other participant's dialog with BYE.
func TestCreatorLeavesDeletesRoom(t *testing.T) {
	e := newEnv(t, func(string) (room.Policy, bool, bool) {
		return room.Policy{DeleteWhen: room.DeleteWhenCreatorLeaves}, false, true
	})
	creator := newPeer(t, e, "UDP", "creator")
	res := creator.join("owned")
	other := newPeer(t, e, "TCP", "guest")
	other.join("owned")
	third := newPeer(t, e, "UDP", "guest2")
	third.join("owned")
	if r := creator.bye(res); r.StatusCode != 200 {
		t.Fatalf("creator BYE: %d", r.StatusCode)
	}
	for _, p := range []*peer{other, third} {
		select {
		case bye := <-p.byes:
			if h := bye.GetHeader("Reason"); h == nil || !strings.Contains(h.Value(), "cause=410") {
				t.Errorf("%s: BYE's Reason %v, want cause=410 (room deleted)", p.user, h)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s got no BYE after the creator left", p.user)
		}
	}
	if _, ok := e.rooms.Get("owned"); ok {
		t.Fatal("room survives its creator")
	}
	eventually(t, "all sessions closed", func() bool {
		for _, s := range e.sw.sessions() {
			if !s.isClosed() {
				return false
			}
		}
		return true
	})
}
