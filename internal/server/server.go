package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/certs"
	"github.com/parley-im/parley/internal/conference"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/focus"
	"github.com/parley-im/parley/internal/netpark"
	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/internal/sipcheck"
	"github.com/parley-im/parley/internal/sipend"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/internal/switchboard"
)

// Addrs are the addresses parleyd listens on ("" when disabled).
type Addrs struct {
	SIPUDP, SIPTCP, SIPTLS, MSRP, MSRPTLS string
	HTTPS                                 string // WebSocket clients (https.go)
}

// udpReadBuffer is the receive buffer asked for the SIP UDP socket.
const udpReadBuffer = 4 << 20

// Server is a running parleyd.
type Server struct {
	cfg    *config.Config
	names  roomNaming // set before any request
	log    *slog.Logger
	ua     *sipgo.UserAgent
	sip    *sipgo.Server
	focus  *focus.Focus
	relay  *relay.Server
	sw     *switchboard.Switch
	conf   *conference.Notifier
	rooms  *room.Registry
	store  *store.Store // rooms' history (history.go); nil: in memory only
	linger *lingerer    // deletes the history of rooms empty past their grace (lasting.go); nil without a store
	// control serves parleyd user and parleyd nick while the embedded
	// store is locked by this process (control.go); nil otherwise.
	control *control
	udp     net.PacketConn // udpWatch, or nil
	tcp     net.Listener
	tls     net.Listener // SIP over TLS: guardListener over a TLS listener, or nil
	certs   *certs.Store // the TLS certificate, when a TLS listener is on
	// The HTTPS listener (https.go), or nil: its TCP listener, under TLS
	// once served, and the HTTP server that serves it.
	httpsLn net.Listener
	https   *http.Server
	sipWS   *sipWSListener // SIP WebSocket connections for sipgo (sipws.go)
	// httpsPending caps per source the HTTPS connections not upgraded yet.
	httpsPending *pendingLimit
	addrs        Addrs
	guard        *sipGuard
	parker       *netpark.Parker // quiet SIP and MSRP connections' read loops (nil off Linux)
	trace        atomic.Bool     // the raw SIP trace (trace.go); the relay has its own
	admin        adminState      // what the admin API changes at run time (admin.go)

	// How the SIP side stops leaving nothing behind (sipstop.go).
	sipStop  sipStop
	udpWatch *sipend.PacketWatch // the SIP UDP listener as sipgo reads it, or nil
	served   atomic.Bool         // serve has started the serve loops
	wsServed chan struct{}       // closed when sipgo's WSS accept loop has returned
	streams  sync.WaitGroup      // sipgo's TCP and TLS accept loops

	wg           sync.WaitGroup // SIP, MSRP and HTTPS serve loops
	shutdownOnce sync.Once
	shutdownErr  error
}

// New builds the server and binds its listeners.
// Errors name the listener and the cause in one line ("SIP UDP listener:
// listen udp 127.0.0.1:5060: bind: address already in use"); whatever was
// bound before the failure is released.
func New(cfg *config.Config, log *slog.Logger) (*Server, error) {
	return newServer(cfg, log, options{})
}

// options are what tests may change beyond the configuration.
type options struct {
	ua focus.UAOptions // where the focus's own requests may go
	// httpsHeaderTimeout replaces httpsHeaderTimeout when not 0.
	httpsHeaderTimeout time.Duration
	// now, when set, is the clock of the focus and the switch (the rates
	// per source and per participant, CPIM DateTime, history).
	now func() time.Time
	// sipParkAfter replaces sipParkAfter when not 0.
	sipParkAfter time.Duration
}

func newServer(cfg *config.Config, log *slog.Logger, o options) (_ *Server, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			s.closeListeners()
			if s.relay != nil {
				s.relay.Shutdown(context.Background()) // closes the MSRP listener
			}
			if s.ua != nil {
				s.ua.Close()
			}
			if s.control != nil {
				s.control.close()
			}
			if s.store != nil {
				s.store.Close(context.Background())
			}
			s.parker.Close()
		}
	}()
	trace := cfg.Log.Trace
	s.trace.Store(trace)
	s.guard = newSIPGuard(sipcheck.Rules{Allow: focus.Methods}, log.With("component", "sip"))
	if len(trustedNames(cfg)) > 0 {
		s.guard.names = &peerNames{} // trusted proxies known by their TLS client certificates
	}
	s.guard.messageTimeout, s.guard.idleTimeout = cfg.SIP.MessageTimeout.Std(), cfg.SIP.IdleTimeout.Std()
	// s.focus is set below, before any connection is accepted.
	s.guard.inUse = func(peer net.Addr) bool { return s.focus.ConnInUse(peer) }
	// A quiet connection waits in the Parker, with no goroutine (issue
	// 20); where there is none, on a goroutine of its own.
	if p, err := netpark.New(); err == nil {
		s.parker = p
		s.guard.parker, s.guard.parkAfter = p, cmp.Or(o.sipParkAfter, sipParkAfter)
	} else {
		log.Debug("quiet connections wait on goroutines", "reason", err)
	}
	if cfg.SIP.UDP != "" {
		c, err := net.ListenPacket("udp", cfg.SIP.UDP)
		if err != nil {
			return nil, fmt.Errorf("SIP UDP listener: %w", err)
		}
		if uc, ok := c.(*net.UDPConn); ok {
			// A NOTIFY fan-out brings back a burst of 200s, one small
			// datagram per subscriber; the kernel's default buffer (about
			// 200 KiB of skb memory, ~100 datagrams) would drop some, and
			// each loss costs a retransmission T1 later. Best effort: the
			// kernel caps it at net.core.rmem_max.
			uc.SetReadBuffer(udpReadBuffer)
		}
		c = &tracePacketConn{PacketConn: c, on: &s.trace, log: log.With("proto", "SIP", "transport", "UDP")}
		s.udpWatch = sipend.Watch(&guardPacketConn{PacketConn: c, g: s.guard}, true)
		s.udp, s.addrs.SIPUDP = s.udpWatch, c.LocalAddr().String()
	}
	if cfg.SIP.TCP != "" {
		l, err := net.Listen("tcp", cfg.SIP.TCP)
		if err != nil {
			return nil, fmt.Errorf("SIP TCP listener: %w", err)
		}
		l = &traceListener{Listener: l, on: &s.trace, log: log.With("proto", "SIP", "transport", "TCP")}
		s.tcp, s.addrs.SIPTCP = &guardListener{Listener: l, g: s.guard}, l.Addr().String()
	}
	cfg = defaultTLSOrOff(cfg, log)
	if cfg.UsesTLS() {
		if s.certs, err = loadCertificate(cfg, log); err != nil {
			return nil, fmt.Errorf("TLS certificate: %w", err)
		}
	}
	if cfg.SIP.TLS != "" {
		l, err := net.Listen("tcp", cfg.SIP.TLS)
		if err != nil {
			return nil, fmt.Errorf("SIP TLS listener: %w", err)
		}
		addr := l.Addr().String()
		// The guard frames and checks the decrypted stream, as on TCP
		// (sipcheck.Frame, RFC 3261 §18.3); the handshake runs on sipgo's
		// read goroutine for the connection, bounded by sip.message_timeout
		// (guardConn.handshake).
		tc, err := clientAuth(cfg, s.certs.ServerConfig())
		if err != nil {
			l.Close()
			return nil, err
		}
		l = &tlsListener{Listener: l, cfg: tc}
		l = &traceListener{Listener: l, on: &s.trace, log: log.With("proto", "SIP", "transport", "TLS")}
		s.tls, s.addrs.SIPTLS = &guardListener{Listener: l, g: s.guard, transport: "TLS"}, addr
	}

	wsPort := 0
	if cfg.HTTPS.Listen != "" {
		// Bound before the relay, which puts its port in ;ws paths.
		l, err := net.Listen("tcp", cfg.HTTPS.Listen)
		if err != nil {
			return nil, fmt.Errorf("HTTPS listener: %w", err)
		}
		s.httpsLn, s.addrs.HTTPS = l, l.Addr().String()
		wsPort = l.Addr().(*net.TCPAddr).Port
	}
	origins := newOriginCheck(cfg.HTTPS.Origins)

	s.admin.init(cfg)
	// Names compare as the configuration at the start says (a reload
	// that changes rooms.case_sensitive_names applies at the next start);
	// a room gets its configured spelling, as the configuration now says.
	s.rooms = room.NewRegistry(policySource(s.admin.current), cfg.Rooms.MaxRooms, room.WithMaxNameBytes(cfg.Rooms.MaxNameBytes),
		room.WithNames(cfg.RoomKey, func(name string) string { return s.admin.current().CanonicalRoomName(name) }))
	s.conf = conference.New(conference.Config{
		// s.focus is set below, before any SUBSCRIBE can arrive.
		Sender:   notifySender{s},
		Interval: cfg.SIP.NotifyInterval.Std(),
		URIs:     s.roomURIs,
		Logger:   log.With("component", "conference"),
	})
	s.sw = switchboard.New(switchboard.Config{
		// s.focus is set below, before any session can bind.
		Resolve: func(handle any) (*room.Room, *room.Participant) { return s.focus.Member(handle) },
		Ended: func(handle any, sessionID string, reason relay.CloseReason) {
			s.focus.SessionEnded(handle, sessionID, reason.String())
		},
		ChunkTimeout:       cfg.MSRP.ChunkTimeout.Std(),
		MaxUnfinished:      cfg.MSRP.MaxUnfinished,
		MaxUnfinishedBytes: int64(cfg.MSRP.MaxUnfinishedBytes),
		MessagesPerSecond:  cfg.Limits.MessagesPerSecond,
		MessagesBurst:      cfg.Limits.MessagesBurst,
		RateExempt:         prefixes(cfg.Limits.RateExempt),
		Nicknames:          room.NewNicknames(room.WithIMHost(cfg.Server.Host), room.WithOwners(storeNicknames{s})),
		Registrar:          storeNicknames{s},
		Observer:           s.conf,
		RoomAlias:          s.roomAlias,
		Now:                o.now,
		Logger:             log.With("component", "switch"),
	})
	lim := cfg.MSRPLimits()
	var msrpTLS *tls.Config
	if cfg.MSRP.TLSListen != "" {
		msrpTLS = s.certs.ServerConfig()
	}
	msrpRelay := relay.New(relay.Config{
		Addr:                cfg.MSRP.Listen,
		TLSAddr:             cfg.MSRP.TLSListen,
		TLS:                 msrpTLS,
		WSPort:              wsPort,
		WSSecure:            true, // the HTTPS listener: ;ws sessions are msrps (wss)
		WSCheckOrigin:       origins.allowed,
		Host:                cfg.Server.Host,
		BindTimeout:         cfg.MSRP.BindTimeout.Std(),
		MaxPendingBytes:     int(lim.MaxPending),
		CongestionTimeout:   cfg.MSRP.CongestionTimeout.Std(),
		WriteTimeout:        cfg.MSRP.WriteTimeout.Std(),
		CoalesceDelay:       coalesceDelay(cfg.MSRP.CoalesceDelay.Std()),
		ProgressTimeout:     cfg.MSRP.ProgressTimeout.Std(),
		MaxSessionsPerConn:  cfg.MSRP.MaxSessionsPerConn,
		MaxUnboundPerSource: cfg.MSRP.MaxUnboundPerSource,
		MaxConnsPerSource:   cfg.Limits.MSRPConnectionsPerSource,
		Exempt:              prefixes(cfg.Limits.Exempt),
		Limits:              msrpLimits(lim),
		Parker:              s.parker,
		Logger:              log.With("component", "relay"),
		Trace:               trace,
	}, s.sw)
	if err := msrpRelay.Listen(); err != nil {
		return nil, fmt.Errorf("MSRP listener: %w", err) // nothing of the relay to shut down
	}
	s.relay = msrpRelay
	s.addrs.MSRP = s.relay.Addr().String()
	// The store opens once every listener is bound: a port taken fails
	// the start before an embedded NATS server is started for nothing.
	if s.store, err = openStore(cfg, log.With("component", "store")); err != nil {
		return nil, err
	}
	if err = seedAccounts(cfg, s.store, log.With("component", "store")); err != nil {
		return nil, err
	}
	warnOtherRealms(cfg, s.store, log.With("component", "store"))
	if s.store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), storeOpenTimeout)
		s.loadOverlays(ctx)
		cancel()
	}
	if s.store != nil {
		s.sw.SetHistory(storeHistory{st: s.store, host: cfg.Server.Host})
		s.linger = &lingerer{st: s.store, host: cfg.Server.Host, rooms: s.rooms, policy: policySource(s.admin.current), data: s.overlayData,
			interval: lingerInterval(shortestGrace(cfg)), now: time.Now, log: log.With("component", "store")}
		if cfg.Store.Mode == config.StoreFile && cfg.Store.URL == "" {
			if s.control, err = startControl(cfg.Server.DataDir, cfg.Server.Host, s.store, log.With("component", "control")); err != nil {
				log.Warn("parleyd user and parleyd nick cannot reach this server while it runs", "error", err)
				err = nil
			}
		}
	}
	if a := s.relay.TLSAddr(); a != nil {
		s.addrs.MSRPTLS = a.String()
	}
	if s.httpsLn != nil {
		s.sipWS = newSIPWSListener(s.httpsLn.Addr())
		s.wsServed = make(chan struct{})
		router := &httpsRouter{msrp: http.HandlerFunc(s.relay.ServeWebSocket), sip: http.HandlerFunc(s.serveSIPWebSocket), origins: origins}
		hlog := log.With("component", "https")
		s.httpsPending = newPendingLimit(cfg.HTTPS.MaxPendingPerSource, focusLimits(cfg.Limits).Exempt, slog.New(newRateLimited(hlog.Handler(), 20, time.Second)))
		headerTimeout := httpsHeaderTimeout
		if o.httpsHeaderTimeout > 0 {
			headerTimeout = o.httpsHeaderTimeout
		}
		s.https = newHTTPSServer(router, s.certs.ServerConfig("http/1.1"), s.httpsPending, headerTimeout, hlog)
	}

	sipLog := SIPGoLogger(log)
	uaOpts := o.ua
	uaOpts.IdleTimeout = cfg.SIP.IdleTimeout.Std()
	// Shutdown stops the SIP side through these (sipstop.go).
	uaOpts.ReadFilter, uaOpts.Dialing = s.sipStop.readFilter, s.sipStop.dialing
	// s.focus is set below, before any request of ours can be answered.
	uaOpts.StrayResponse = func(r *sip.Response) { s.focus.StrayResponse(r) }
	s.ua, err = focus.NewUAWith(cfg.Server.Host, sipLog, uaOpts)
	if err != nil {
		return nil, err
	}
	s.sip, err = sipgo.NewServer(s.ua, sipgo.WithServerLogger(sipLog))
	if err != nil {
		return nil, err
	}
	client, err := sipgo.NewClient(s.ua, sipgo.WithClientHostname(cfg.Server.Host), sipgo.WithClientLogger(sipLog))
	if err != nil {
		return nil, err
	}
	ports := map[string]int{}
	if s.udp != nil {
		ports["UDP"] = s.udp.LocalAddr().(*net.UDPAddr).Port
	}
	if s.tcp != nil {
		ports["TCP"] = s.tcp.Addr().(*net.TCPAddr).Port
	}
	if s.tls != nil {
		ports["TLS"] = s.tls.Addr().(*net.TCPAddr).Port
	}
	if s.sipWS != nil {
		ports["WSS"] = wsPort
	}
	s.names = roomNames(cfg, ports)
	s.focus = focus.New(focus.Config{
		Host:                   cfg.Server.Host,
		Ports:                  ports,
		RoomURI:                s.roomURI,
		SecureMSRP:             s.addrs.MSRPTLS != "",
		WebSocketMSRP:          s.https != nil,
		UDP:                    udpAddr(s.udp),
		Rooms:                  s.rooms,
		Switch:                 switchAdapter{s.relay},
		Auth:                   newDigestAuth(cfg, s.store, s.guard.names),
		Roster:                 rosters{s.sw, s.conf, s.linger},
		Conference:             s.conf,
		Nicknames:              s.sw.Nicknames(),
		SubscriptionExpires:    cfg.SIP.SubscriptionExpires.Std(),
		MinSubscriptionExpires: cfg.SIP.MinSubscriptionExpires.Std(),
		Limits:                 focusLimits(cfg.Limits),
		Now:                    o.now,
		Logger:                 log.With("component", "focus"),
	}, client)
	s.focus.Register(s.sip)
	return s, nil
}

// Addrs returns the bound addresses.
func (s *Server) Addrs() Addrs { return s.addrs }

// Run serves until ctx ends, then shuts down within the configured
// shutdown timeout.
func (s *Server) Run(ctx context.Context) error {
	s.serve()
	s.log.Info("parleyd listening", "sip_udp", s.addrs.SIPUDP, "sip_tcp", s.addrs.SIPTCP, "msrp", s.addrs.MSRP,
		"sip_tls", s.addrs.SIPTLS, "msrp_tls", s.addrs.MSRPTLS, "https", s.addrs.HTTPS,
		"host", s.cfg.Server.Host, "rooms", string(s.cfg.Rooms.Mode))
	<-ctx.Done()
	s.log.Info("shutting down", "timeout", s.cfg.Server.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.Server.ShutdownTimeout.Std())
	defer cancel()
	return s.Shutdown(sctx)
}

// serve starts the serve loops.
func (s *Server) serve() {
	s.served.Store(true)
	if s.udp != nil {
		s.wg.Go(func() {
			defer s.udpWatch.Finish()
			_ = s.sip.ServeUDP(s.udp)
		})
	}
	if s.tcp != nil {
		s.streams.Add(1)
		s.wg.Go(func() {
			defer s.streams.Done()
			_ = s.sip.ServeTCP(s.tcp)
		})
	}
	if s.tls != nil {
		s.streams.Add(1)
		s.wg.Go(func() {
			defer s.streams.Done()
			_ = s.sip.ServeTLS(s.tls)
		})
	}
	s.wg.Go(func() {
		if err := s.relay.Serve(context.Background()); err != nil && !errors.Is(err, relay.ErrServerClosed) {
			s.log.Error("MSRP listener stopped", "error", err)
		}
	})
	if s.sipWS != nil {
		s.wg.Go(func() {
			defer close(s.wsServed)
			_ = s.sip.ServeWSS(s.sipWS)
		})
	}
	if s.linger != nil {
		s.linger.start()
	}
	if s.https != nil {
		s.wg.Go(func() {
			// Serve returns at once if Shutdown came first.
			ln := tls.NewListener(&pendingListener{Listener: s.httpsLn, p: s.httpsPending}, s.https.TLSConfig)
			if err := s.https.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("HTTPS listener stopped", "error", err)
			}
		})
	}
}

// Start serves in the background: for tests and embedding.
func (s *Server) Start() { s.serve() }

// Shutdown ends every dialog with BYE, closes the switch and the SIP side,
// and waits for the serve loops, bounded by ctx. It is idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		var errs []error
		s.focus.BeginShutdown() // no new dialogs; NOTIFY answers no longer awaited
		s.conf.Shutdown(ctx)    // final NOTIFYs (terminated;reason=noresource), sent by the focus
		if err := s.focus.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("focus: %w", err))
		}
		s.shutdownHTTPS(ctx) // no new WebSocket; those upgraded are the relay's
		if err := s.relay.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("relay: %w", err))
		}
		s.sw.Close()
		s.stopSIP(ctx) // the SIP listeners, connections and transactions
		s.closeListeners()
		s.parker.Close() // the relay's and SIP's parked connections were closed above
		if s.linger != nil {
			s.linger.shutdown()
		}
		if s.control != nil {
			s.control.close()
		}
		if s.store != nil {
			// What was answered 200 is stored already; this flushes the
			// cursors the leaves just wrote.
			if err := s.store.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("store: %w", err))
			}
		}
		done := make(chan struct{})
		go func() { s.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			errs = append(errs, ctx.Err())
		}
		s.shutdownErr = errors.Join(errs...)
	})
	return s.shutdownErr
}

func (s *Server) closeListeners() {
	if s.udp != nil {
		s.udp.Close()
	}
	if s.tcp != nil {
		s.tcp.Close()
	}
	if s.tls != nil {
		s.tls.Close()
	}
	if s.httpsLn != nil {
		s.httpsLn.Close()
	}
	if s.sipWS != nil {
		s.sipWS.Close()
	}
}

// shutdownHTTPS stops the HTTPS listener: it closes the listener, lets
// requests in progress (an upgrade being answered) finish for at most
// httpsShutdownGrace within ctx, then closes every connection net/http
// still holds (in a handshake, a header, or idle). Upgraded connections
// were handed to the relay, whose Shutdown closes them.
func (s *Server) shutdownHTTPS(ctx context.Context) {
	if s.https == nil {
		return
	}
	gctx, cancel := context.WithTimeout(ctx, httpsShutdownGrace)
	defer cancel()
	s.https.Shutdown(gctx) // a deadline here is not an error of the shutdown: Close follows
	s.https.Close()
}

// udpAddr is the SIP UDP listener's address, or nil.
func udpAddr(c net.PacketConn) *net.UDPAddr {
	if c == nil {
		return nil
	}
	a, _ := c.LocalAddr().(*net.UDPAddr)
	return a
}

// coalesceDelay maps the configuration's "0s: write at once" to the
// relay's negative value (its zero means the default).
func coalesceDelay(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// GuardStats returns what the SIP guard kept from the SIP stack so far.
func (s *Server) GuardStats() GuardStats { return s.guard.stats() }
