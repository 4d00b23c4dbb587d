package main

import (
	"flag"
	"io"
	"strings"
	"testing"
)

func TestRoomURI(t *testing.T) {
	cases := []struct {
		arg, server       string
		room, dest, errIs string
	}{
		{arg: "sip:lobby@127.0.0.1", room: "sip:lobby@127.0.0.1"},
		{arg: "sip:lobby@chat.example.org", server: "127.0.0.1:5070", room: "sip:lobby@chat.example.org", dest: "127.0.0.1:5070"},
		{arg: "lobby", room: "sip:lobby@127.0.0.1", dest: "127.0.0.1:5060"},
		{arg: "lobby", server: "127.0.0.1:5070", room: "sip:lobby@127.0.0.1:5070", dest: "127.0.0.1:5070"},
		{arg: "lobby", server: "[::1]:5060", room: "sip:lobby@[::1]", dest: "[::1]:5060"},
		{arg: "", errIs: "no room"},
		{arg: "a b", errIs: "give a sip: URI"},
		{arg: "http://x", errIs: "give a sip: URI"},
		{arg: "lobby", server: "localhost", errIs: "want host:port"},
	}
	for _, c := range cases {
		cm := common{server: c.server}
		room, dest, err := cm.roomURI(c.arg)
		if c.errIs != "" {
			if err == nil || !strings.Contains(err.Error(), c.errIs) {
				t.Errorf("roomURI(%q, %q) error %v, want %q", c.arg, c.server, err, c.errIs)
			}
			continue
		}
		if err != nil || room != c.room || dest != c.dest {
			t.Errorf("roomURI(%q, %q) = %q, %q, %v; want %q, %q", c.arg, c.server, room, dest, err, c.room, c.dest)
		}
	}
}

func TestDefaultFrom(t *testing.T) {
	cm := common{nick: "Élodie B.", transport: "tcp"}
	o, err := cm.options("sip:lobby@127.0.0.1:5070", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(o.From, "sip:lodieb.-") || !strings.HasSuffix(o.From, "@127.0.0.1:5070") || o.DisplayName != "Élodie B." {
		t.Errorf("From %q, display %q", o.From, o.DisplayName)
	}
	o2, _ := cm.options("sip:lobby@127.0.0.1:5070", io.Discard)
	if o2.From == o.From {
		t.Errorf("two default Froms are equal: %q", o.From)
	}
	cm.transport = "sctp"
	if _, err := cm.options("sip:lobby@127.0.0.1", io.Discard); err == nil {
		t.Error("transport sctp accepted")
	}
}

func TestParseArgsFlagsAnywhere(t *testing.T) {
	var c common
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.flags(fs)
	pos, err := parseArgs(fs, []string{"lobby", "--nick", "bob", "hello", "--transport", "udp", "--", "--not-a-flag"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(pos, "|") != "lobby|hello|--not-a-flag" || c.nick != "bob" || c.transport != "udp" {
		t.Errorf("pos %q, nick %q, transport %q", pos, c.nick, c.transport)
	}
}
