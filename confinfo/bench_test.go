package confinfo

import (
	"fmt"
	"testing"
)

// room20 is a full chat-room document with 20 users, each with a nickname
// and one MSRP endpoint.
func room20() *ConferenceInfo {
	c := NewChatRoom("sip:chatroom-22@chat.example.com", "Chat room 22", 42)
	for i := range 20 {
		c.AddUser(ChatUser(
			fmt.Sprintf("sip:user%02d@example.com", i),
			fmt.Sprintf("Nickname number %d", i),
			fmt.Sprintf("User %d", i),
			ChatEndpoint(fmt.Sprintf("sip:user%02d@pc%02d.example.com", i, i), "1")))
	}
	c.SetUserCount(20)
	return c
}

func BenchmarkMarshal20Users(b *testing.B) {
	c := room20()
	out, err := c.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse20Users(b *testing.B) {
	doc, err := room20().Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}
