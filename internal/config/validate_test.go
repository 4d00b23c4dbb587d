package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   []string // keys in error, in order; nil: valid
	}{
		{"default", func(c *Config) {}, nil},
		{"random ports", func(c *Config) { c.SIP.UDP, c.SIP.TCP, c.MSRP.Listen = "127.0.0.1:0", ":0", "[::1]:0" }, nil},
		{"udp only", func(c *Config) { c.SIP.TCP = "" }, nil},
		{"host name", func(c *Config) { c.Server.Host = "chat-1.example.com" }, nil},
		{"host IPv6", func(c *Config) { c.Server.Host = "2001:db8::1" }, nil},
		{"host IPv6 bracketed", func(c *Config) { c.Server.Host = "[2001:db8::1]" }, nil},
		{"empty host", func(c *Config) { c.Server.Host = "" }, []string{"server.host"}},
		{"host with port", func(c *Config) { c.Server.Host = "example.com:5060" }, []string{"server.host"}},
		{"host numeric top label", func(c *Config) { c.Server.Host = "1.2.3.999" }, []string{"server.host"}},
		{"host unspecified", func(c *Config) { c.Server.Host = "0.0.0.0" }, []string{"server.host"}},
		{"listen unspecified", func(c *Config) { c.SIP.UDP, c.SIP.TCP, c.MSRP.Listen = "0.0.0.0:5060", "[::]:5060", ":2855" }, nil},
		{"host bad label", func(c *Config) { c.Server.Host = "-a.example" }, []string{"server.host"}},
		{"zero shutdown", func(c *Config) { c.Server.ShutdownTimeout = 0 }, []string{"server.shutdown_timeout"}},
		{"no SIP transport", func(c *Config) { c.SIP.UDP, c.SIP.TCP, c.SIP.TLS = "", "", "" }, []string{"sip"}},
		{"TLS only", func(c *Config) { c.SIP.UDP, c.SIP.TCP = "", "" }, nil},
		{"SIP TLS on the TCP port", func(c *Config) { c.SIP.TLS = c.SIP.TCP }, []string{"sip.tls"}},
		{"msrps on the msrp port", func(c *Config) { c.MSRP.TLSListen = c.MSRP.Listen }, []string{"msrp.tls_listen"}},
		{"cert without key", func(c *Config) { c.TLS.Cert = "x.pem" }, []string{"tls"}},
		{"self-signed without data dir", func(c *Config) { c.Server.DataDir = "" }, []string{"server.data_dir"}},
		{"no TLS, no data dir", func(c *Config) { c.Server.DataDir, c.SIP.TLS, c.MSRP.TLSListen, c.HTTPS.Listen = "", "", "", "" }, nil},
		{"HTTPS only needs a data dir", func(c *Config) { c.Server.DataDir, c.SIP.TLS, c.MSRP.TLSListen = "", "", "" }, []string{"server.data_dir"}},
		{"HTTPS off", func(c *Config) { c.HTTPS.Listen = "" }, nil},
		{"HTTPS on the msrps port", func(c *Config) { c.HTTPS.Listen = c.MSRP.TLSListen }, []string{"https.listen"}},
		{"HTTPS on the SIP TLS port", func(c *Config) { c.HTTPS.Listen = c.SIP.TLS }, []string{"https.listen"}},
		{"HTTPS bad address", func(c *Config) { c.HTTPS.Listen = "8443" }, []string{"https.listen"}},
		{"origins", func(c *Config) {
			c.HTTPS.Origins = []string{"https://chat.example.com", "http://127.0.0.1:8080", "https://[2001:db8::1]:8443/"}
		}, nil},
		{"bad origins", func(c *Config) {
			c.HTTPS.Origins = []string{"chat.example.com", "https://example.com/page", "ftp://example.com", "https://user@example.com", "https://", "https://example.com:99999"}
		}, []string{"https.origins[0]", "https.origins[1]", "https.origins[2]", "https.origins[3]", "https.origins[4]", "https.origins[5]"}},
		{"missing port", func(c *Config) { c.SIP.UDP = "127.0.0.1" }, []string{"sip.udp"}},
		{"port too big", func(c *Config) { c.SIP.TCP = "127.0.0.1:65536" }, []string{"sip.tcp"}},
		{"port by name", func(c *Config) { c.SIP.TCP = "127.0.0.1:sip" }, []string{"sip.tcp"}},
		{"bad listen host", func(c *Config) { c.SIP.UDP = "not_a_host:5060" }, []string{"sip.udp"}},
		{"zero subscription durations", func(c *Config) {
			c.SIP.SubscriptionExpires, c.SIP.MinSubscriptionExpires, c.SIP.NotifyInterval = 0, -1, 0
		}, []string{"sip.subscription_expires", "sip.min_subscription_expires", "sip.notify_interval"}},
		{"min over max expires", func(c *Config) { c.SIP.MinSubscriptionExpires = Duration(2 * time.Hour) }, []string{"sip.min_subscription_expires"}},
		{"no MSRP", func(c *Config) { c.MSRP.Listen = "" }, []string{"msrp.listen"}},
		{"MSRP on SIP TCP port", func(c *Config) { c.MSRP.Listen = ":5060" }, []string{"msrp.listen"}},
		{"MSRP on SIP UDP port", func(c *Config) { c.MSRP.Listen = "127.0.0.1:5060"; c.SIP.TCP = "" }, nil},
		{"zero durations", func(c *Config) {
			c.MSRP.BindTimeout, c.MSRP.WriteTimeout, c.MSRP.ChunkTimeout = 0, -1, 0
		}, []string{"msrp.bind_timeout", "msrp.write_timeout", "msrp.chunk_timeout"}},
		{"zero sizes", func(c *Config) {
			c.MSRP.MaxChunk, c.MSRP.MaxMessage, c.MSRP.MaxHeaderBytes, c.MSRP.MaxPending = 0, 0, -1, 0
		}, []string{"msrp.max_chunk", "msrp.max_message", "msrp.max_header_bytes", "msrp.max_pending"}},
		{"huge size", func(c *Config) { c.MSRP.MaxMessage = 2 * GiB }, []string{"msrp.max_message"}},
		{"message under chunk", func(c *Config) { c.MSRP.MaxMessage = c.MSRP.MaxChunk - 1 }, []string{"msrp.max_message"}},
		{"message equals chunk", func(c *Config) { c.MSRP.MaxMessage = c.MSRP.MaxChunk }, nil},
		{"pending under chunk", func(c *Config) { c.MSRP.MaxPending = KiB }, []string{"msrp.max_pending"}},
		{"bad mode", func(c *Config) { c.Rooms.Mode = "static" }, []string{"rooms.mode"}},
		{"configured without rooms", func(c *Config) { c.Rooms.Mode = ModeConfigured }, []string{"rooms.mode"}},
		{"configured with a room", func(c *Config) {
			c.Rooms.Mode = ModeConfigured
			c.Room = []RoomConfig{{Name: "lobby"}}
		}, nil},
		{"zero max_rooms", func(c *Config) { c.Rooms.MaxRooms = 0 }, []string{"rooms.max_rooms"}},
		{"room name over max_name_bytes", func(c *Config) {
			c.Rooms.MaxNameBytes = 3
			c.Room = []RoomConfig{{Name: "abc"}, {Name: "abcd"}}
		}, []string{"room[1].name"}},
		{"unfinished bytes under max_message", func(c *Config) { c.MSRP.MaxUnfinishedBytes = MiB }, []string{"msrp.max_unfinished_bytes"}},
		{"max_name_bytes over 255", func(c *Config) { c.Rooms.MaxNameBytes = 256 }, []string{"rooms.max_name_bytes"}},
		{"zero limits", func(c *Config) {
			c.Limits.RoomsPerSource, c.Limits.SubscriptionsPerRoom, c.MSRP.MaxUnfinished = 0, 0, 0
			c.SIP.MessageTimeout, c.MSRP.ProgressTimeout = 0, 0
		}, []string{"sip.message_timeout", "msrp.progress_timeout", "msrp.max_unfinished", "limits.rooms_per_source", "limits.subscriptions_per_room"}},
		{"exempt prefixes", func(c *Config) {
			c.Limits.Exempt = []string{"10.0.0.0/8", "::1", "192.0.2.7", "10.0.0.0/33", "example.com"}
		},
			[]string{"limits.exempt[3]", "limits.exempt[4]"}},
		{"rates", func(c *Config) {
			c.Limits.JoinsPerSecond, c.Limits.JoinsBurst = -1, 0
			c.Limits.SubscriptionsPerSecond, c.Limits.SubscriptionsBurst = 5, 0
			c.Limits.MessagesPerSecond, c.Limits.MessagesBurst = 2_000_000, 1
			c.Limits.MSRPConnectionsPerSource = 0
			c.Limits.RateExempt = []string{"::1", "127.0.0.0/8", "loopback"}
		}, []string{"limits.msrp_connections_per_source", "limits.joins_per_second", "limits.subscriptions_burst",
			"limits.messages_per_second", "limits.rate_exempt[2]"}},
		{"rates off", func(c *Config) {
			c.Limits.JoinsPerSecond, c.Limits.JoinsBurst = 0, 0
			c.Limits.SubscriptionsPerSecond, c.Limits.MessagesPerSecond = 0, 0
			c.Limits.RateExempt = nil
		}, nil},
		{"more rooms than max_rooms", func(c *Config) {
			c.Rooms.MaxRooms = 1
			c.Room = []RoomConfig{{Name: "a"}, {Name: "b"}}
		}, []string{"rooms.max_rooms"}},
		{"policy enums", func(c *Config) {
			c.Rooms.DeleteWhen, c.Rooms.NicknameScope = "sometimes", "world"
		}, []string{"rooms.delete_when", "rooms.nickname_scope"}},
		{"zero participants", func(c *Config) { c.Rooms.MaxParticipants = 0 }, []string{"rooms.max_participants"}},
		{"nickname bytes over 1023", func(c *Config) { c.Rooms.MaxNicknameBytes = 1024 }, []string{"rooms.max_nickname_bytes"}},
		{"nickname bytes 0", func(c *Config) { c.Rooms.MaxNicknameBytes = 0 }, []string{"rooms.max_nickname_bytes"}},
		{"nickname bytes 1023", func(c *Config) { c.Rooms.MaxNicknameBytes = 1023 }, nil},
		{"reserved nicknames", func(c *Config) {
			c.Rooms.ReservedNicknames = []string{"ok", "", "tab\there", strings.Repeat("x", 1024), "\xff"}
		}, []string{"rooms.reserved_nicknames[1]", "rooms.reserved_nicknames[2]", "rooms.reserved_nicknames[3]", "rooms.reserved_nicknames[4]"}},
		{"negative quarantine", func(c *Config) { c.Rooms.NicknameQuarantine = -1 }, []string{"rooms.nickname_quarantine"}},
		{"wrapped types", func(c *Config) {
			c.Rooms.AcceptWrappedTypes = []string{"*", "text/*", "application/vnd.x+json", "text", "text/plain; charset=utf-8", "/plain", ""}
		}, []string{"rooms.accept_wrapped_types[3]", "rooms.accept_wrapped_types[4]", "rooms.accept_wrapped_types[5]", "rooms.accept_wrapped_types[6]"}},
		{"no wrapped types", func(c *Config) { c.Rooms.AcceptWrappedTypes = nil }, nil},
		{"room names", func(c *Config) {
			c.Room = []RoomConfig{
				{Name: "lobby"}, {Name: "a-b_c.d!~*'()&=+$,;?/%41"}, {Name: ""}, {Name: "has space"},
				{Name: "lobby"}, {Name: "bad%4"}, {Name: strings.Repeat("r", 256)}, {Name: "Lobby"},
			}
		}, []string{"room[2].name", "room[3].name", "room[4].name", "room[5].name", "room[6].name", "room[7].name"}},
		{"room names compared exactly", func(c *Config) {
			c.Rooms.CaseSensitiveNames = true
			c.Room = []RoomConfig{{Name: "lobby"}, {Name: "Lobby"}}
		}, nil},
		{"aliases", func(c *Config) { c.Server.Aliases = []string{"chat.example.com", "", "0.0.0.0", "bad host"} },
			[]string{"server.aliases[1]", "server.aliases[2]", "server.aliases[3]"}},
		{"room subject", func(c *Config) { c.Room = []RoomConfig{{Name: "a", Subject: "line\nbreak"}} }, []string{"room[0].subject"}},
		{"room overrides", func(c *Config) {
			c.Room = []RoomConfig{{Name: "a", PolicyOverride: PolicyOverride{
				DeleteWhen:         new(DeleteWhen("soon")),
				MaxParticipants:    new(0),
				Nicknames:          new(false),
				MaxNicknameBytes:   new(2000),
				AcceptWrappedTypes: &[]string{"bad"},
				NicknameQuarantine: new(Duration(-time.Second)),
			}}}
		}, []string{"room[0].delete_when", "room[0].max_participants", "room[0].max_nickname_bytes",
			"room[0].nickname_quarantine", "room[0].accept_wrapped_types[0]"}},
		{"log", func(c *Config) { c.Log.Level, c.Log.Format = "trace", "xml" }, []string{"log.level", "log.format"}},
		{"several at once", func(c *Config) {
			c.Server.Host = ""
			c.SIP.UDP = "nope"
			c.MSRP.MaxMessage = 1
			c.Rooms.Mode = ModeConfigured
			c.Log.Level = "loud"
		}, []string{"server.host", "sip.udp", "msrp.max_message", "rooms.mode", "log.level"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var got []string
			for _, e := range problems(t, err) {
				got = append(got, e.Key)
				if e.File != "" || e.Line != 0 || e.Flag != "" {
					t.Errorf("%v: Validate() gives a position", e)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate() problems %v, want %v\n%v", got, tt.want, err)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "f.toml", Line: 3, Col: 7, Err: errString("bad")}, "f.toml:3:7: bad"},
		{Error{File: "f.toml", Line: 3, Key: "msrp.max_chunk", Err: errString("bad")}, "f.toml:3: msrp.max_chunk: bad"},
		{Error{File: "f.toml", Err: errString("bad")}, "f.toml: bad"},
		{Error{Flag: "sip-udp", File: "ignored", Key: "sip.udp", Err: errString("bad")}, "flag -sip-udp: sip.udp: bad"},
		{Error{Key: "log.level", Err: errString("bad")}, "log.level: bad"},
		{Error{Err: errString("bad")}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	es := Errors{{Key: "a", Err: errString("x")}, {Key: "b", Err: errString("y")}}
	if got := es.Error(); got != "a: x\nb: y" {
		t.Errorf("Errors.Error() = %q", got)
	}
	if n := len(es.Unwrap()); n != 2 {
		t.Errorf("Unwrap() has %d errors", n)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// ParseOrigin returns an origin as browsers send it in Origin.
func TestParseOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://chat.example.com":  "https://chat.example.com",
		"HTTPS://Chat.Example.COM/": "https://chat.example.com",
		"https://127.0.0.1:8443":    "https://127.0.0.1:8443",
		"http://[::1]:8080":         "http://[::1]:8080",
	} {
		if got, err := ParseOrigin(in); err != nil || got != want {
			t.Errorf("ParseOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "null", "*", "example.com", "https://example.com/x", "https://example.com?q", "wss://example.com"} {
		if got, err := ParseOrigin(in); err == nil {
			t.Errorf("ParseOrigin(%q) = %q, want an error", in, got)
		}
	}
}
