package relay

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/parley-im/parley/internal/netpark"
	"github.com/parley-im/parley/msrp"
)

// Defaults for the zero fields of Config.
const (
	DefaultAddr              = "127.0.0.1:2855"
	DefaultBindTimeout       = 30 * time.Second
	DefaultMaxPendingBytes   = 4 << 20
	DefaultWriteTimeout      = 10 * time.Second
	DefaultCongestionTimeout = 60 * time.Second
	// DefaultProgressTimeout: a message whose first octets have arrived
	// must be complete within this (issue 14: slowloris).
	DefaultProgressTimeout = 30 * time.Second
	// DefaultMaxSessionsPerConn caps the sessions bound on one connection.
	DefaultMaxSessionsPerConn = 64
	// DefaultMaxUnboundPerSource caps the connections one IP address may
	// hold open without having bound a session.
	DefaultMaxUnboundPerSource = 256
	// DefaultMaxConnsPerSource caps the connections one IP address may
	// hold open, bound or not.
	DefaultMaxConnsPerSource = 20_000
)

// Config configures a Server. The zero value is usable; withDefaults fills
// the zero fields, in this one place.
type Config struct {
	// Addr is the TCP address to listen on (default DefaultAddr). Port 0
	// picks a free port; Server.Addr reports it after Listen.
	Addr string
	// TLSAddr is the TCP address of the msrps listener (RFC 4975 §14.3:
	// MSRP over TLS); "" means none. It needs TLS. Port 0 picks a free port.
	TLSAddr string
	// TLS is the TLS server configuration of the msrps listener (its
	// certificate, reloaded per handshake by internal/certs).
	TLS *tls.Config
	// WSPort is the port of the HTTP(S) listener whose handler calls
	// Server.ServeWebSocket (RFC 7977: MSRP over WebSocket), for the ;ws
	// URIs the server hands out; 0 means none: NewSession refuses a peer
	// whose URI is ;ws (ErrNoWebSocket). The relay does not listen on it.
	WSPort int
	// WSSecure says that listener is HTTPS (wss): ;ws sessions get msrps
	// URIs and bind only over a WebSocket whose request came over TLS.
	WSSecure bool
	// WSCheckOrigin decides whether a WebSocket upgrade's Origin is
	// allowed (the caller's list, issue 15); false refuses it with 403.
	// nil leaves the check to github.com/coder/websocket's default: the
	// Origin's host must be the request's Host.
	WSCheckOrigin func(r *http.Request) bool
	// Host is the host part of the MSRP URIs the server hands out. Empty
	// means the listener's IP address, which must then not be unspecified
	// (0.0.0.0 or ::): Listen fails rather than advertise it.
	Host string
	// BindTimeout bounds the time from NewSession to the peer's first
	// request for the session (CloseBindTimeout), and the time a new
	// connection may stay without binding any session (default 30 s).
	BindTimeout time.Duration
	// MaxPendingBytes caps each connection's queued, not yet written output;
	// going over it closes the connection with CloseSlowConsumer (default 4 MiB).
	MaxPendingBytes int
	// CongestedBytes is the pending output above which a connection is
	// congested (RFC 7701 §6.4): Session.Offer drops what it is given
	// (ErrCongested) until the queue drains to half of it. Default 80 % of
	// MaxPendingBytes, as RFC 7701 §6.4 suggests.
	CongestedBytes int
	// CongestionTimeout is how long a connection may stay congested before
	// it is closed with CloseCongested (default 60 s).
	CongestionTimeout time.Duration
	// WriteTimeout is the deadline for writing one batch of queued output;
	// missing it closes the connection with CloseWriteTimeout (default 10 s).
	WriteTimeout time.Duration
	// IdleSweep is how often the output buffers of connections that have
	// been idle since the previous sweep are released (ReleaseIdle;
	// default DefaultIdleSweep).
	IdleSweep time.Duration
	// CoalesceDelay is how long a fan-out copy that finds its connection's
	// writer stopped waits for others to join it in one writev (the
	// pacer; default DefaultCoalesceDelay; negative: write at once).
	CoalesceDelay time.Duration
	// ProgressTimeout bounds the time one message may take to arrive on a
	// bound connection, from the moment the read loop first has to wait for
	// more of it (a chunk begun must end); missing it closes the connection
	// with CloseStalled (default DefaultProgressTimeout). A connection that
	// has bound nothing is bounded by BindTimeout instead.
	ProgressTimeout time.Duration
	// MaxSessionsPerConn caps the sessions bound to one connection: the
	// request that would bind one more is answered 403 (default
	// DefaultMaxSessionsPerConn).
	MaxSessionsPerConn int
	// MaxUnboundPerSource caps the accepted connections from one IP address
	// that have not bound a session yet: one more is closed at once with
	// CloseSourceLimit (default DefaultMaxUnboundPerSource).
	MaxUnboundPerSource int
	// MaxConnsPerSource caps the connections from one IP address, bound or
	// not: one more is closed at once with CloseConnLimit (default
	// DefaultMaxConnsPerSource).
	MaxConnsPerSource int
	// Exempt sources are held to neither MaxUnboundPerSource nor
	// MaxConnsPerSource: an MSRP relay or gateway carrying many users.
	Exempt []netip.Prefix
	// Limits bound what each connection's msrp.Reader accepts (zero fields:
	// msrp.DefaultLimits).
	Limits msrp.Limits
	// Parker, if set, holds the read loops of idle connections with no
	// goroutine (park.go); nil: each waits on a goroutine of its own. The
	// caller owns it and closes it after Shutdown.
	Parker *netpark.Parker
	// ParkTick is how often, with a Parker, read loops waiting for input
	// are looked at: one waiting since the previous look parks (default
	// DefaultParkTick; negative: never, for tests that drive it).
	ParkTick time.Duration
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// Trace logs every MSRP message read and every batch written, raw, at
	// debug level (also switchable at run time with Server.SetTrace).
	Trace bool
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.BindTimeout <= 0 {
		c.BindTimeout = DefaultBindTimeout
	}
	if c.MaxPendingBytes <= 0 {
		c.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if c.CongestedBytes <= 0 || c.CongestedBytes > c.MaxPendingBytes {
		c.CongestedBytes = c.MaxPendingBytes / 5 * 4
	}
	if c.CongestionTimeout <= 0 {
		c.CongestionTimeout = DefaultCongestionTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.ProgressTimeout <= 0 {
		c.ProgressTimeout = DefaultProgressTimeout
	}
	if c.MaxSessionsPerConn <= 0 {
		c.MaxSessionsPerConn = DefaultMaxSessionsPerConn
	}
	if c.MaxUnboundPerSource <= 0 {
		c.MaxUnboundPerSource = DefaultMaxUnboundPerSource
	}
	if c.MaxConnsPerSource <= 0 {
		c.MaxConnsPerSource = DefaultMaxConnsPerSource
	}
	if c.ParkTick == 0 {
		c.ParkTick = DefaultParkTick
	}
	if c.IdleSweep <= 0 {
		c.IdleSweep = DefaultIdleSweep
	}
	if c.CoalesceDelay == 0 {
		c.CoalesceDelay = DefaultCoalesceDelay
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
