package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/sdp"
)

// Defaults of the Options fields left zero.
const (
	DefaultTransport = "tcp"
	DefaultLocalAddr = "127.0.0.1:0"
	DefaultTimeout   = 10 * time.Second
	// DefaultMessageBuffer is the capacity of the Messages channel.
	DefaultMessageBuffer = 1024
	// DefaultMaxMessageSize is the largest message we receive (1 MiB).
	DefaultMaxMessageSize = 1 << 20
	// DefaultRosterExpires is the duration of the roster subscription we
	// ask for (RFC 4575 §3.3: 3600 s by default).
	DefaultRosterExpires = time.Hour
	// DefaultRosterBuffer is the capacity of the RosterEvents channel.
	DefaultRosterBuffer = 256
	// DefaultWebSocketPort is the port of the default Options.WebSocketURL:
	// parleyd's HTTPS port (its [https] listen, 8443 by default).
	DefaultWebSocketPort = 8443
)

// defaultAcceptWrappedTypes is what we accept inside message/cpim when
// Options.AcceptWrappedTypes is nil (RFC 7701 §5.2 recommends text/plain).
var defaultAcceptWrappedTypes = []string{"text/plain", "*"}

// lostGrace is how long a Session whose MSRP connection was closed by the
// peer waits for the focus's BYE before it calls the connection lost and
// sends its own BYE. parleyd closes the connection first and sends BYE right
// after, so on that path the end is reported as ErrEndedByFocus.
const lostGrace = time.Second

// unsubscribeGrace is how long an unsubscribe (SUBSCRIBE with Expires: 0)
// answered 2xx waits for the focus's final NOTIFY, so that it is answered
// before our user agent closes (RFC 6665 §4.1.2.3: the notifier sends it).
const unsubscribeGrace = time.Second

// refetchGap is the least time between two refreshes of the roster
// subscription made to recover full state (a version gap, a bad document):
// a notifier that keeps sending what we cannot use is not answered by a
// storm of SUBSCRIBEs. It doubles with each unusable document in a row, up
// to 256 times.
const refetchGap = time.Second

// timerN is how long a subscriber waits for the first NOTIFY after a 2xx
// to its SUBSCRIBE before it considers the subscription failed (RFC 6665
// §4.1.2.4, Timer N = 64*T1).
const timerN = 64 * 500 * time.Millisecond

// Options configure Join. Only From is required.
type Options struct {
	// From is the participant's SIP URI, e.g. "sip:alice@example.com".
	From string
	// DisplayName goes in the From header; optional.
	DisplayName string
	// Password is the password of the server account From names: a
	// request the focus challenges (401, SIP digest, RFC 3261 §22.2) is
	// sent again with credentials for the user part of From, computed with
	// the algorithm the focus offers first among SHA-256 and MD5 (RFC
	// 8760), and later requests answer the same challenge with the next
	// nonce count. Empty: a challenge ends the request (*SIPError 401),
	// as for a guest in a room that admits none.
	Password string
	// Server is the host:port the requests that open a dialog (the INVITE,
	// its CANCEL, the roster's first SUBSCRIBE) are sent to, instead of the
	// host and port of the room URI: the server's address when the room's
	// domain does not lead to it (an outbound proxy, RFC 3261 §8.1.2).
	// In-dialog requests follow the focus's Contact as always. Default: the
	// room URI's host and port (5060 when it has none). Not used with
	// Transport "ws", where WebSocketURL says where the server is.
	Server string
	// Transport is the SIP transport, "udp", "tcp", "tls" or "ws"
	// (case-insensitive). Empty: the room URI's transport parameter when
	// it is "ws", else "tls" for a sips: room URI, else the room URI's
	// transport parameter, else DefaultTransport. A sips: room URI
	// requires "tls" or "ws" (RFC 3261 §26.2). Over TLS (RFC 3261 §26.2.1) the
	// Session opens one TLS connection to the server and keeps it: the
	// INVITE, the roster's SUBSCRIBEs and everything the focus sends (its
	// BYE, the NOTIFYs) travel over it, nothing is listened for, and our
	// Contact is a sips: URI naming that connection's local address. The
	// MSRP stream is then offered as TCP/TLS/MSRP with an msrps: path and
	// the connection to the switch is TLS too (RFC 4975 §14.3).
	//
	// "ws" is SIP over a secure WebSocket (wss, RFC 7118) and MSRP over
	// another (RFC 7977), as a browser does it; a plain ws: WebSocket is
	// never used. The Session opens one WebSocket to WebSocketURL with the
	// subprotocol sip and keeps it: the INVITE, the roster's SUBSCRIBEs
	// and everything the focus sends travel over it (in-dialog requests
	// too, whatever host the focus's Contact names), nothing is listened
	// for, and our Via, Contact and MSRP path name a random .invalid host
	// (RFC 7118 §5, RFC 7977 §5.2.1). The MSRP stream is offered as
	// TCP/TLS/MSRP with an msrps: ;ws path; the Session then opens a
	// second WebSocket, with the subprotocol msrp, to the host and port of
	// the switch's msrps: ;ws URI (WebSocketURL's path), and sends each
	// MSRP message (chunks of at most 2048 octets of body) as one
	// WebSocket message (RFC 7977 §4.2).
	Transport string
	// WebSocketURL is the server's secure WebSocket endpoint used with
	// Transport "ws" (ignored otherwise): a wss: URL, e.g.
	// "wss://chat.example.com:8443/" (parleyd takes / and /ws on its HTTPS
	// port). Without a port, 443. Default: "wss://<room URI host>:8443/"
	// (DefaultWebSocketPort). The server's certificate is verified for the
	// URL's host, with TLS as over "tls". With a path other than "/",
	// sipgo's WSS transport logs through sipgo's package-level logger
	// (sip.SetDefaultLogger), not Logger: it is one of ours, whose logger
	// sipgo does not let us set.
	WebSocketURL string
	// TLS configures the TLS client used when Transport is "tls" or "ws"
	// (ignored otherwise); it is cloned, not modified. nil verifies the
	// server's certificate against the system roots. With ServerName
	// empty, the SIP connection verifies the room URI's host (or, with
	// Server set, still the room URI's host: the domain we mean to reach;
	// over "ws", WebSocketURL's host, as a browser does) and the MSRP
	// connection the host of the switch's msrps: URI. Put the
	// server's certificate or CA in RootCAs to trust a self-signed
	// certificate; InsecureSkipVerify turns verification off, which
	// leaves the connection encrypted but the server unauthenticated.
	TLS *tls.Config
	// LocalAddr is the host:port our SIP user agent listens on, to receive
	// the focus's requests (BYE, the roster's NOTIFYs); not used over
	// "tls" and "ws", which listen for nothing. Default
	// DefaultLocalAddr. Over UDP it listens for TCP on the same port too,
	// when that port is free for TCP (RFC 3261 §18.2.1: a request too large
	// for UDP comes over TCP). Its host, when not a wildcard, is also the
	// address in our Contact, c= and a=path; with a wildcard the address
	// that routes to the room is used.
	LocalAddr string
	// Chatroom is what we declare in a=chatroom (RFC 7701 §8). nil means
	// both capabilities, "a=chatroom:nickname private-messages"; a pointer
	// to the zero value declares a bare "a=chatroom" (chat-room aware,
	// neither capability).
	Chatroom *sdp.Chatroom
	// AcceptWrappedTypes is our a=accept-wrapped-types, each entry a
	// format-list ("text/plain", "text/*", "*"). nil means
	// ["text/plain", "*"]; an empty non-nil slice omits the attribute.
	AcceptWrappedTypes []string
	// Logger receives the library's and sipgo's logs; nil discards them.
	Logger *slog.Logger
	// Timeout bounds each SIP transaction (SUBSCRIBEs included), the MSRP
	// connect and the MSRP bind, each MSRP write, and the wait for the switch's responses to a
	// Send or SetNickname after its last request was written (default
	// DefaultTimeout). The caller's context bounds Join, Leave, Send and
	// SetNickname as a whole.
	Timeout time.Duration

	// Privacy adds "Privacy: id" (RFC 3323 §4.2, RFC 3325 §9.3) to the
	// INVITE: the participant asks the room not to reveal its identity to
	// the other participants. The focus then gives it an anonymous URI,
	// shown to the others, and the switch puts that URI in the CPIM From of
	// the participant's messages; the Session itself keeps sending From as
	// given. The From header stays as given too: the focus needs a routable
	// identity. To hide the identity from the focus as well, set From to
	// "sip:anonymous@anonymous.invalid" and DisplayName to "Anonymous"
	// (RFC 3323 §4.1.1.3) yourself, with or without Privacy.
	Privacy bool
	// MessageBuffer is the capacity of the channel Session.Messages returns
	// (default DefaultMessageBuffer). When it is full, incoming messages
	// are dropped and counted (Session.Dropped): the MSRP read loop never
	// waits for the application.
	MessageBuffer int
	// MaxMessageSize is the largest message, in octets of its CPIM body,
	// that we accept from the switch (default DefaultMaxMessageSize). A
	// larger one is refused with 413 and dropped.
	MaxMessageSize int64

	// NoRoster turns the roster off: the Session does not subscribe to the
	// conference event package (RFC 4575). By default it does, when the
	// focus's 2xx to the INVITE shows it is a focus (isfocus in Contact)
	// that supports the package (conference in Allow-Events), as RFC 4579
	// §3.4 recommends. See Session.Roster.
	NoRoster bool
	// RosterExpires is the subscription duration asked for in the
	// SUBSCRIBE's Expires, rounded up to whole seconds (default
	// DefaultRosterExpires). The focus may grant less; the Session
	// refreshes the subscription before the granted duration runs out.
	RosterExpires time.Duration
	// RosterBuffer is the capacity of the channel Session.RosterEvents
	// returns (default DefaultRosterBuffer). When it is full, events are
	// dropped and counted (Session.RosterDropped); Session.Roster stays
	// right.
	RosterBuffer int

	// Reconnect makes the Session join the room again by itself when it
	// is lost (the MSRP connection drops, the server shuts down), with
	// capped, jittered backoff; see Reconnect for when and how. Off by
	// default: a Session then ends, as it always has, and the application
	// decides. An application that turns it on shows ReconnectEvents and
	// gets ErrReconnecting from Send meanwhile; the Messages and
	// RosterEvents channels keep flowing across reconnections.
	Reconnect Reconnect

	// reconnectAfter and reconnectRand replace time.After and
	// rand.Float64 in the reconnection's waits (white-box tests only).
	reconnectAfter func(time.Duration) <-chan time.Time
	reconnectRand  func() float64

	// lostGrace overrides lostGrace (white-box tests only).
	lostGrace time.Duration
	// unsubscribeGrace, refetchGap and timerN override the constants of
	// the same names (white-box tests only).
	unsubscribeGrace time.Duration
	refetchGap       time.Duration
	timerN           time.Duration
}

// settings is Options checked and completed.
type settings struct {
	from      sip.Uri
	fromURI   string       // Options.From as given: our CPIM From
	password  string       // Options.Password
	creds     *credentials // made from From and Password; nil without a password
	server    string       // Options.Server, "" for the room URI's host:port
	display   string
	transport string      // "UDP", "TCP", "TLS" or "WSS", as sipgo spells it
	tls       *tls.Config // over TLS and WSS: Options.TLS cloned, or a fresh config; nil otherwise
	roomHost  string      // the room URI's host, without brackets: the default ServerName
	sips      bool        // the room URI is a sips: URI
	wsURL     *url.URL    // over WSS: Options.WebSocketURL (or its default), with an explicit port
	localAddr string
	chatroom  sdp.Chatroom
	wrapped   sdp.FormatList
	log       *slog.Logger
	timeout   time.Duration
	lostGrace time.Duration

	privacy    bool
	msgBuffer  int
	maxMessage int64

	roster           bool   // subscribe to the conference event package when offered
	rosterExpires    uint32 // seconds, ≥ 1
	rosterBuffer     int
	unsubscribeGrace time.Duration
	refetchGap       time.Duration
	timerN           time.Duration

	reconnect reconnectPolicy
}

// errOptions wraps every Options validation error.
var errOptions = errors.New("client: invalid options")

// webSocketURL checks Options.WebSocketURL, or makes the default one for
// room, and gives it an explicit port (443 when it has none).
func webSocketURL(raw string, room sip.Uri) (*url.URL, error) {
	if raw == "" {
		raw = "wss://" + net.JoinHostPort(strings.Trim(room.Host, "[]"), strconv.Itoa(DefaultWebSocketPort)) + "/"
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: WebSocketURL: %v", errOptions, err)
	case !strings.EqualFold(u.Scheme, "wss"):
		return nil, fmt.Errorf("%w: WebSocketURL %q: want a wss: URL (SIP and MSRP over WebSocket go over TLS only)", errOptions, raw)
	case u.Hostname() == "" || u.User != nil || u.Fragment != "" || u.Opaque != "":
		return nil, fmt.Errorf("%w: WebSocketURL %q: want wss://host[:port][/path]", errOptions, raw)
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("%w: WebSocketURL %q: bad port", errOptions, raw)
	}
	u.Scheme = "wss"
	u.Host = net.JoinHostPort(u.Hostname(), port)
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// resolve checks o and fills in the defaults. room supplies the transport
// when o.Transport is empty.
func (o Options) resolve(room sip.Uri) (settings, error) {
	c := settings{display: o.DisplayName, password: o.Password, log: o.Logger, timeout: o.Timeout, localAddr: o.LocalAddr, lostGrace: o.lostGrace,
		fromURI: o.From, privacy: o.Privacy, msgBuffer: o.MessageBuffer, maxMessage: o.MaxMessageSize,
		roster: !o.NoRoster, rosterBuffer: o.RosterBuffer, unsubscribeGrace: o.unsubscribeGrace, refetchGap: o.refetchGap,
		timerN: o.timerN}
	if o.From == "" {
		return c, fmt.Errorf("%w: From is required", errOptions)
	}
	if err := sip.ParseUri(o.From, &c.from); err != nil || (c.from.Scheme != "sip" && c.from.Scheme != "sips") || c.from.Host == "" {
		return c, fmt.Errorf("%w: From %q is not a SIP URI", errOptions, o.From)
	}
	c.creds = newCredentials(c.from, o.Password)
	if !cpimURI(o.From) {
		return c, fmt.Errorf("%w: From %q cannot go in a CPIM From header", errOptions, o.From)
	}
	if o.Server != "" {
		if h, p, err := net.SplitHostPort(o.Server); err != nil || h == "" || p == "" {
			return c, fmt.Errorf("%w: Server %q is not host:port", errOptions, o.Server)
		}
		c.server = o.Server
	}
	c.sips = room.Scheme == "sips"
	t := o.Transport
	if t == "" && room.UriParams != nil {
		t, _ = room.UriParams.Get("transport")
		if room.Scheme == "sips" && !strings.EqualFold(t, "ws") {
			t = "" // sips: means TLS, unless it says ws (RFC 7118 §7)
		}
	}
	if t == "" && room.Scheme == "sips" {
		t = "tls"
	}
	if t == "" {
		t = DefaultTransport
	}
	switch strings.ToLower(t) {
	case "udp":
		c.transport = "UDP"
	case "tcp":
		c.transport = "TCP"
	case "tls":
		c.transport = "TLS"
	case "ws":
		c.transport = "WSS"
	default:
		return c, fmt.Errorf("%w: transport %q (want udp, tcp, tls or ws)", errOptions, t)
	}
	if room.Scheme == "sips" && c.transport != "TLS" && c.transport != "WSS" {
		return c, fmt.Errorf("%w: a sips: room URI needs transport tls or ws, not %s (RFC 3261 §26.2)", errOptions, strings.ToLower(t))
	}
	if c.transport == "WSS" {
		if c.server != "" {
			return c, fmt.Errorf("%w: Server is not used over ws: set WebSocketURL", errOptions)
		}
		u, err := webSocketURL(o.WebSocketURL, room)
		if err != nil {
			return c, err
		}
		c.wsURL = u
	}
	if c.transport == "TLS" || c.transport == "WSS" {
		if o.TLS != nil {
			c.tls = o.TLS.Clone()
		} else {
			c.tls = &tls.Config{}
		}
		if c.tls.MinVersion == 0 {
			c.tls.MinVersion = tls.VersionTLS12
		}
		c.roomHost = strings.Trim(room.Host, "[]")
	}
	if c.localAddr == "" {
		c.localAddr = DefaultLocalAddr
	}
	if _, _, err := net.SplitHostPort(c.localAddr); err != nil {
		return c, fmt.Errorf("%w: LocalAddr: %v", errOptions, err)
	}
	c.chatroom = sdp.Chatroom{Nickname: true, PrivateMessages: true}
	if o.Chatroom != nil {
		c.chatroom = *o.Chatroom
	}
	wrapped := o.AcceptWrappedTypes
	if wrapped == nil {
		wrapped = defaultAcceptWrappedTypes
	}
	for _, w := range wrapped {
		l, err := sdp.ParseFormatList(w)
		if err != nil {
			return c, fmt.Errorf("%w: AcceptWrappedTypes: %v", errOptions, err)
		}
		c.wrapped = append(c.wrapped, l...)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.msgBuffer <= 0 {
		c.msgBuffer = DefaultMessageBuffer
	}
	if c.maxMessage <= 0 {
		c.maxMessage = DefaultMaxMessageSize
	}
	if c.lostGrace <= 0 {
		c.lostGrace = min(lostGrace, c.timeout)
	}
	exp := o.RosterExpires
	if exp <= 0 {
		exp = DefaultRosterExpires
	}
	c.rosterExpires = uint32(min((exp+time.Second-1)/time.Second, math.MaxUint32))
	if c.rosterBuffer <= 0 {
		c.rosterBuffer = DefaultRosterBuffer
	}
	if c.unsubscribeGrace <= 0 {
		c.unsubscribeGrace = min(unsubscribeGrace, c.timeout)
	}
	if c.refetchGap <= 0 {
		c.refetchGap = refetchGap
	}
	if c.timerN <= 0 {
		c.timerN = timerN
	}
	rp, err := o.Reconnect.resolve()
	if err != nil {
		return c, err
	}
	if o.reconnectAfter != nil {
		rp.after = o.reconnectAfter
	}
	if o.reconnectRand != nil {
		rp.rand = o.reconnectRand
	}
	c.reconnect = rp
	return c, nil
}
