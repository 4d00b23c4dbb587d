package main

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	cases := []struct {
		in      string
		want    command
		ok, bad bool
	}{
		{in: "", ok: false},
		{in: "   ", ok: false},
		{in: "hello there", want: command{name: "say", arg: "hello there"}, ok: true},
		{in: "//slash at the start", want: command{name: "say", arg: "/slash at the start"}, ok: true},
		{in: "/me waves", want: command{name: "me", arg: "waves"}, ok: true},
		{in: "/ME   waves  ", want: command{name: "me", arg: "waves"}, ok: true},
		{in: "/me", bad: true},
		{in: "/msg bob hi there", want: command{name: "msg", to: "bob", arg: "hi there"}, ok: true},
		{in: "/msg sip:bob@example.com hi", want: command{name: "msg", to: "sip:bob@example.com", arg: "hi"}, ok: true},
		{in: "/msg bob", bad: true},
		{in: "/msg", bad: true},
		{in: "/nick robert", want: command{name: "nick", arg: "robert"}, ok: true},
		{in: "/nick", want: command{name: "nick", arg: ""}, ok: true},
		{in: "/nick two words", bad: true},
		{in: "/nick register", want: command{name: "register", arg: ""}, ok: true},
		{in: "/nick REGISTER bobby", want: command{name: "register", arg: "bobby"}, ok: true},
		{in: "/nick register two words", bad: true},
		{in: "/nick registered", want: command{name: "nick", arg: "registered"}, ok: true},
		{in: "/who", want: command{name: "who"}, ok: true},
		{in: "/leave", want: command{name: "leave"}, ok: true},
		{in: "/quit", want: command{name: "leave"}, ok: true},
		{in: "/help", want: command{name: "help"}, ok: true},
		{in: "/help /msg", want: command{name: "help", arg: "/msg"}, ok: true},
		{in: "/frobnicate", bad: true},
		// Issue 19.
		{in: "/topic", want: command{name: "topic"}, ok: true},
		{in: "/away", want: command{name: "away"}, ok: true},
		{in: "/away  out for lunch ", want: command{name: "away", arg: "out for lunch"}, ok: true},
		{in: "/join dev", want: command{name: "join", arg: "dev"}, ok: true},
		{in: "/join", bad: true},
		{in: "/join a b", bad: true},
		{in: "/part", want: command{name: "part"}, ok: true},
		{in: "line one\n\nline three", want: command{name: "say", arg: "line one\n\nline three"}, ok: true},
		{in: "/me waves\nand smiles", want: command{name: "me", arg: "waves\nand smiles"}, ok: true},
		{in: "/who\n", want: command{name: "who"}, ok: true},
		{in: "/nick a\nb", bad: true},
	}
	for _, c := range cases {
		got, ok, err := parseCommand(c.in)
		if c.bad {
			var u errUsage
			if !errors.As(err, &u) {
				t.Errorf("parseCommand(%q) error %v, want a usage error", c.in, err)
			}
			continue
		}
		if err != nil || ok != c.ok || got != c.want {
			t.Errorf("parseCommand(%q) = %+v, %v, %v; want %+v, %v", c.in, got, ok, err, c.want, c.ok)
		}
	}
}

func TestTypingTarget(t *testing.T) {
	cases := []struct {
		in     string
		to     string
		sendOK bool
	}{
		{"", "", false},
		{"h", "", true},
		{"/me is", "", true},
		{"//x", "", true},
		{"/ms", "", false},
		{"/msg bo", "", false},
		{"/msg bob ", "", false},
		{"/msg bob h", "bob", true},
		{"/nick ro", "", false},
		{"/who", "", false},
	}
	for _, c := range cases {
		to, ok := typingTarget(c.in)
		if to != c.to || ok != c.sendOK {
			t.Errorf("typingTarget(%q) = %q, %v; want %q, %v", c.in, to, ok, c.to, c.sendOK)
		}
	}
}

// /help COMMAND explains that command, by name or alias, with or without
// its "/"; an unknown one says so.
func TestHelpFor(t *testing.T) {
	for arg, want := range map[string]string{
		"":      "Commands:",
		"msg":   "/msg NICK TEXT",
		"/tell": "/msg NICK TEXT",
		"NICK":  "/nick register",
		"names": "/who",
		"part":  "/part: leave the room of this tab",
		"quit":  "/leave",
		"away":  "local to parley",
		"topic": "subject",
		"?":     "/help [COMMAND]",
		"frob":  "no command /frob",
	} {
		if got := helpFor(arg); !strings.Contains(got, want) {
			t.Errorf("helpFor(%q) = %q, want it to hold %q", arg, got, want)
		}
	}
}
