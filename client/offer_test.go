package client

import (
	"errors"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/sdp"
)

func TestBuildOffer(t *testing.T) {
	room := sip.Uri{Scheme: "sip", User: "lobby", Host: "127.0.0.1"}
	for _, tc := range []struct {
		name string
		opts Options
		want []string // lines that must appear
		not  []string // substrings that must not
	}{
		{"defaults", Options{From: "sip:a@example.com"},
			[]string{"m=message 9 TCP/MSRP *", "c=IN IP4 192.0.2.7", "a=accept-types:message/cpim",
				"a=accept-wrapped-types:text/plain *", "a=path:msrp://192.0.2.7:9/sid123;tcp", "a=setup:active",
				"a=chatroom:nickname private-messages"}, nil},
		{"no capabilities, no wrapped types", Options{From: "sip:a@example.com", Chatroom: &sdp.Chatroom{}, AcceptWrappedTypes: []string{}},
			[]string{"a=chatroom"}, []string{"accept-wrapped-types", "a=chatroom:"}},
		{"nicknames only", Options{From: "sip:a@example.com", Chatroom: &sdp.Chatroom{Nickname: true}},
			[]string{"a=chatroom:nickname"}, []string{"private-messages"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.opts.resolve(room)
			if err != nil {
				t.Fatal(err)
			}
			local := msrp.URI{Host: "192.0.2.7", Port: activePort, SessionID: "sid123", Transport: "tcp"}
			body := string(buildOffer(local, local.Host, &c))
			lines := strings.Split(body, "\r\n")
			for _, w := range tc.want {
				if !contains(lines, w) {
					t.Errorf("offer lacks %q:\n%s", w, body)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(body, n) {
					t.Errorf("offer has %q:\n%s", n, body)
				}
			}
			s, err := sdp.Parse([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if err := sdp.CheckMSRPConsistency(s, s.Media[0]); err != nil {
				t.Error(err)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestParseAnswer(t *testing.T) {
	const head = "v=0\r\no=parley 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
	const good = "m=message 2855 TCP/MSRP *\r\na=accept-types:message/cpim\r\n" +
		"a=path:msrp://127.0.0.1:2855/abc;tcp\r\na=setup:passive\r\na=chatroom:nickname\r\n"
	tlsGood := strings.Replace(strings.Replace(good, "TCP/MSRP", "TCP/TLS/MSRP", 1), "msrp://", "msrps://", 1)
	for _, tc := range []struct {
		name, ct, body string
		ok             bool
		secure         bool // we offered TCP/TLS/MSRP
		ws             bool // with a ;ws path (over a WebSocket)
	}{
		{"good", "application/sdp", head + good, true, false, false},
		{"no a=setup", "application/sdp", head + strings.Replace(good, "a=setup:passive\r\n", "", 1), true, false, false},
		{"rejected stream first", "application/sdp", head + "m=message 0 TCP/MSRP *\r\n" + good, true, false, false},
		{"no body type", "", head + good, false, false, false},
		{"not sdp", "text/plain", head + good, false, false, false},
		{"bad sdp", "application/sdp", "v=0\r\n", false, false, false},
		{"stream rejected", "application/sdp", head + "m=message 0 TCP/MSRP *\r\n", false, false, false},
		{"no path", "application/sdp", head + strings.Replace(good, "a=path:msrp://127.0.0.1:2855/abc;tcp\r\n", "", 1), false, false, false},
		{"no cpim", "application/sdp", head + strings.Replace(good, "message/cpim", "text/plain", 1), false, false, false},
		{"setup active", "application/sdp", head + strings.Replace(good, "passive", "active", 1), false, false, false},
		{"tls to a plain offer", "application/sdp", head + tlsGood, false, false, false},
		{"tls to a tls offer", "application/sdp", head + tlsGood, true, true, false},
		{"plain to a tls offer", "application/sdp", head + good, false, true, false},
		{"msrp path on TCP/TLS/MSRP", "application/sdp", head + strings.Replace(good, "TCP/MSRP", "TCP/TLS/MSRP", 1), false, true, false},
		{"msrps path on TCP/MSRP", "application/sdp", head + strings.Replace(good, "msrp://", "msrps://", 1), false, true, false},
		{"ws to a ws offer", "application/sdp", head + strings.Replace(tlsGood, ";tcp", ";ws", 1), true, true, true},
		{"tcp to a ws offer", "application/sdp", head + tlsGood, false, true, true},
		{"ws to a tls offer", "application/sdp", head + strings.Replace(tlsGood, ";tcp", ";ws", 1), false, true, false},
		{"plain ws to a ws offer", "application/sdp", head + strings.Replace(good, ";tcp", ";ws", 1), false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := sip.NewResponse(200, "OK")
			if tc.ct != "" {
				res.AppendHeader(sip.NewHeader("Content-Type", tc.ct))
			}
			res.SetBody([]byte(tc.body))
			a, err := parseAnswer(res, tc.secure, tc.ws)
			if tc.ok != (err == nil) {
				t.Fatalf("parseAnswer: %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrBadAnswer) {
					t.Errorf("error %v does not wrap ErrBadAnswer", err)
				}
				return
			}
			if len(a.path) != 1 || a.path[0].SessionID != "abc" || !a.chatroomOK || !a.chatroom.Nickname || a.chatroom.PrivateMessages {
				t.Errorf("answer = %+v", a)
			}
		})
	}
}

func TestOptionsErrors(t *testing.T) {
	room := sip.Uri{Scheme: "sip", User: "lobby", Host: "127.0.0.1"}
	for _, o := range []Options{
		{},
		{From: "alice"},
		{From: "tel:+123"},
		{From: "sip:a@example.com", Transport: "sctp"},
		{From: "sip:a@example.com", LocalAddr: "nowhere"},
		{From: "sip:a@example.com", AcceptWrappedTypes: []string{"text/"}},
		{From: "sip:a>b@example.com"}, // cannot be a CPIM From
		{From: "sip:a b@example.com"}, // nor this
	} {
		if _, err := o.resolve(room); !errors.Is(err, errOptions) {
			t.Errorf("resolve(%+v) = %v, want an options error", o, err)
		}
	}
	if _, err := Join(t.Context(), "mailto:x@y", Options{From: "sip:a@example.com"}); !errors.Is(err, errOptions) {
		t.Errorf("Join with a non-SIP room: %v", err)
	}
	c, err := Options{From: "sip:a@example.com"}.resolve(sip.Uri{Scheme: "sip", Host: "h", UriParams: sip.HeaderParams{{K: "transport", V: "udp"}}})
	if err != nil || c.transport != "UDP" {
		t.Errorf("transport from the room URI: %q, %v", c.transport, err)
	}
}

func TestOptionsDefaults(t *testing.T) {
	c, err := Options{From: "sip:a@example.com"}.resolve(sip.Uri{Scheme: "sip", Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if c.msgBuffer != DefaultMessageBuffer || c.maxMessage != DefaultMaxMessageSize || c.privacy || c.fromURI != "sip:a@example.com" {
		t.Errorf("settings %+v", c)
	}
	c, err = Options{From: "sip:a@example.com", MessageBuffer: 3, MaxMessageSize: 4096, Privacy: true}.resolve(sip.Uri{Scheme: "sip", Host: "h"})
	if err != nil || c.msgBuffer != 3 || c.maxMessage != 4096 || !c.privacy {
		t.Errorf("settings %+v, %v", c, err)
	}
}
