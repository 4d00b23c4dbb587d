package server

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/internal/source"
)

// The HTTPS listener (issue 15): one port for browsers and every other
// WebSocket client, told apart by the WebSocket subprotocol they ask for,
// not by port (a browser that accepted a certificate for one port would
// not silently accept another). It is owned by the Server: bound in New,
// served by a loop in serve, shut down in Shutdown.
const (
	// httpsHeaderTimeout bounds the TLS handshake and the request header
	// of every HTTPS connection (net/http applies it to both).
	httpsHeaderTimeout = 10 * time.Second
	// httpsIdleTimeout closes a keep-alive connection that asks nothing.
	httpsIdleTimeout = 60 * time.Second
	// httpsMaxHeader bounds a request header.
	httpsMaxHeader = 16 << 10
	// httpsShutdownGrace is how long Shutdown lets requests in progress
	// (an upgrade being answered) finish before it closes what is left:
	// connections still in their handshake or header.
	httpsShutdownGrace = 500 * time.Millisecond
)

// WebSocket subprotocols (IANA WebSocket Subprotocol Name Registry).
const (
	subprotocolMSRP = relay.Subprotocol // RFC 7977
	subprotocolSIP  = "sip"             // RFC 7118
)

// httpsRouter routes the requests of the HTTPS listener: WebSocket
// upgrades on / and /ws by subprotocol — msrp to the MSRP relay (RFC
// 7977), sip to the SIP stack (RFC 7118, sipws.go), none or another 400 —
// after the Origin check (403). A client offering both gets msrp. The
// browser client's page will live at /; for now a plain GET is 404.
type httpsRouter struct {
	msrp    http.Handler // the relay's ServeWebSocket
	sip     http.Handler // Server.serveSIPWebSocket
	origins originCheck
}

func (h *httpsRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" && r.URL.Path != "/ws" {
		http.NotFound(w, r)
		return
	}
	if !isWebSocketUpgrade(r) {
		if r.URL.Path == "/ws" {
			w.Header().Set("Upgrade", "websocket")
			http.Error(w, "a WebSocket upgrade is expected here (subprotocol msrp or sip)", http.StatusUpgradeRequired)
			return
		}
		http.NotFound(w, r) // the browser client's page, later
		return
	}
	if !h.origins.allowed(r) {
		http.Error(w, "Origin not allowed", http.StatusForbidden)
		return
	}
	switch {
	case offersSubprotocol(r, subprotocolMSRP):
		h.msrp.ServeHTTP(w, r)
	case offersSubprotocol(r, subprotocolSIP):
		h.sip.ServeHTTP(w, r)
	default:
		http.Error(w, "WebSocket subprotocol msrp (RFC 7977) or sip (RFC 7118) required", http.StatusBadRequest)
	}
}

// isWebSocketUpgrade reports whether r asks for a WebSocket (RFC 6455
// §4.1: a GET with Upgrade: websocket and Connection: Upgrade).
func isWebSocketUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet && headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

// offersSubprotocol reports whether r offers proto in
// Sec-WebSocket-Protocol (a comma-separated list, possibly in several
// fields; subprotocol names compare exactly, RFC 6455 §4.1).
func offersSubprotocol(r *http.Request, proto string) bool {
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(p) == proto {
				return true
			}
		}
	}
	return false
}

// headerHasToken reports whether a comma-separated header field holds
// token, case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// originCheck decides whether a WebSocket upgrade's Origin (RFC 6454,
// sent by browsers) may open a WebSocket: one of https.origins, or, with
// none configured, a page of this very server (https, the Origin's host
// and port the request's Host). A request without Origin does not come
// from a browser page and passes: Origin protects browsers' users from
// other sites' scripts (RFC 6455 §10.2), not the server from clients.
type originCheck struct {
	allow map[string]bool // normalized origins; nil: same host
}

func newOriginCheck(origins []string) originCheck {
	if len(origins) == 0 {
		return originCheck{}
	}
	allow := make(map[string]bool, len(origins))
	for _, o := range origins {
		if n, err := config.ParseOrigin(o); err == nil { // validated with the configuration
			allow[n] = true
		}
	}
	return originCheck{allow: allow}
}

func (c originCheck) allowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if c.allow != nil {
		n, err := config.ParseOrigin(origin)
		return err == nil && c.allow[n]
	}
	u, err := url.Parse(origin)
	return err == nil && u.Scheme == "https" && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// newHTTPSServer is the HTTPS server of the listener: HTTP/1.1 only (a
// WebSocket upgrade is an HTTP/1.1 request; no h2 in ALPN), the
// certificate of the other TLS listeners, the handshake and the request
// header bounded by headerTimeout (httpsHeaderTimeout but in tests). Its error log (handshakes that
// fail, mostly) goes to log at debug level.
func newHTTPSServer(h http.Handler, tlsCfg *tls.Config, pending *pendingLimit, headerTimeout time.Duration, log *slog.Logger) *http.Server {
	return &http.Server{
		ConnState:         pending.connState,
		Handler:           h,
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       httpsIdleTimeout,
		MaxHeaderBytes:    httpsMaxHeader,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		// An empty map turns HTTP/2 off (net/http's documented switch).
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
}

// pendingLimit caps per source (source.Key) the HTTPS connections that
// are not a WebSocket yet: in their TLS handshake, sending a request
// header, or idle between requests. net/http bounds each in time (the
// header timeout, the idle timeout); this bounds how many one address may
// hold at once (https.max_pending_per_source). A connection is counted
// from Accept until it is hijacked (upgraded: from then on it is the
// relay's or the SIP stack's, with their own limits) or closed.
type pendingLimit struct {
	max     int
	exempt  []netip.Prefix
	log     *slog.Logger // rate-limited
	mu      sync.Mutex
	n       map[netip.Addr]int
	refused atomic.Uint64
}

func newPendingLimit(max int, exempt []netip.Prefix, log *slog.Logger) *pendingLimit {
	return &pendingLimit{max: max, exempt: exempt, log: log, n: make(map[netip.Addr]int)}
}

// key is what c counts against, and false for an exempt source or an
// address that is not IP (counted nowhere).
func (p *pendingLimit) key(a net.Addr) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}, false
	}
	ip := ap.Addr().Unmap()
	for _, e := range p.exempt {
		if e.Contains(ip) {
			return netip.Addr{}, false
		}
	}
	return source.Key(ip), true
}

func (p *pendingLimit) admit(a net.Addr) bool {
	k, ok := p.key(a)
	if !ok {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n[k] >= p.max {
		return false
	}
	p.n[k]++
	return true
}

func (p *pendingLimit) release(a net.Addr) {
	k, ok := p.key(a)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n[k] <= 1 {
		delete(p.n, k)
	} else {
		p.n[k]--
	}
}

// connState is the http.Server's ConnState hook: a connection leaves the
// count once hijacked or closed (net/http reports exactly one of the two
// for every connection it reported new).
func (p *pendingLimit) connState(c net.Conn, st http.ConnState) {
	if st == http.StateHijacked || st == http.StateClosed {
		p.release(c.RemoteAddr())
	}
}

// pendingListener closes at once a connection over its source's cap.
type pendingListener struct {
	net.Listener
	p *pendingLimit
}

func (l *pendingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.p.admit(c.RemoteAddr()) {
			return c, nil
		}
		l.p.refused.Add(1)
		l.p.log.Info("HTTPS connection over https.max_pending_per_source closed", "limit", l.p.max, "peer", addrString(c.RemoteAddr()))
		c.Close()
	}
}

// HTTPSStats counts what the HTTPS listener refused.
type HTTPSStats struct {
	// PendingRefused counts connections closed at once because their
	// source held https.max_pending_per_source connections not yet
	// upgraded.
	PendingRefused uint64
}

// HTTPSStats returns what the HTTPS listener refused so far (zero without
// one).
func (s *Server) HTTPSStats() HTTPSStats {
	if s.httpsPending == nil {
		return HTTPSStats{}
	}
	return HTTPSStats{PendingRefused: s.httpsPending.refused.Load()}
}
