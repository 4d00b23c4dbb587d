package client_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
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

// exampleServer starts parleyd with its defaults on free loopback ports and
// returns its SIP TCP address.
func exampleServer() (addr string, stop func()) {
	cfg := config.Default()
	cfg.SIP.UDP, cfg.SIP.TCP, cfg.MSRP.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
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
