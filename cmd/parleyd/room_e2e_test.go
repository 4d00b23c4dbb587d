package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/client"
)

// parleyd room delete, against a running parleyd whose room two client
// sessions chat in (each also subscribed to its roster): both get the
// focus's BYE saying the room was deleted and why, and the command
// reports both participants and both subscriptions ended.
func TestRoomDeleteWhileChatting(t *testing.T) {
	srv, cfg := startTestServer(t)
	cfg.Admin.Listen = "127.0.0.1:0"
	adm, err := startAdmin(cfg, srv, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.stop()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	room := "sip:lobby@" + srv.Addrs().SIPTCP
	join := func(user string) *client.Session {
		s, err := client.Join(ctx, room, client.Options{From: "sip:" + user + "@example.com", Transport: "tcp", Timeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("%s joins: %v", user, err)
		}
		return s
	}
	alice, bob := join("alice"), join("bob")
	defer alice.Leave(context.Background())
	defer bob.Leave(context.Background())
	for srv.Info().Participants != 2 || len(alice.Roster()) != 2 {
		select {
		case <-ctx.Done():
			t.Fatal("the room never had both")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := alice.Send(ctx, "before the end"); err != nil {
		t.Fatal(err)
	}
	for m := range bob.Messages() {
		if string(m.Body) == "before the end" {
			break
		}
	}

	var out, errb bytes.Buffer
	if code := run([]string{"room", "delete", "lobby", "-admin", adm.srv.Addr(), "-reason", "closing time"}, &out, &errb); code != 0 {
		t.Fatalf("parleyd room delete: %d %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "2 participants removed, 2 subscriptions ended") {
		t.Errorf("parleyd room delete said %q", out.String())
	}
	for _, s := range []*client.Session{alice, bob} {
		select {
		case <-s.Done():
		case <-ctx.Done():
			t.Fatal("a session outlived its room")
		}
		var br *client.ByeReason
		if !errors.Is(s.Err(), client.ErrEndedByFocus) || !errors.As(s.Err(), &br) || br.Cause != 410 || !strings.Contains(br.Text, "closing time") {
			t.Errorf("session ended with %v, want the focus's BYE, cause 410, with the reason", s.Err())
		}
	}
}
