package sdp

import (
	"reflect"
	"testing"

	"github.com/parley-im/parley/msrp"
)

func TestNewAnswerMixedOffer(t *testing.T) {
	offer := parseGolden(t, "mixed-offer.sdp")
	orig := offer.Clone()
	local := []msrp.URI{msrp.MustParseURI("msrp://chat.example.com:12763/kjhd37s2s20w2a;tcp")}
	var calls []int
	ans := NewAnswer(offer, Origin{"chat", "2890844527", "2890844527", "IN", "IP4", "chat.example.com"},
		NewConnection("chat.example.com"),
		func(i int, m *Media) *Media {
			calls = append(calls, i)
			if err := ValidateMSRP(m); err != nil {
				return nil
			}
			a := NewMSRPMedia(local)
			a.SetAcceptTypes(FormatList{{Type: "message", Subtype: "cpim"}})
			a.SetAttr(AttrAcceptWrappedTypes, "text/plain text/html *")
			a.SetSetup(AnswerSetup(m.Setup()))
			a.SetChatroom(Chatroom{Nickname: true, PrivateMessages: true})
			return a
		})
	if !reflect.DeepEqual(calls, []int{0, 1, 2}) {
		t.Errorf("decide called for %v", calls)
	}
	want := crlf(`v=0
o=chat 2890844527 2890844527 IN IP4 chat.example.com
s=-
c=IN IP4 chat.example.com
t=0 0
m=audio 0 RTP/AVP 0 8 101
m=message 12763 TCP/MSRP *
a=path:msrp://chat.example.com:12763/kjhd37s2s20w2a;tcp
a=accept-types:message/cpim
a=accept-wrapped-types:text/plain text/html *
a=setup:passive
a=chatroom:nickname private-messages
m=foo 0 BAR/BAZ x
`)
	if got := ans.String(); got != want {
		t.Errorf("answer:\n%s\nwant\n%s", got, want)
	}
	if len(ans.Media) != len(offer.Media) {
		t.Fatalf("%d m-lines, want %d", len(ans.Media), len(offer.Media))
	}
	for i, m := range ans.Media {
		if m.Type != offer.Media[i].Type || m.Proto != offer.Media[i].Proto {
			t.Errorf("m-line %d: %s %s, offer %s %s", i, m.Type, m.Proto, offer.Media[i].Type, offer.Media[i].Proto)
		}
	}
	if !reflect.DeepEqual(offer, orig) {
		t.Error("NewAnswer modified the offer")
	}
	// The answer parses back and is consistent.
	back, err := Parse(ans.Marshal())
	if err != nil || !reflect.DeepEqual(back, ans) {
		t.Fatalf("re-Parse: %v, equal %v", err, reflect.DeepEqual(back, ans))
	}
	if err := CheckMSRPConsistency(back, back.Media[1]); err != nil {
		t.Error(err)
	}
	// Rejected m-lines share nothing with the offer.
	ans.Media[0].Formats[0] = "changed"
	if offer.Media[0].Formats[0] != "0" {
		t.Error("RejectMedia shares Formats with the offer")
	}
}

func TestNewAnswerNilDecide(t *testing.T) {
	offer := parseGolden(t, "rfc7701-offer.sdp")
	ans := NewAnswer(offer, Origin{"-", "1", "1", "IN", "IP4", "h"}, nil, nil)
	want := crlf("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=message 0 TCP/MSRP *\n")
	if got := ans.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNewAnswerCopiesConnection(t *testing.T) {
	offer := parseGolden(t, "rfc7701-offer.sdp")
	c := NewConnection("2001:db8::1")
	ans := NewAnswer(offer, Origin{}, c, nil)
	c.Address = "changed"
	if ans.Connection.Address != "2001:db8::1" || ans.Connection.AddrType != "IP6" {
		t.Errorf("connection = %+v", ans.Connection)
	}
}

func TestRejectMedia(t *testing.T) {
	s := parseGolden(t, "mixed-offer.sdp")
	for _, m := range s.Media {
		r := RejectMedia(m)
		want := &Media{Type: m.Type, Proto: m.Proto, Formats: m.Formats}
		if !reflect.DeepEqual(r, want) {
			t.Errorf("RejectMedia = %+v, want %+v", r, want)
		}
	}
}
