package server

import (
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/room"
)

// One room, one URI (issue 19). A room's canonical URI is its name at
// server.host (the Contact of the focus's answers, the entity of its
// conference documents); server.aliases are other names of this server,
// and a room URI at any of them is the same room. These are fixed at the
// start, as the listeners are.

// roomNaming is what names a room: the hosts and the port of its URIs.
type roomNaming struct {
	hosts  []string // server.host, then server.aliases, IPv6 addresses bare
	port   int      // the SIP port of the canonical URIs; 0 for the default
	scheme string   // "sip", or "sips" when SIP runs over TLS only
	key    func(string) string
}

// roomNames returns the naming of cfg's rooms with the SIP listeners'
// ports (transport → port).
func roomNames(cfg *config.Config, ports map[string]int) roomNaming {
	n := roomNaming{scheme: "sip", key: cfg.RoomKey}
	switch {
	case ports["TCP"] != 0:
		n.port = ports["TCP"]
	case ports["UDP"] != 0:
		n.port = ports["UDP"]
	case ports["TLS"] != 0:
		n.scheme, n.port = "sips", ports["TLS"]
	}
	if (n.scheme == "sip" && n.port == 5060) || (n.scheme == "sips" && n.port == 5061) {
		n.port = 0 // RFC 3263: the default port of the scheme
	}
	for _, h := range append([]string{cfg.Server.Host}, cfg.Server.Aliases...) {
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if !containsFold(n.hosts, h) {
			n.hosts = append(n.hosts, h)
		}
	}
	return n
}

// roomURIs returns the URIs of rm: its canonical URI first, then the same
// at each alias. The conference document lists them in <conf-uris>.
func (s *Server) roomURIs(rm *room.Room) []string {
	out := make([]string, 0, len(s.names.hosts))
	for _, h := range s.names.hosts {
		out = append(out, s.names.uri(rm.Name, h))
	}
	return out
}

// roomURI returns rm's canonical URI: its name at server.host, with the
// SIP port unless it is the scheme's default. It is the entity of every
// conference document of rm.
func (s *Server) roomURI(rm *room.Room) string { return s.names.uri(rm.Name, s.names.hosts[0]) }

// uri is the URI of the room called name at host.
func (n roomNaming) uri(name, host string) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	u := n.scheme + ":" + name + "@" + host
	if n.port != 0 {
		u += ":" + strconv.Itoa(n.port)
	}
	return u
}

// roomAlias reports whether uri names rm at one of the server's names:
// a sip or sips URI whose user part is rm's name (compared as room names
// are) and whose host is server.host or an alias, at any port.
func (s *Server) roomAlias(rm *room.Room, uri string) bool {
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil {
		return false
	}
	if u.Scheme != "sip" && u.Scheme != "sips" {
		return false
	}
	host := strings.TrimSuffix(strings.TrimPrefix(u.Host, "["), "]")
	return s.names.key(u.User) == s.names.key(rm.Name) && containsFold(s.names.hosts, host)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
