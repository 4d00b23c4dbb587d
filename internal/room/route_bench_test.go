package room

import (
	"fmt"
	"testing"

	"github.com/parley-im/parley/sdp"
)

// bigRoom returns n chat-room-aware members with private messages, every
// tenth on a second device of the previous member's URI.
func bigRoom(n int) []*Participant {
	ms := make([]*Participant, n)
	for i := range ms {
		u := i
		if i%10 == 9 {
			u = i - 1
		}
		ms[i] = member(fmt.Sprintf("s%d", i), fmt.Sprintf("sip:user%d@example.com", u), true, true)
	}
	return ms
}

func BenchmarkRoute(b *testing.B) {
	members := bigRoom(100)
	sender := members[0]
	textOnly := func(_ *Participant, mt string) bool { return mt == "text/plain" }
	regular := []string{roomURI}
	private := []string{members[98].URI}
	b.Run("regular", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Route(members, roomURI, sender, sender.URI, regular, "text/plain", RoutePolicy{Accepts: textOnly})
		}
	})
	b.Run("regular-append", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]*Participant, 0, len(members))
		for b.Loop() {
			buf = RouteAppend(buf, members, roomURI, sender, sender.URI, regular, "text/plain", RoutePolicy{Accepts: textOnly}).Recipients
		}
	})
	b.Run("private", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Route(members, roomURI, sender, sender.URI, private, "text/plain", RoutePolicy{PrivateMessages: true})
		}
	})
	b.Run("private-nickname", func(b *testing.B) {
		// Every member holds a nickname; the To and From are IM URIs.
		members := bigRoom(100)
		n := NewNicknames()
		for _, m := range members {
			n.Request("r", m, "nick"+m.ID, NickPolicy{Allowed: true}, t0)
		}
		sender, to := members[0], []string{n.URIOf(members[98])}
		from := n.URIOf(sender)
		b.ReportAllocs()
		for b.Loop() {
			Route(members, roomURI, sender, from, to, "text/plain", RoutePolicy{PrivateMessages: true})
		}
	})
	b.Run("refused-404", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Route(members, roomURI, sender, sender.URI, []string{"sip:nobody@example.com"}, "text/plain", RoutePolicy{PrivateMessages: true})
		}
	})
}

// BenchmarkRouteAlternatingTypes (issue 20): routing cost must not depend
// on how the content types of successive messages alternate: text and
// typing indications, as a busy room sends them, against text alone.
// Every member declares accept-wrapped-types, so Route asks each one.
func BenchmarkRouteAlternatingTypes(b *testing.B) {
	wrapped, err := sdp.ParseFormatList("text/plain text/html application/im-iscomposing+xml image/*")
	if err != nil {
		b.Fatal(err)
	}
	members := bigRoom(100)
	for _, m := range members {
		m.Wrapped, m.HasWrapped = wrapped, true
	}
	sender := members[0]
	regular := []string{roomURI}
	pol := RoutePolicy{Accepts: (*Participant).AcceptsWrapped}
	for _, tc := range []struct {
		name  string
		types []string
	}{
		{"one-type", []string{"text/plain"}},
		{"text-and-typing", []string{"text/plain", "application/im-iscomposing+xml"}},
		{"four-types", []string{"text/plain", "application/im-iscomposing+xml", "text/html", "image/png"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			buf := make([]*Participant, 0, len(members))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				buf = RouteAppend(buf, members, roomURI, sender, sender.URI, regular, tc.types[i%len(tc.types)], pol).Recipients
				i++
			}
		})
	}
}
