package config

import (
	_ "embed"
	"time"
)

// defaultTOML is the commented default configuration printed by
// parleyd -print-config. A test keeps it equal to Default.
//
//go:embed default.toml
var defaultTOML []byte

// DefaultTOML returns the commented default configuration file: every key
// with its default value and what it means.
func DefaultTOML() []byte { return append([]byte(nil), defaultTOML...) }

// Default returns the default configuration: a server on the loopback
// interface, ad hoc rooms, no configured room. It is the only place where
// default values live; each call returns a fresh Config.
func Default() *Config {
	return &Config{
		Admin: AdminConfig{Listen: "127.0.0.1:9560"},
		Server: ServerConfig{
			Host:            "127.0.0.1",
			Aliases:         []string{"localhost", "::1"},
			ShutdownTimeout: Duration(10 * time.Second),
			DataDir:         "parley-data",
		},
		SIP: SIPConfig{
			UDP:                    "127.0.0.1:5060",
			TCP:                    "127.0.0.1:5060",
			TLS:                    "127.0.0.1:5061",
			SubscriptionExpires:    Duration(3600 * time.Second),
			MinSubscriptionExpires: Duration(60 * time.Second),
			NotifyInterval:         Duration(500 * time.Millisecond),
			MessageTimeout:         Duration(10 * time.Second),
			IdleTimeout:            Duration(60 * time.Second),
			DigestAlgorithms:       []string{"SHA-256", "MD5"},
			TrustedProxies:         []string{},
		},
		MSRP: MSRPConfig{
			Listen:            "127.0.0.1:2855",
			TLSListen:         "127.0.0.1:2856",
			BindTimeout:       Duration(30 * time.Second),
			MaxChunk:          1 * MiB,
			MaxMessage:        4 * MiB,
			MaxHeaderBytes:    16 * KiB,
			MaxPending:        4 * MiB,
			WriteTimeout:      Duration(10 * time.Second),
			CoalesceDelay:     Duration(250 * time.Microsecond),
			ChunkTimeout:      Duration(540 * time.Second),
			CongestionTimeout: Duration(60 * time.Second),

			ProgressTimeout:     Duration(30 * time.Second),
			MaxUnfinished:       16,
			MaxUnfinishedBytes:  8 * MiB,
			MaxSessionsPerConn:  64,
			MaxUnboundPerSource: 256,
		},
		TLS:   TLSConfig{Cert: "", Key: ""},
		HTTPS: HTTPSConfig{Listen: "127.0.0.1:8443", Origins: []string{}, MaxPendingPerSource: 64},
		Store: StoreConfig{Mode: StoreFile},
		Rooms: RoomsConfig{
			Mode:         ModeAdhoc,
			MaxRooms:     10000,
			MaxNameBytes: 64,
			Policy: Policy{
				DeleteWhen:         DeleteLastLeaves,
				MaxParticipants:    1000,
				Nicknames:          true,
				NicknameScope:      ScopeRoom,
				MaxNicknameBytes:   MaxNicknameBytes,
				ReservedNicknames:  []string{},
				NicknameQuarantine: 0,
				PrivateMessages:    true,
				AcceptWrappedTypes: []string{"text/plain", "*"},
				SystemMessages:     true,
				History:            50,
				HistoryMaxAge:      Duration(7 * 24 * time.Hour),
				EmptyGrace:         Duration(24 * time.Hour),
				Guests:             GuestsAllow,
				Watchers:           WatchersAnyone,
				GuestURIs:          GuestURIsAny,
			},
		},
		Limits: LimitsConfig{
			RoomsPerSource:           500,
			RoomsPerIdentity:         50,
			DialogsPerSource:         20000,
			DialogsPerIdentity:       100,
			SubscriptionsPerSource:   20000,
			SubscriptionsPerIdentity: 100,
			SubscriptionsPerRoom:     2000,
			MSRPConnectionsPerSource: 20000,
			Exempt:                   []string{},
			JoinsPerSecond:           20,
			JoinsBurst:               100,
			SubscriptionsPerSecond:   20,
			SubscriptionsBurst:       100,
			MessagesPerSecond:        10,
			MessagesBurst:            50,
			RateExempt:               []string{"127.0.0.0/8", "::1"},
		},
		Log: LogConfig{
			Level:  LevelInfo,
			Format: FormatText,
			Trace:  false,
		},
	}
}

// MaxNicknameBytes is the longest nickname RFC 7701 §7.1 allows, in octets.
const MaxNicknameBytes = 1023
