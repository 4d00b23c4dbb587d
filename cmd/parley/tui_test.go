package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/parley-im/parley/client"
)

// The terminal UI on a simulated screen, against an in-process parleyd: a
// bracketed paste of 5,000 characters and several lines is one event, one
// message, sent at once (issue 19: it used to be 5,000 key events, each
// redrawing and updating the typing state: 18 s); and quitting leaves
// nothing running (under -race: the UI's goroutines and the chat's).
func TestTUIPasteIsOneMessage(t *testing.T) {
	srv := startServer(t)
	room := "sip:lobby@" + srv.Addrs().SIPTCP
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bob, err := client.Join(ctx, room, client.Options{From: "sip:bob@127.0.0.1", DisplayName: "bob", NoRoster: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Leave(context.Background())
	alice, err := client.Join(ctx, room, client.Options{From: "sip:alice@127.0.0.1", DisplayName: "alice"})
	if err != nil {
		t.Fatal(err)
	}

	screen := tcell.NewSimulationScreen("UTF-8")
	screen.SetSize(120, 30)
	greeted := make(chan struct{})
	tctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runTUI(tctx, tuiConfig{self: "sip:alice@127.0.0.1", display: "alice", first: alice, firstRoom: room,
			greet:   func(context.Context, *chat, string) { close(greeted) },
			resolve: func(string) (string, error) { return "", nil },
			dial:    func(context.Context, string) (*client.Session, error) { return nil, context.Canceled },
			screen:  screen})
	}()
	<-greeted

	paste := strings.Repeat("0123456789", 250) + "\n\n" + strings.Repeat("abcdefghij", 249) + "END!!!!!"
	start := time.Now()
	post := func(ev tcell.Event) {
		for screen.PostEvent(ev) != nil { // the queue is full: the UI is behind
			time.Sleep(10 * time.Microsecond)
		}
	}
	post(tcell.NewEventPaste(true))
	for _, r := range paste {
		if r == '\n' {
			post(tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModNone)) // as a terminal sends a line break
			continue
		}
		post(tcell.NewEventKey(tcell.KeyRune, r, tcell.ModNone))
	}
	post(tcell.NewEventPaste(false))
	post(tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModNone))

	// next is bob's next chat message (no typing, no notice).
	next := func(what string) client.Message {
		t.Helper()
		for {
			select {
			case m := <-bob.Messages():
				if _, typing := m.Composing(); !typing && !m.System {
					return m
				}
			case <-ctx.Done():
				t.Fatalf("%s never reached bob", what)
			}
		}
	}
	got := next("the paste")
	elapsed := time.Since(start)
	t.Logf("%d characters pasted and sent in %v (including posting %d simulated events)", len(paste), elapsed, len(paste)+3)
	if string(got.Body) != paste {
		t.Errorf("bob got %d octets %.40q…, want the paste (%d octets) as one message", len(got.Body), got.Body, len(paste))
	}
	if elapsed > 2*time.Second {
		t.Errorf("the paste took %v", elapsed)
	}

	// Alt+Enter starts a new line by hand; Enter sends both as one.
	for _, ev := range []tcell.Event{
		tcell.NewEventKey(tcell.KeyRune, 'a', tcell.ModNone),
		tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModAlt),
		tcell.NewEventKey(tcell.KeyRune, 'b', tcell.ModNone),
		tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModNone),
	} {
		post(ev)
	}
	got = next("the typed lines")
	if string(got.Body) != "a\nb" {
		t.Errorf("a, Alt+Enter, b, Enter sent %q, want \"a\\nb\"", got.Body)
	}

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("runTUI: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the UI did not stop")
	}
	select {
	case <-alice.Done():
	default:
		t.Error("quitting did not leave the room")
	}
}
