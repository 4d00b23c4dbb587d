package server

import (
	"slices"
	"testing"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/room"
)

// Issue 19: a room's URIs, canonical first, and which URIs are aliases.
func TestRoomNaming(t *testing.T) {
	cfg := config.Default()
	cfg.Server.Host = "chat.example.com"
	cfg.Server.Aliases = []string{"localhost", "::1", "CHAT.example.com"}
	s := &Server{names: roomNames(cfg, map[string]int{"UDP": 5060, "TCP": 5060, "TLS": 5061})}
	rm := &room.Room{Name: "Lobby"}
	want := []string{"sip:Lobby@chat.example.com", "sip:Lobby@localhost", "sip:Lobby@[::1]"}
	if got := s.roomURIs(rm); !slices.Equal(got, want) {
		t.Errorf("roomURIs = %q, want %q", got, want)
	}
	if got := s.roomURI(rm); got != want[0] {
		t.Errorf("roomURI = %q, want %q", got, want[0])
	}
	for uri, alias := range map[string]bool{
		"sip:lobby@localhost:5070":          true,
		"sips:LOBBY@chat.example.com":       true,
		"sip:Lobby@[::1]":                   true,
		"sip:Lobby@elsewhere.example.com":   false,
		"sip:lobbyist@chat.example.com":     false,
		"tel:+15551234":                     false,
		"im:Lobby@chat.example.com":         false,
		"sip:chat.example.com":              false,
		"sip:Lobby@chat.example.com;foo=ba": true,
	} {
		if got := s.roomAlias(rm, uri); got != alias {
			t.Errorf("roomAlias(%s) = %v, want %v", uri, got, alias)
		}
	}
	// Exact names, a port of its own, TLS only.
	cfg.Rooms.CaseSensitiveNames = true
	s.names = roomNames(cfg, map[string]int{"TLS": 5071})
	if got := s.roomURIs(rm)[0]; got != "sips:Lobby@chat.example.com:5071" {
		t.Errorf("canonical URI %q", got)
	}
	if s.roomAlias(rm, "sip:lobby@chat.example.com") {
		t.Error("lobby is an alias of Lobby with case_sensitive_names")
	}
}
