package config

import (
	"log/slog"
	"strings"
)

// Config is parleyd's whole configuration. Every field has a TOML key (the
// toml tag); tables group the keys by concern. Default returns the values
// used for keys that neither the file nor a flag sets.
type Config struct {
	Server   ServerConfig   `toml:"server"`
	SIP      SIPConfig      `toml:"sip"`
	MSRP     MSRPConfig     `toml:"msrp"`
	TLS      TLSConfig      `toml:"tls"`
	HTTPS    HTTPSConfig    `toml:"https"`
	Store    StoreConfig    `toml:"store"`
	Rooms    RoomsConfig    `toml:"rooms"`
	Room     []RoomConfig   `toml:"room"` // [[room]]: configured rooms
	Limits   LimitsConfig   `toml:"limits"`
	Accounts AccountsConfig `toml:"accounts"`
	Log      LogConfig      `toml:"log"`
	Admin    AdminConfig    `toml:"admin"`

	// source is the file the configuration was read from ("" for the
	// embedded defaults), and flags the command-line flags that set keys
	// (flag name → value): Reread reads the file again and applies them
	// over it again.
	source string
	flags  map[string]string

	// rooms indexes Room by name; filled by Load, Parse and FromArgs once
	// the configuration is valid, nil otherwise (FindRoom then scans).
	rooms map[string]int
}

// ServerConfig is the [server] table.
type ServerConfig struct {
	// Host is the public host name or IP address put in the SIP and MSRP
	// URIs the server hands out (sip:<room>@<host>, msrp://<host>:<port>/…).
	Host string `toml:"host"`
	// Aliases are the other host names and addresses clients may reach
	// this server by: a room URI at any of them (sip:<room>@<alias>) is
	// the same room as at Host, which stays the room's canonical URI
	// (issue 19).
	Aliases []string `toml:"aliases"`
	// ShutdownTimeout bounds a graceful shutdown (BYE to every participant).
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// DataDir is where parleyd keeps its state: for now the self-signed
	// certificate made when TLS is on and [tls] names none. A relative
	// path is relative to the working directory.
	DataDir string `toml:"data_dir"`
}

// SIPConfig is the [sip] table. An address is host:port as accepted by
// net.Listen; port 0 picks a free port; "" disables the transport.
type SIPConfig struct {
	UDP string `toml:"udp"`
	TCP string `toml:"tcp"`
	TLS string `toml:"tls"` // SIP over TLS (RFC 3261 §26.2: sips, transport=tls; 5061 by default)

	// The conference event package (RFC 4575, RFC 6665).
	SubscriptionExpires    Duration `toml:"subscription_expires"`     // granted when a SUBSCRIBE asks for more or says nothing
	MinSubscriptionExpires Duration `toml:"min_subscription_expires"` // shorter requests are answered 423
	NotifyInterval         Duration `toml:"notify_interval"`          // least time between two NOTIFYs to one subscriber

	// Partial and idle input on SIP TCP connections.
	MessageTimeout Duration `toml:"message_timeout"` // a message begun on a stream must end within this
	IdleTimeout    Duration `toml:"idle_timeout"`    // a connection that carries no dialog and sends nothing is closed after this

	// DigestAlgorithms are the digest algorithms a challenge offers, most
	// preferred first (RFC 8760 §2.3): "SHA-256", "MD5".
	DigestAlgorithms []string `toml:"digest_algorithms"`
	// TrustedProxies are the sources (addresses or CIDR prefixes, or the
	// names of their TLS client certificates) whose P-Asserted-Identity is
	// believed (RFC 3325): an IMS or RCS core that authenticated the user.
	// From anyone else it is ignored.
	TrustedProxies []string `toml:"trusted_proxies"`
}

// MSRPConfig is the [msrp] table: the MSRP switch's listener and limits.
type MSRPConfig struct {
	Listen            string   `toml:"listen"`             // TCP host:port; port 0 picks a free port
	TLSListen         string   `toml:"tls_listen"`         // MSRP over TLS (msrps, RFC 4975 §14.3); "" disables
	BindTimeout       Duration `toml:"bind_timeout"`       // an unbound session's dialog is ended after this
	MaxChunk          ByteSize `toml:"max_chunk"`          // largest body of one chunk
	MaxMessage        ByteSize `toml:"max_message"`        // largest whole message (413 above)
	MaxHeaderBytes    ByteSize `toml:"max_header_bytes"`   // start line + header section
	MaxPending        ByteSize `toml:"max_pending"`        // outbound queue cap per connection
	WriteTimeout      Duration `toml:"write_timeout"`      // deadline of one batched write
	CoalesceDelay     Duration `toml:"coalesce_delay"`     // a fan-out copy waits this long for others to share its write (0: none)
	ChunkTimeout      Duration `toml:"chunk_timeout"`      // RFC 7701 §6.1 chunk reception timer
	CongestionTimeout Duration `toml:"congestion_timeout"` // a connection congested this long is closed (RFC 7701 §6.4)

	// What one sender or connection may hold at once.
	ProgressTimeout     Duration `toml:"progress_timeout"`       // a chunk begun must end within this, or the connection is closed
	MaxUnfinished       int      `toml:"max_unfinished"`         // chunked messages one sender may have in progress (413 beyond)
	MaxUnfinishedBytes  ByteSize `toml:"max_unfinished_bytes"`   // bytes those messages may hold together (413 beyond)
	MaxSessionsPerConn  int      `toml:"max_sessions_per_conn"`  // MSRP sessions bound on one connection
	MaxUnboundPerSource int      `toml:"max_unbound_per_source"` // connections from one IP address not bound yet (limits.exempt: none)
}

// TLSConfig is the [tls] table: the certificate of the SIP and MSRP TLS
// listeners, PEM files reloaded on SIGHUP. Both empty: a self-signed
// certificate kept in server.data_dir.
type TLSConfig struct {
	Cert string `toml:"cert"` // certificate chain, leaf first
	Key  string `toml:"key"`  // its private key
	// ClientCA is a PEM file of the roots that client certificates of
	// trusted proxies (sip.trusted_proxies by name) must chain to; "" for
	// the system's roots.
	ClientCA string `toml:"client_ca"`
}

// StoreConfig is the [store] table: where rooms and their history are kept
// (issue 16), on NATS JetStream.
type StoreConfig struct {
	// Mode is StoreFile (an embedded NATS server on disk in
	// server.data_dir) or StoreMemory (the same, in memory only).
	Mode StoreMode `toml:"mode"`
	// URL, when set, names an external NATS server or cluster with
	// JetStream to use instead of the embedded one.
	URL string `toml:"url"`
}

// StoreMode says where the embedded store keeps its data.
type StoreMode string

// Store modes.
const (
	StoreFile   StoreMode = "file"
	StoreMemory StoreMode = "memory"
)

// HTTPSConfig is the [https] table: the one HTTPS port of browsers and
// other WebSocket clients (issue 15). Upgrades are told apart by their
// WebSocket subprotocol, not by port: msrp (RFC 7977) goes to the MSRP
// switch, sip (RFC 7118) to the SIP stack. The certificate is [tls]'s.
type HTTPSConfig struct {
	// Listen is the TCP address of the HTTPS listener; "" disables it.
	Listen string `toml:"listen"`
	// Origins are the Origins (RFC 6454: "https://host[:port]") whose
	// pages may open a WebSocket; others are answered 403. Empty: the
	// Origin's host must be the request's Host (the page came from this
	// server). A request without Origin (not from a browser) is allowed.
	Origins []string `toml:"origins"`
	// MaxPendingPerSource caps the connections one source (source.Key)
	// holds before they are upgraded to a WebSocket; limits.exempt
	// sources are not capped.
	MaxPendingPerSource int `toml:"max_pending_per_source"`
}

// UsesTLS reports whether a TLS listener is enabled (sip.tls,
// msrp.tls_listen or https.listen), and so whether parleyd needs a
// certificate.
func (c *Config) UsesTLS() bool {
	return c.SIP.TLS != "" || c.MSRP.TLSListen != "" || c.HTTPS.Listen != ""
}

// RoomMode says which rooms exist.
type RoomMode string

// Room modes.
const (
	ModeAdhoc      RoomMode = "adhoc"      // the first INVITE to a room creates it
	ModeConfigured RoomMode = "configured" // only [[room]] entries exist; others get 404
)

// RoomsConfig is the [rooms] table: room-wide limits and the policy of
// every room a [[room]] entry does not override.
type RoomsConfig struct {
	Mode         RoomMode `toml:"mode"`
	MaxRooms     int      `toml:"max_rooms"`
	MaxNameBytes int      `toml:"max_name_bytes"` // longest room name (user part of its URI), in bytes
	// CaseSensitiveNames makes room names compare exactly, as the user
	// parts of SIP URIs do (RFC 3261 §19.1.4); by default they compare
	// case-insensitively (issue 19): sip:Lobby@… is sip:lobby@….
	CaseSensitiveNames bool `toml:"case_sensitive_names"`
	Policy                  // the policy keys sit directly in [rooms]
}

// RoomConfig is one [[room]] entry: a configured room and the policy keys
// it overrides.
type RoomConfig struct {
	// Name is the user part of the room's URI, sip:<name>@<server.host>.
	Name string `toml:"name"`
	// Subject is the room's subject, shown to participants.
	Subject        string `toml:"subject"`
	PolicyOverride        // the override keys sit directly in [[room]]
}

// LimitsConfig is the [limits] table: what one source (IP address) or one
// identity (the From URI of a request, without its parameters) may hold at
// once, so that nobody can use up a server-wide limit or another's share;
// going over is answered 503 with Retry-After (RFC 3261 §21.5.4). And how
// fast one source may join and subscribe (503 with Retry-After beyond) and
// one participant send (MSRP 403 beyond) (issue 17).
type LimitsConfig struct {
	RoomsPerSource           int `toml:"rooms_per_source"`            // ad hoc rooms created by one source that still exist
	RoomsPerIdentity         int `toml:"rooms_per_identity"`          // the same per identity
	DialogsPerSource         int `toml:"dialogs_per_source"`          // participant dialogs (joins) of one source
	DialogsPerIdentity       int `toml:"dialogs_per_identity"`        // the same per identity
	SubscriptionsPerSource   int `toml:"subscriptions_per_source"`    // conference subscriptions of one source
	SubscriptionsPerIdentity int `toml:"subscriptions_per_identity"`  // the same per identity
	SubscriptionsPerRoom     int `toml:"subscriptions_per_room"`      // subscriptions to one room, from everyone
	MSRPConnectionsPerSource int `toml:"msrp_connections_per_source"` // MSRP connections of one source, bound or not
	// Exempt lists the sources (CIDR prefixes or addresses) the per-source
	// limits do not apply to: a SIP proxy or gateway that carries many
	// users from one address. The rates do not apply to them either.
	Exempt []string `toml:"exempt"`

	// Rates: new joins (INVITE outside a dialog) and new subscriptions
	// (SUBSCRIBE outside a dialog) one source may start per second on
	// average, and at once (the burst); messages (counted at their first
	// chunk) one participant may start per second and at once. 0: no
	// limit.
	JoinsPerSecond         int `toml:"joins_per_second"`
	JoinsBurst             int `toml:"joins_burst"`
	SubscriptionsPerSecond int `toml:"subscriptions_per_second"`
	SubscriptionsBurst     int `toml:"subscriptions_burst"`
	MessagesPerSecond      int `toml:"messages_per_second"`
	MessagesBurst          int `toml:"messages_burst"`
	// RateExempt lists the sources the rates do not apply to (for
	// messages: a participant whose MSRP connection comes from one).
	RateExempt []string `toml:"rate_exempt"`
}

// AdminConfig is the [admin] table: the admin listener (issue 18,
// docs/ADMIN.md): metrics, health, the admin API and pprof.
type AdminConfig struct {
	// Listen is its address; "" turns it off. On a loopback address it is
	// plain HTTP; elsewhere HTTPS with the server's certificate, and a
	// token is required.
	Listen string `toml:"listen"`
	// Token is the bearer token every request but /healthz and /readyz
	// must carry ("": none; required off loopback).
	Token string `toml:"token"`
	// TokenFile is a file holding the token (its first line); it wins over
	// Token.
	TokenFile string `toml:"token_file"`
}

// LogConfig is the [log] table.
type LogConfig struct {
	Level  string `toml:"level"`  // debug, info, warn or error
	Format string `toml:"format"` // text or json
	Trace  bool   `toml:"trace"`  // log raw SIP and MSRP traffic at debug level
}

// Log levels and formats.
const (
	LevelDebug = "debug"
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"

	FormatText = "text"
	FormatJSON = "json"
)

// SlogLevel returns Level as a slog.Level; an unknown level (which
// Validate rejects) is slog.LevelInfo.
func (l LogConfig) SlogLevel() slog.Level {
	switch l.Level {
	case LevelDebug:
		return slog.LevelDebug
	case LevelWarn:
		return slog.LevelWarn
	case LevelError:
		return slog.LevelError
	}
	return slog.LevelInfo
}

// FindRoom returns the [[room]] entry called name, or nil. Names compare
// as RoomKey says. A Config returned by Load, Parse or FromArgs answers
// from an index; treat it as read-only.
func (c *Config) FindRoom(name string) *RoomConfig {
	key := c.RoomKey(name)
	if c.rooms != nil {
		i, ok := c.rooms[key]
		if !ok {
			return nil
		}
		if i < len(c.Room) && c.RoomKey(c.Room[i].Name) == key {
			return &c.Room[i]
		}
	}
	for i := range c.Room {
		if c.RoomKey(c.Room[i].Name) == key {
			return &c.Room[i]
		}
	}
	return nil
}

// RoomKey is what room names compare by: the name itself with
// rooms.case_sensitive_names, else its lower case (issue 19: a room is
// one room however its URI is capitalised). RFC 3261 §19.1.4 compares the
// user parts of SIP URIs exactly; a focus may still treat URIs that differ
// only in case as one resource, which is what users expect of room names.
func (c *Config) RoomKey(name string) string {
	if c.Rooms.CaseSensitiveNames {
		return name
	}
	return strings.ToLower(name)
}

// CanonicalRoomName is the name of the room name refers to: a configured
// room's own name, else name itself.
func (c *Config) CanonicalRoomName(name string) string {
	if r := c.FindRoom(name); r != nil {
		return r.Name
	}
	return name
}

// index builds the room index FindRoom uses. Called on a valid
// configuration only, before it is shared.
func (c *Config) index() {
	if len(c.Room) == 0 {
		c.rooms = nil
		return
	}
	c.rooms = make(map[string]int, len(c.Room))
	for i, r := range c.Room {
		c.rooms[c.RoomKey(r.Name)] = i
	}
}

// MSRPLimits are the size limits of the MSRP switch, in the units the msrp
// package and the relay use.
type MSRPLimits struct {
	MaxHeaderBytes int   // msrp.Limits.MaxHeaderBytes
	MaxChunk       int   // msrp.Limits.MaxChunk
	MaxMessage     int64 // largest message, all chunks together (413 above)
	MaxPending     int64 // bytes queued for one connection before it is closed
}

// MSRPLimits returns the [msrp] size limits.
func (c *Config) MSRPLimits() MSRPLimits {
	return MSRPLimits{
		MaxHeaderBytes: int(c.MSRP.MaxHeaderBytes),
		MaxChunk:       int(c.MSRP.MaxChunk),
		MaxMessage:     int64(c.MSRP.MaxMessage),
		MaxPending:     int64(c.MSRP.MaxPending),
	}
}
