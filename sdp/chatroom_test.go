package sdp

import (
	"reflect"
	"testing"
)

func TestChatroom(t *testing.T) {
	tests := []struct {
		attrs   []string
		present bool
		want    Chatroom
	}{
		{nil, false, Chatroom{}},
		{[]string{"a=chatroomx"}, false, Chatroom{}},
		{[]string{"a=chatroom"}, true, Chatroom{}},
		{[]string{"a=chatroom:"}, true, Chatroom{}},
		{[]string{"a=chatroom:nickname"}, true, Chatroom{Nickname: true}},
		{[]string{"a=chatroom:nicknames"}, true, Chatroom{Nickname: true}},
		{[]string{"a=chatroom:private-messages"}, true, Chatroom{PrivateMessages: true}},
		{[]string{"a=chatroom:nickname private-messages"}, true, Chatroom{Nickname: true, PrivateMessages: true}},
		{[]string{"a=chatroom:Private-Messages NICKNAME"}, true, Chatroom{Nickname: true, PrivateMessages: true}},
		{[]string{"a=Chatroom:nickname"}, true, Chatroom{Nickname: true}},
		{[]string{"a=chatroom:nickname private-messages com.ag-projects.screen-sharing com.ag-projects.zrtp-sas"}, true,
			Chatroom{Nickname: true, PrivateMessages: true, Other: []string{"com.ag-projects.screen-sharing", "com.ag-projects.zrtp-sas"}}},
		{[]string{"a=chatroom:com.example.chat.foo"}, true, Chatroom{Other: []string{"com.example.chat.foo"}}},
		{[]string{"a=chatroom:nickname nicknames nickname private-messages private-messages x X y x"}, true,
			Chatroom{Nickname: true, PrivateMessages: true, Other: []string{"x", "y"}}},
		{[]string{"a=chatroom:  nickname \t private-messages  "}, true, Chatroom{Nickname: true, PrivateMessages: true}},
		{[]string{"a=chatroom", "a=chatroom:nickname"}, true, Chatroom{}},
		{[]string{"a=chatroom:\x1b nickname a\x7fb c"}, true, Chatroom{Nickname: true, Other: []string{"c"}}},
	}
	for _, tt := range tests {
		_, m := msrpLine(t, mMSRP, tt.attrs...)
		got, ok := m.Chatroom()
		if ok != tt.present || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: Chatroom = %#v, %v; want %#v, %v", tt.attrs, got, ok, tt.want, tt.present)
		}
	}
}

func TestSetChatroom(t *testing.T) {
	tests := []struct {
		c    Chatroom
		want Attribute
	}{
		{Chatroom{}, Attribute{Name: "chatroom"}},
		{Chatroom{Nickname: true}, Attribute{Name: "chatroom", Value: "nickname", HasValue: true}},
		{Chatroom{PrivateMessages: true, Nickname: true}, Attribute{Name: "chatroom", Value: "nickname private-messages", HasValue: true}},
		{Chatroom{PrivateMessages: true}, Attribute{Name: "chatroom", Value: "private-messages", HasValue: true}},
		{
			Chatroom{Nickname: true, Other: []string{"com.example.a", "nickname", "Nicknames", "", "two words", "PRIVATE-MESSAGES", "com.example.A", "b\x00"}},
			Attribute{Name: "chatroom", Value: "nickname com.example.a", HasValue: true},
		},
		{Chatroom{Other: []string{"private-messages"}}, Attribute{Name: "chatroom"}},
	}
	for _, tt := range tests {
		_, m := msrpLine(t, mMSRP, "a=chatroom:old", "a=accept-types:*", "a=chatroom:older")
		m.SetChatroom(tt.c)
		want := []Attribute{tt.want, {Name: "accept-types", Value: "*", HasValue: true}}
		if !reflect.DeepEqual(m.Attributes, want) {
			t.Errorf("SetChatroom(%#v): %#v", tt.c, m.Attributes)
		}
	}
}

// TestChatroomRoundTrip: what Chatroom reads, SetChatroom writes back to an
// attribute that reads the same.
func TestChatroomRoundTrip(t *testing.T) {
	for _, v := range []string{
		"", "nickname", "nicknames", "private-messages nickname", "a b a", "nickname x private-messages y",
		"com.ag-projects.screen-sharing com.ag-projects.zrtp-sas",
	} {
		c := ParseChatroom(v)
		m := &Media{}
		m.SetChatroom(c)
		got, ok := m.Chatroom()
		if !ok || !reflect.DeepEqual(got, c) {
			t.Errorf("%q: %#v -> %v -> %#v", v, c, m.Attributes, got)
		}
	}
}
