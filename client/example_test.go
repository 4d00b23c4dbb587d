package client_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/msrp"
)

// Join a room, look at what the focus said, leave.
func Example() {
	addr, stop := exampleServer() // an in-process parleyd on loopback
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Join(ctx, "sip:lobby@"+addr, client.Options{
		From:        "sip:alice@example.com",
		DisplayName: "Alice",
		Transport:   "tcp",
	})
	if err != nil {
		fmt.Println("join:", err) // e.g. *client.SIPError 404 for an unknown room
		return
	}
	caps, _ := s.Chatroom()
	fmt.Println("focus:", s.IsFocus(), "nicknames:", caps.Nickname, "private messages:", caps.PrivateMessages)

	if err := s.Leave(ctx); err != nil {
		fmt.Println("leave:", err)
	}
	<-s.Done()
	fmt.Println("ended:", s.Err())
	// Output:
	// focus: true nicknames: true private messages: true
	// ended: <nil>
}

// Chat: print what arrives on one goroutine, pick a nickname and send.
func ExampleSession_Send() {
	ctx := context.Background()
	s, err := client.Join(ctx, "sip:lobby@chat.example.com", client.Options{From: "sip:alice@example.com"})
	if err != nil {
		fmt.Println("join:", err)
		return
	}
	defer s.Leave(ctx)

	printed := make(chan struct{})
	go func() {
		defer close(printed)
		for m := range s.Messages() { // closed when the Session ends
			switch {
			case m.System:
				fmt.Printf("* %s\n", m.Body)
			case m.Private:
				fmt.Printf("[private] %s: %s\n", m.From, m.Body)
			default:
				fmt.Printf("%s: %s\n", m.From, m.Body)
			}
		}
		if n := s.Dropped(); n > 0 {
			fmt.Println(n, "messages dropped: we read too slowly")
		}
	}()

	var se *msrp.StatusError
	switch err := s.SetNickname(ctx, "alice"); {
	case errors.As(err, &se) && se.Code == msrp.StatusNicknameInUse:
		fmt.Println("the nickname is taken")
	case errors.Is(err, client.ErrNicknamesNotAllowed):
		fmt.Println("no nicknames in this room")
	}
	if err := s.Send(ctx, "Hello, everyone!"); err != nil {
		fmt.Println("send:", err)
	}
	switch err := s.SendPrivate(ctx, "sip:bob@example.com", "psst"); {
	case errors.Is(err, client.ErrPrivateMessagesNotAllowed):
		fmt.Println("no private messages in this room")
	case errors.As(err, &se) && se.Code == msrp.StatusRecipientNotFound:
		fmt.Println("bob is not in the room")
	}

	time.Sleep(time.Minute) // chat a while
	s.Leave(ctx)
	<-printed
}

// Follow who is in the room, and send a private message to a participant
// found by nickname.
func ExampleSession_Roster() {
	ctx := context.Background()
	s, err := client.Join(ctx, "sip:lobby@chat.example.com", client.Options{From: "sip:alice@example.com"})
	if err != nil {
		fmt.Println("join:", err)
		return
	}
	defer s.Leave(ctx)

	printed := make(chan struct{})
	go func() {
		defer close(printed)
		for ev := range s.RosterEvents() { // closed when the Session ends
			switch ev.Kind {
			case client.RosterReset:
				fmt.Println(len(ev.Members), "in the room")
			case client.MemberJoined:
				fmt.Println("*", ev.Member.URI, "joined")
			case client.MemberLeft:
				fmt.Println("*", ev.Member.URI, "left")
			case client.MemberChanged:
				fmt.Printf("* %s is now %q\n", ev.Member.URI, ev.Member.Nickname)
			}
		}
	}()

	time.Sleep(time.Second) // the first NOTIFY follows the join closely
	if m, ok := s.Lookup("bob"); ok {
		if err := s.SendPrivate(ctx, m.URI, "psst"); err != nil {
			fmt.Println("private:", err)
		}
	}
	for _, m := range s.Roster() {
		fmt.Printf("%q %s (%d devices)\n", m.Nickname, m.URI, len(m.Endpoints))
	}
	if err := s.RosterErr(); err != nil {
		fmt.Println("no roster:", err) // client.ErrNoRoster, a *client.SIPError…
	}
	s.Leave(ctx)
	<-printed
}

// exampleServer starts parleyd with its defaults on free loopback ports and
// returns its SIP TCP address.
func exampleServer() (addr string, stop func()) {
	cfg := config.Default()
	cfg.SIP.UDP, cfg.SIP.TCP, cfg.MSRP.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.SIP.TLS, cfg.MSRP.TLSListen, cfg.HTTPS.Listen = "", "", "" // no TLS: no certificate, no fixed ports
	cfg.Store.Mode = config.StoreMemory                            // history in memory: nothing written to the working directory
	srv, err := server.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		panic(err)
	}
	srv.Start()
	return srv.Addrs().SIPTCP, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
}
