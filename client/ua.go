package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/sipend"
)

// agent is a Session's SIP user agent: a sipgo UserAgent with a server on
// our own listener (the focus's BYE arrives there, or on the TCP connection
// we opened) and a client for our requests. Every Session has its own, so
// closing it can never disturb another Session.
//
// Over UDP it also listens for TCP on the same port when it can (RFC 3261
// §18.2.1): a request too large for UDP, such as a NOTIFY with a big
// conference document, must come over TCP (§18.1.1).
//
// Over TLS it listens for nothing: a client has no certificate to accept
// TLS with. It opens its TLS connection to the server before anything
// else (so a certificate that does not verify fails the Join at once) and
// keeps it in sipgo's pool, where every request to the server reuses it
// and the focus's requests arrive on it; host and port are that
// connection's local address, named by our sips: Contact.
//
// Over WSS (SIP over a secure WebSocket, RFC 7118) likewise: it listens
// for nothing and opens its WebSocket through sipgo's WSS transport first
// (the TLS handshake, certificate verification and the upgrade with the
// subprotocol sip), which keeps it in its pool for every request and
// reads the focus's requests from it. host is a random .invalid name and
// port 0 (RFC 7118 §5: nobody can connect to a WebSocket client, so
// Contact and Via name no address), and addr the connection's local IP,
// for the SDP's c= line.
//
// Once stopped it leaves no socket and no goroutine behind, whatever the
// timing (see stop): sipgo opens connections of its own accord, from
// goroutines we cannot wait for, whenever its pool has none for a peer it
// must write to.
type agent struct {
	ua         *sipgo.UserAgent
	client     *sipgo.Client
	transport  string // "UDP", "TCP", "TLS" or "WSS"
	host       string // our address in Contact, Via and a=path
	addr       string // our IP address in the SDP's o= and c= lines: host, except over WSS
	port       int    // our listening port; 0 over WSS
	sips       bool   // over WSS: a sips: Contact (the room URI is sips:, RFC 3261 §8.1.1.8)
	listener   io.Closer
	laddr      string              // the listener's address as sipgo's pool keys it
	udp        *sipend.PacketWatch // over UDP: the listener, as sipgo reads it
	stream     sip.Connection      // over TLS and WSS: the connection dialStream opened
	tomb       *sipend.Tombstone
	timeout    time.Duration
	serve      func() error  // the serve loop, run by start
	served     chan struct{} // closed when the serve goroutine has returned
	started    bool
	stopping   atomic.Bool                    // set by stop: what is read from now on is dropped, nothing more is sent or dialed
	sending    sync.RWMutex                   // read-held by each request handed to sipgo; stop waits for them
	sendClosed bool                           // set by stop under sending: no request is handed to sipgo any more
	mu         sync.Mutex                     // makes setting stopping and recording in heard exclusive
	heard      map[string]map[string]struct{} // "UDP", "WSS" → the remote addresses read from, as sipgo's pool keys them
	stopOnce   sync.Once
}

// newAgent listens on c.localAddr and prepares the user agent; start
// serves. dest is the room's host:port, used to pick our address when the
// listen host is a wildcard. register installs the request handlers.
func newAgent(ctx context.Context, c *settings, dest string, register func(*sipgo.Server)) (*agent, error) {
	a := &agent{transport: c.transport, served: make(chan struct{}), sips: c.sips, heard: make(map[string]map[string]struct{})}
	// TCP and TLS transports of our own, whose dialer refuses once stop
	// has begun (see stop). sipgo copies the read filter into the
	// transports it is given, so that option comes first; their log is
	// sipgo's package-level logger: the field is not exported.
	transports := sip.TransportsConfig{
		TCP: &sip.TransportTCP{DialerCreate: a.dialer},
		TLS: &sip.TransportTLS{TransportTCP: &sip.TransportTCP{DialerCreate: a.dialer}},
	}
	if c.transport == "WSS" {
		if uri := c.wsURL.RequestURI(); uri != "/" {
			// sipgo dials wss://host:port, i.e. the path /: another path
			// needs a WSS transport of our own.
			transports.WSS = &sip.TransportWSS{TransportWS: &sip.TransportWS{
				DialURI: func(hostPort string) string { return "wss://" + hostPort + uri },
			}}
		}
	}
	tlOpts := []sip.TransportLayerOption{
		sip.WithTransportLayerLogger(c.log),
		sip.WithTransportLayerReadFilter(a.readFilter),
		sip.WithTransportLayerTransports(transports),
	}
	uaOpts := []sipgo.UserAgentOption{
		sipgo.WithUserAgent("parley"),
		sipgo.WithUserAgentHostname(c.from.Host),
		sipgo.WithUserAgentTransportLayerOptions(tlOpts...),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(c.log)),
	}
	if c.transport == "TLS" || c.transport == "WSS" {
		cfg := c.tls
		if cfg.ServerName == "" {
			// Over TLS, the domain we mean to reach, even when Server sends
			// us elsewhere (RFC 5922 §7.2): sipgo would use the host it
			// dials, an IP with Server. Over WSS, the WebSocket URL's host,
			// as a browser verifies it. sipgo's WSS dialer takes this very
			// config (and its ServerName) from the user agent, as its TLS
			// dialer does.
			cfg = cfg.Clone()
			cfg.ServerName = c.roomHost
			if c.transport == "WSS" {
				cfg.ServerName = c.wsURL.Hostname()
			}
		}
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(cfg))
	}
	ua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		return nil, fmt.Errorf("client: SIP user agent: %w", err)
	}
	a.ua = ua
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(c.log))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("client: SIP server: %w", err)
	}
	register(srv)

	var (
		laddr net.Addr
		serve func() error
	)
	switch c.transport {
	case "TLS", "WSS":
		conn, err := dialStream(ctx, ua, c.transport, dest, c.timeout)
		if err != nil {
			ua.Close()
			return nil, err
		}
		a.stream, laddr = conn, conn.LocalAddr()
		quit := make(chan struct{})
		a.listener = closerFunc(func() error { close(quit); return nil })
		serve = func() error { <-quit; return nil }
	case "UDP":
		raw, tl, err := listenUDPAndTCP(c.localAddr)
		if err != nil {
			ua.Close()
			return nil, fmt.Errorf("client: SIP listener: %w", err)
		}
		pc := sipend.Watch(raw, false)
		a.udp, a.listener, laddr = pc, pc, pc.LocalAddr()
		serve = func() error {
			defer pc.Finish()
			return srv.ServeUDP(pc)
		}
		if tl != nil {
			a.listener = closers{pc, tl}
			serve = func() error {
				var wg sync.WaitGroup
				wg.Go(func() { _ = srv.ServeTCP(tl) })
				err := srv.ServeUDP(pc)
				pc.Finish()
				wg.Wait() // stop closes both listeners
				return err
			}
		} else {
			c.log.Debug("no TCP listener on the SIP UDP port", "addr", laddr)
		}
	default:
		l, err := net.Listen("tcp", c.localAddr)
		if err != nil {
			ua.Close()
			return nil, fmt.Errorf("client: SIP listener: %w", err)
		}
		a.listener, laddr = l, l.Addr()
		serve = func() error { return srv.ServeTCP(l) }
	}
	ip, port := addrIPPort(laddr)
	a.port = port
	a.host = localHost(ctx, ip, dest)
	a.addr = a.host
	if c.transport == "WSS" {
		a.host, a.port = invalidHost(), 0 // sipgo fills in the Via's port from the connection
	}

	opts := []sipgo.ClientOption{
		sipgo.WithClientHostname(a.host),
		sipgo.WithClientPort(a.port),
		sipgo.WithClientLogger(c.log),
	}
	if c.transport == "UDP" {
		// Send from the listening socket, so that the focus's responses and
		// in-dialog requests come back to it (Via = Contact = source).
		opts = append(opts, sipgo.WithClientConnectionAddr(laddr.String()))
	}
	a.client, err = sipgo.NewClient(ua, opts...)
	if err != nil {
		a.listener.Close()
		ua.Close()
		return nil, fmt.Errorf("client: SIP client: %w", err)
	}
	a.serve, a.laddr, a.timeout = serve, laddr.String(), c.timeout
	a.tomb = &sipend.Tombstone{Addr: laddr, Err: errStopped}
	return a, nil
}

// dialStream opens the SIP connection to dest over transport ("TLS", or
// "WSS": TLS, then the WebSocket upgrade with the subprotocol sip) through
// ua's transport layer, which keeps it in its pool for the requests that
// follow, and returns it. The handshake (certificate verification
// included) is done within timeout.
func dialStream(ctx context.Context, ua *sipgo.UserAgent, transport, dest string, timeout time.Duration) (sip.Connection, error) {
	over := "TLS"
	if transport == "WSS" {
		over = "WebSocket"
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, port, err := sip.ParseAddr(dest)
	if err != nil {
		return nil, fmt.Errorf("client: SIP over %s to %s: %w", over, dest, err)
	}
	// Only the transport, the destination, the Request-URI's scheme and a
	// Via are looked at; nothing is sent.
	req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sips", Host: host, Port: port})
	req.SetTransport(transport)
	req.SetDestination(dest)
	req.AppendHeader(&sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: transport, Host: "invalid", Port: 1, Params: sip.NewParams()})
	conn, err := ua.TransportLayer().ClientRequestConnection(ctx, req)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("%w: SIP over %s to %s: %v", ErrTimeout, over, dest, err)
		}
		return nil, fmt.Errorf("client: SIP over %s to %s: %w", over, dest, err)
	}
	conn.TryClose() // the reference returned to us; the pool's and the reader's remain
	return conn, nil
}

// invalidHost is a random host name under .invalid (RFC 2606 §2): a
// WebSocket client's address in Contact, Via and its MSRP path (RFC 7118
// §5, RFC 7977 §5.2.1).
func invalidHost() string {
	return strings.ToLower(sip.GenerateTagN(12)) + ".invalid"
}

// start runs the serve goroutine: from now on the handlers may be called.
// On error the agent is stopped.
func (a *agent) start() error {
	a.started = true
	go func() {
		defer close(a.served)
		_ = a.serve() // returns when stop closes the listener
	}()
	if a.transport == "UDP" {
		if err := a.waitUDPServing(a.laddr, a.timeout); err != nil {
			a.stop()
			return err
		}
	}
	return nil
}

// waitUDPServing waits until sipgo has put our UDP listener in its
// connection pool. Requests sent with a forced local address look the
// socket up there; before ServeUDP registers it, sipgo would try to bind a
// second socket to the same address and fail. Registration happens right
// after the serve goroutine starts, so this loop runs once or twice.
func (a *agent) waitUDPServing(key string, timeout time.Duration) error {
	pool := a.ua.TransportLayer().Pool("udp")
	deadline := time.Now().Add(timeout)
	for {
		if c := pool.Get(key); c != nil {
			c.TryClose() // undo Get's reference; a listener is never closed by it
			return nil
		}
		select {
		case <-a.served:
			return errors.New("client: SIP listener stopped")
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: SIP listener not serving", ErrTimeout)
		}
	}
}

// readFilter drops what sipgo reads once stop has begun: a request handled
// after the user agent closed would make sipgo look for a connection to
// answer on. Before that, it records where UDP and WSS messages come from
// (stop puts tombstones there). sipgo's pool keeps an entry per source
// too, so the record grows no faster than sipgo's own.
func (a *agent) readFilter(p sip.TransportReadProps, data []byte) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping.Load() {
		return nil, nil
	}
	if network := sip.NetworkToUpper(p.Transport); entombed(network) && p.RemoteAddr != nil {
		if a.heard[network] == nil {
			a.heard[network] = make(map[string]struct{})
		}
		a.heard[network][p.RemoteAddr.String()] = struct{}{}
	}
	return data, nil
}

// errStopped: the agent is stopping and sends nothing more.
var errStopped = errors.New("client: SIP user agent stopped")

// write sends a request outside any transaction (an ACK); nothing once stop
// has begun.
func (a *agent) write(req *sip.Request) error {
	a.sending.RLock()
	defer a.sending.RUnlock()
	if a.sendClosed || a.stopping.Load() {
		return errStopped
	}
	return a.client.WriteRequest(req)
}

// request starts a client transaction for req (sipgo finds or opens the
// connection and sends it); nothing once stop has begun.
func (a *agent) request(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error) {
	a.sending.RLock()
	defer a.sending.RUnlock()
	if a.sendClosed || a.stopping.Load() {
		return nil, errStopped
	}
	return a.client.TransactionRequest(ctx, req)
}

// dialer is sipgo's TCP and TLS dialer (sipgo's default: a minute's
// timeout), except that it refuses once stop has begun.
func (a *agent) dialer(laddr net.Addr) net.Dialer {
	if la, ok := laddr.(*net.TCPAddr); ok && la == nil {
		laddr = nil // sipgo passes a nil *net.TCPAddr for "any"
	}
	return net.Dialer{
		Timeout:   time.Minute,
		LocalAddr: laddr,
		ControlContext: func(context.Context, string, string, syscall.RawConn) error {
			if a.stopping.Load() {
				return errStopped
			}
			return nil
		},
	}
}

// contact is our Contact header for user.
func (a *agent) contact(user string) *sip.ContactHeader {
	u := sip.Uri{Scheme: "sip", User: user, Host: a.host, Port: a.port}
	if a.transport == "WSS" {
		// RFC 7118 §5, §7: transport=ws for ws and wss alike; sips when
		// the room URI is (a dialog it creates needs one, RFC 3261
		// §8.1.1.8).
		if a.sips {
			u.Scheme = "sips"
		}
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", "ws")
		return &sip.ContactHeader{Address: u}
	}
	if a.transport == "TLS" {
		// sips: asks for TLS (RFC 3261 §26.2.2); a dialog made by a sips
		// Request-URI must have one (§8.1.1.8).
		u.Scheme = "sips"
		return &sip.ContactHeader{Address: u}
	}
	if a.transport != "UDP" {
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", "tcp")
	}
	return &sip.ContactHeader{Address: u}
}

// do sends a non-INVITE request and waits for its final response, bounded
// by ctx (which the caller bounds by Timeout).
func (a *agent) do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	tx, err := a.request(ctx, req)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				return nil, err
			}
			return nil, errors.New("transaction ended without a response")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// stop ends the agent and everything sipgo opened for it: the listener
// and the serve goroutine, the transactions, the connections and their
// reader goroutines. Idempotent.
//
// sipgo opens a connection, with a reader goroutine, whenever its pool has
// none for a peer it must write to: for our requests, and from the
// goroutine it starts for each request it reads, to answer on. Such a
// goroutine may run late, after the user agent closed (its connections
// closed, its pool emptied), and open a connection nobody would close: a
// UDP socket bound to 0.0.0.0 with a reader, towards the source of a
// request read just before. Nothing can wait for those goroutines, so
// nothing they do may open anything:
//
//   - our own requests go through write and request, which refuse once
//     stop has begun and which stop waits for;
//   - over TCP and TLS sipgo dials with our dialer, which refuses too;
//   - UDP and WSS connections are opened without a dialer of ours. There
//     the pool must answer every lookup: before any connection closes,
//     every address a message came from (where a late goroutine looks
//     first), our UDP listener's address (where our requests over UDP look)
//     and the WSS connection's addresses get a tombstone, a connection
//     that writes nothing and has no reader. A reader that ends deletes
//     only its own entries, and these pools are not cleared afterwards
//     (which would empty them of the tombstones), unless something
//     unexpected is found in them.
//
// The other pools are cleared (ua.Close would clear them all) after the
// transaction layer closed.
func (a *agent) stop() {
	a.stopOnce.Do(func() {
		a.mu.Lock() // a read being recorded in heard is done
		a.stopping.Store(true)
		a.mu.Unlock()
		a.sending.Lock() // requests handed to sipgo before are sent
		a.sendClosed = true
		a.sending.Unlock()
		if a.udp != nil && a.started {
			// sipgo's reader adds a source to the pool after the read
			// filter lets its datagram in: wait until it is done with
			// what it read, so that it adds nothing over a tombstone.
			a.udp.Settle(context.Background())
		}
		graves := a.graves()
		var open []sip.Connection
		for network, keys := range graves {
			open = append(open, a.entomb(network, keys)...)
		}
		a.listener.Close()
		if a.started {
			<-a.served // no connection can be accepted after this
		}
		a.ua.TransactionLayer().Close()
		for _, c := range open {
			c.Close() // sipgo's UDP listener is closed above: its Close does nothing
		}
		for _, network := range []string{"UDP", "TCP", "TLS", "WS", "WSS"} {
			a.sweep(network, graves[network])
		}
	})
}

// entombed reports whether a network's pool gets tombstones (see stop).
func entombed(network string) bool { return network == "UDP" || network == "WSS" }

// graves are the pool entries that get a tombstone, by network: the
// addresses messages came from, our UDP listener's address, the WSS
// connection's addresses. Called once stopping is set.
func (a *agent) graves() map[string][]string {
	graves := make(map[string][]string)
	a.mu.Lock()
	for network, addrs := range a.heard {
		for addr := range addrs {
			graves[network] = append(graves[network], addr)
		}
	}
	a.mu.Unlock()
	if a.transport == "UDP" {
		graves["UDP"] = append(graves["UDP"], a.laddr)
	}
	if a.transport == "WSS" && a.stream != nil {
		graves["WSS"] = append(graves["WSS"], a.stream.LocalAddr().String())
		if rc, ok := a.stream.(interface{ RemoteAddr() net.Addr }); ok {
			graves["WSS"] = append(graves["WSS"], rc.RemoteAddr().String())
		}
	}
	for network, keys := range graves {
		slices.Sort(keys)
		graves[network] = slices.Compact(keys)
	}
	return graves
}

// entomb puts the tombstone in network's pool at keys and returns the
// connections it replaces there, for the caller to close once nothing can
// be read from them any more.
func (a *agent) entomb(network string, keys []string) (open []sip.Connection) {
	pool := a.ua.TransportLayer().Pool(network)
	for _, key := range keys {
		if c := pool.Get(key); c != nil {
			c.Ref(-1) // undo Get's reference
			if c != sip.Connection(a.tomb) && !slices.Contains(open, c) {
				open = append(open, c)
			}
		}
		pool.Add(key, a.tomb)
	}
	return open
}

// sweep closes what is left in network's pool once the agent is stopped:
// everything, over a network without tombstones; otherwise whatever the
// tombstones do not account for (nothing is expected there), after which
// they are put back.
func (a *agent) sweep(network string, graves []string) {
	pool := a.ua.TransportLayer().Pool(network)
	if pool.Size() <= len(graves) {
		return
	}
	pool.Clear() // closes what it holds, then empties it
	for _, key := range graves {
		pool.Add(key, a.tomb)
	}
}

// listenUDPAndTCP listens for UDP on addr and for TCP on the same port.
// With port 0 it tries a few ports for one free for both; with a fixed
// port, or when none is found, it goes on with UDP alone (tl nil).
func listenUDPAndTCP(addr string) (pc net.PacketConn, tl net.Listener, err error) {
	_, port, _ := net.SplitHostPort(addr)
	for range 8 {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		tl, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil || (port != "0" && port != "") {
			return pc, tl, nil
		}
		pc.Close()
	}
	pc, err = net.ListenPacket("udp", addr)
	return pc, nil, err
}

// closerFunc is a func as an io.Closer.
type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// closers closes several listeners.
type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// addrIPPort splits a listener address.
func addrIPPort(addr net.Addr) (net.IP, int) {
	switch a := addr.(type) {
	case *net.UDPAddr:
		return a.IP, a.Port
	case *net.TCPAddr:
		return a.IP, a.Port
	}
	return nil, 0
}

// localHost is the address we advertise: the listen IP, or for a wildcard
// listener the local address the system routes dest from (a UDP "dial"
// sends nothing). Loopback is the last resort.
func localHost(ctx context.Context, ip net.IP, dest string) string {
	if ip != nil && !ip.IsUnspecified() {
		return ip.String()
	}
	var d net.Dialer
	if c, err := d.DialContext(ctx, "udp", dest); err == nil {
		defer c.Close()
		if la, ok := c.LocalAddr().(*net.UDPAddr); ok {
			return la.IP.String()
		}
	}
	return "127.0.0.1"
}
