package focus

import (
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/sdp"
)

func TestJoinAndLeave(t *testing.T) {
	for _, tr := range []string{"UDP", "TCP"} {
		t.Run(tr, func(t *testing.T) {
			e := newEnv(t, nil)
			p := newPeer(t, e, tr, "alice")
			res := p.join("chatroom22")

			c := res.Contact()
			if c == nil || !c.Params.Has("isfocus") || c.Address.User != "chatroom22" {
				t.Fatalf("Contact %v: want the room URI with isfocus", c)
			}
			if tr == "TCP" && !contains(c.Address.String(), "transport=tcp") {
				t.Errorf("Contact over TCP lacks transport=tcp: %s", c.Address.String())
			}
			for name, want := range map[string]string{"Allow-Events": "conference", "Content-Type": "application/sdp"} {
				if h := res.GetHeader(name); h == nil || !contains(h.Value(), want) {
					t.Errorf("%s: %v", name, h)
				}
			}
			for _, name := range []string{"Allow", "Accept", "Supported"} {
				if res.GetHeader(name) == nil {
					t.Errorf("missing %s", name)
				}
			}
			ans, err := sdp.Parse(res.Body())
			if err != nil {
				t.Fatal(err)
			}
			m := ans.Media[0]
			path, err := m.Path()
			sess := e.sw.sessions()[0]
			if err != nil || len(path) != 1 || !path[0].Equal(sess.uri) {
				t.Fatalf("answer path %v, switch session %v", path, sess.uri)
			}
			at, _ := m.AcceptTypes()
			if at.String() != "message/cpim" {
				t.Errorf("accept-types %q, want message/cpim only", at.String())
			}
			if cr, ok := m.Chatroom(); !ok || !cr.Nickname || !cr.PrivateMessages {
				t.Errorf("chatroom %+v %v", cr, ok)
			}
			if m.Setup() != sdp.SetupPassive {
				t.Errorf("setup %v", m.Setup())
			}
			if wt, ok, _ := m.AcceptWrappedTypes(); !ok || wt.String() != "text/plain *" {
				t.Errorf("accept-wrapped-types %q", wt.String())
			}
			if len(sess.peer) != 1 || sess.peer[0].Port != 7654 {
				t.Errorf("peer path %v", sess.peer)
			}
			rm, ok := e.rooms.Get("chatroom22")
			if !ok || len(e.rooms.Members(rm)) != 1 {
				t.Fatal("participant not in the room")
			}
			if bye := p.bye(res); bye.StatusCode != 200 {
				t.Fatalf("BYE: %d", bye.StatusCode)
			}
			if !sess.isClosed() || e.focus.Dialogs() != 0 {
				t.Fatal("BYE did not end the session")
			}
			if _, ok := e.rooms.Get("chatroom22"); ok {
				t.Fatal("ad hoc room survives its last participant")
			}
		})
	}
}

func TestInviteErrors(t *testing.T) {
	for _, tr := range []string{"UDP", "TCP"} {
		t.Run(tr, func(t *testing.T) { testInviteErrors(t, tr) })
	}
}

func testInviteErrors(t *testing.T, transport string) {
	configured := func(name string) (room.Policy, bool, bool) {
		return room.Policy{}, name == "lobby", name == "lobby"
	}
	e := newEnv(t, configured)
	p := newPeer(t, e, transport, "bob")
	noCPIM := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=message 7 TCP/MSRP *\r\na=accept-types:text/plain\r\na=path:msrp://127.0.0.1:7/abc;tcp\r\n"
	audioOnly := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	cases := []struct {
		name string
		req  func() *sip.Request
		code int
	}{
		{"unknown room in configured mode", func() *sip.Request { return p.withSDP(p.request(sip.INVITE, "nosuch", ""), offerFor("s1")) }, 404},
		{"no message/cpim", func() *sip.Request { return p.withSDP(p.request(sip.INVITE, "lobby", ""), noCPIM) }, 488},
		{"no MSRP stream", func() *sip.Request { return p.withSDP(p.request(sip.INVITE, "lobby", ""), audioOnly) }, 488},
		{"unparseable SDP", func() *sip.Request { return p.withSDP(p.request(sip.INVITE, "lobby", ""), "hello") }, 400},
		{"body not SDP", func() *sip.Request {
			r := p.request(sip.INVITE, "lobby", "")
			r.AppendHeader(sip.NewHeader("Content-Type", "text/plain"))
			r.SetBody([]byte("hi"))
			return r
		}, 415},
		{"offerless INVITE", func() *sip.Request { return p.request(sip.INVITE, "lobby", "") }, 488},
		{"BYE outside a dialog", func() *sip.Request { return p.request(sip.BYE, "lobby", "nosuchtag") }, 481},
		{"re-INVITE outside a dialog", func() *sip.Request { return p.withSDP(p.request(sip.INVITE, "lobby", "nosuchtag"), offerFor("s2")) }, 481},
		{"MESSAGE outside a dialog", func() *sip.Request { return p.request(sip.MESSAGE, "lobby", "") }, 481}, // only nickname offers, in a dialog (nickinfo.go)
	}
	for _, tc := range cases {
		p.callID = sip.GenerateTagN(16)
		res := p.do(tc.req())
		if res.StatusCode != tc.code {
			t.Errorf("%s: got %d %s, want %d", tc.name, res.StatusCode, res.Reason, tc.code)
		}
		if tc.code == 488 && res.GetHeader("Warning") == nil {
			t.Errorf("%s: 488 without a Warning", tc.name)
		}
		if tc.code == 415 && res.GetHeader("Accept") == nil {
			t.Errorf("%s: 415 without Accept", tc.name)
		}
	}
	if n := len(e.sw.sessions()); n != 0 {
		t.Errorf("%d MSRP sessions opened by failed INVITEs", n)
	}
}

func TestOptions(t *testing.T) {
	for _, tr := range []string{"UDP", "TCP"} {
		t.Run(tr, func(t *testing.T) {
			e := newEnv(t, nil)
			p := newPeer(t, e, tr, "carol")
			res := p.do(p.request(sip.OPTIONS, "anyroom", ""))
			if res.StatusCode != 200 || res.Contact() == nil || !res.Contact().Params.Has("isfocus") {
				t.Fatalf("OPTIONS: %d, Contact %v", res.StatusCode, res.Contact())
			}
			for _, name := range []string{"Allow", "Accept", "Allow-Events"} {
				if res.GetHeader(name) == nil {
					t.Errorf("OPTIONS 200 lacks %s", name)
				}
			}
		})
	}
}
