package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// config is the command line of one run.
type config struct {
	mode      string
	server    string
	transport string
	path      string
	pid       int
	timeout   time.Duration
	roomName  string // --room: room name prefix
	runPrefix string // roomName plus a random suffix: this run's rooms
	conc      int
	sipConns  int
	sources   int

	rooms, participants, senders, messages, window, size int
	rate, msgRate                                        float64
	duration, stall, settle                              time.Duration
	joins, perRoom                                       int

	// roster mode
	watchers, visits int
	arrivals         string // "poisson" or "even"
	stayLo, stayHi   time.Duration
	seed             int64
	deadline         time.Duration
}

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1 // loss, duplicate, reorder, errors, deadline
	exitUsage  = 2
)

const usage = `usage: parley-bench <mode> [flags]

modes:
  fanout  one room of -participants, -senders × -messages each, -window in flight
  rooms   -rooms rooms like fanout's, traffic in every room
  join    -joins joins with -concurrency in flight, then as many leaves
  idle    -participants idle participants; the server's RSS per participant
  roster  -watchers keep the room's roster while -visits visitors come and go
          at -rate a second, each staying -stay: join and leave notice latency

Run "parley-bench <mode> -h" for a mode's flags. One JSON line goes to
stdout, a summary to stderr; the exit status is 1 when a message was lost,
duplicated or reordered, a roster event was missed or duplicated, a
participant failed, or the run hit -timeout.
`

// parseArgs parses the mode and its flags.
func parseArgs(args []string, stderr io.Writer) (*config, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, usage)
		return nil, flag.ErrHelp
	}
	c := &config{mode: args[0]}
	fs := flag.NewFlagSet("parley-bench "+c.mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.server, "server", "127.0.0.1:5060", "parleyd's SIP address, host:port (loopback only)")
	fs.StringVar(&c.transport, "transport", "tcp", "SIP transport: udp, tcp or tls (tls: -path lean; -server is parleyd's SIP TLS address, its certificate not checked)")
	fs.StringVar(&c.path, "path", "lean", "how participants join: lean (raw SIP/MSRP on shared sockets) or client (client.Join per participant; join and idle modes; the roster mode always)")
	fs.IntVar(&c.pid, "pid", 0, "parleyd's PID: report its CPU time (/proc/PID/stat) and RSS (/proc/PID/status)")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "hard deadline of the run: stop, report what was measured, exit 1")
	fs.StringVar(&c.roomName, "room", "bench", "room name prefix (a random suffix is added per run)")
	fs.IntVar(&c.conc, "concurrency", 32, "joins and leaves in flight")
	fs.IntVar(&c.sipConns, "sip-conns", 0, "SIP TCP connections shared by the lean path's participants; 0: one per participant, as real clients have")
	fs.IntVar(&c.sources, "sources", 0, "source addresses of 127.0.0.0/8 for MSRP connections (0: one per 20,000 participants)")
	switch c.mode {
	case "fanout", "rooms":
		c.rooms = 1
		if c.mode == "rooms" {
			fs.IntVar(&c.rooms, "rooms", 10, "rooms")
		}
		fs.IntVar(&c.participants, "participants", 100, "participants per room")
		fs.IntVar(&c.senders, "senders", 10, "senders per room")
		fs.IntVar(&c.messages, "messages", 10000, "messages per sender")
		fs.IntVar(&c.window, "window", 64, "messages in flight per sender (sent, not yet answered and received by all)")
		fs.IntVar(&c.size, "size", 200, "octets of CPIM body per message")
		fs.Float64Var(&c.rate, "rate", 0, "offered load in deliveries/s, all rooms together (0: as fast as the window allows)")
		fs.Float64Var(&c.msgRate, "msg-rate", 0, "offered load in messages/s, all senders together (instead of -rate)")
		fs.DurationVar(&c.duration, "duration", 0, "stop sending after this long (0: after -messages)")
		fs.DurationVar(&c.stall, "stall", 10*time.Second, "give up when no delivery arrives for this long")
	case "join":
		fs.IntVar(&c.joins, "joins", 2000, "participants to join, then leave")
		fs.IntVar(&c.perRoom, "per-room", 100, "participants per room")
	case "idle":
		fs.IntVar(&c.participants, "participants", 10000, "idle participants")
		fs.IntVar(&c.perRoom, "per-room", 100, "participants per room")
		fs.DurationVar(&c.settle, "settle", 3*time.Second, "wait after the joins before reading the server's RSS")
	case "roster":
		c.path = "client" // watchers and visitors are client.Sessions
		fs.Lookup("path").DefValue = c.path
		fs.IntVar(&c.watchers, "watchers", 100, "members keeping the room's roster (client.Join, roster on)")
		fs.IntVar(&c.visits, "visits", 200, "visitors (client.Join, NoRoster) joining and leaving one after another")
		fs.Float64Var(&c.rate, "rate", 5, "visits per second")
		fs.StringVar(&c.arrivals, "arrivals", "poisson", "visit arrivals at -rate: poisson or even")
		fs.Func("stay", "time each visitor stays, from its Join returning to its Leave: a duration, or LO-HI for uniformly random stays (default 2s)", func(s string) error {
			lo, hi, err := parseStay(s)
			c.stayLo, c.stayHi = lo, hi
			return err
		})
		c.stayLo, c.stayHi = 2*time.Second, 2*time.Second
		fs.Int64Var(&c.seed, "seed", 0, "seed of the arrivals and stays (0: random; the report gives the one used)")
		fs.DurationVar(&c.deadline, "deadline", 10*time.Second, "after the last visitor has left, wait this long for the watchers' events; what has not come is missed")
	default:
		fmt.Fprint(stderr, usage)
		return nil, fmt.Errorf("unknown mode %q", c.mode)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return c, c.check()
}

// check validates the configuration.
func (c *config) check() error {
	if err := checkLoopback(c.server); err != nil {
		return err
	}
	c.transport = strings.ToLower(c.transport)
	if c.transport != "udp" && c.transport != "tcp" && c.transport != "tls" {
		return fmt.Errorf("-transport %q: want udp, tcp or tls", c.transport)
	}
	if c.transport == "tls" && (c.path != "lean" || c.mode == "roster") {
		return errors.New("-transport tls: only the lean path speaks SIP over TLS")
	}
	switch c.path {
	case "lean":
		if c.mode == "roster" {
			return errors.New("-path lean: the roster mode's watchers and visitors are client.Sessions (-path client)")
		}
	case "client":
		if c.mode == "fanout" || c.mode == "rooms" {
			return fmt.Errorf("-path client: the %s mode's hot loop is raw MSRP (see the package doc)", c.mode)
		}
	default:
		return fmt.Errorf("-path %q: want lean or client", c.path)
	}
	if c.timeout <= 0 || c.conc < 1 || c.sipConns < 0 || c.sources < 0 {
		return errors.New("-timeout and -concurrency must be positive, -sip-conns and -sources not negative")
	}
	switch c.mode {
	case "fanout", "rooms":
		if c.rooms < 1 || c.participants < 2 || c.senders < 1 || c.senders > c.participants || c.messages < 1 || c.window < 1 {
			return errors.New("want -rooms ≥ 1, -participants ≥ 2, 1 ≤ -senders ≤ -participants, -messages ≥ 1, -window ≥ 1")
		}
		if c.rooms > 999999 || c.participants > 999999 || c.messages > 9999999999 {
			return errors.New("too many rooms, participants or messages for the body marker")
		}
		if c.rate < 0 || c.msgRate < 0 || (c.rate > 0 && c.msgRate > 0) {
			return errors.New("give at most one of -rate and -msg-rate, positive")
		}
		if c.stall <= 0 {
			return errors.New("-stall must be positive")
		}
	case "join":
		if c.joins < 1 || c.perRoom < 1 {
			return errors.New("want -joins ≥ 1 and -per-room ≥ 1")
		}
	case "idle":
		if c.participants < 1 || c.perRoom < 1 {
			return errors.New("want -participants ≥ 1 and -per-room ≥ 1")
		}
	case "roster":
		if c.watchers < 1 || c.visits < 1 || c.rate <= 0 || c.deadline <= 0 {
			return errors.New("want -watchers ≥ 1, -visits ≥ 1, -rate > 0 and -deadline > 0")
		}
		if c.arrivals != "poisson" && c.arrivals != "even" {
			return fmt.Errorf("-arrivals %q: want poisson or even", c.arrivals)
		}
	}
	if c.sources == 0 {
		n := c.participants * max(c.rooms, 1)
		switch c.mode {
		case "join":
			n = c.joins
		case "roster":
			n = c.watchers + c.visits
		}
		c.sources = n/20000 + 1
	}
	c.runPrefix = c.roomName + "-" + randHex(3)
	return nil
}

// checkLoopback refuses a server that is not on a loopback address.
func checkLoopback(server string) error {
	host, port, err := net.SplitHostPort(server)
	if err != nil || port == "" {
		return fmt.Errorf("-server %q: want host:port", server)
	}
	ips := []net.IP{net.ParseIP(host)}
	if ips[0] == nil {
		addrs, err := net.LookupIP(host)
		if err != nil || len(addrs) == 0 {
			return fmt.Errorf("-server %q: cannot resolve %s", server, host)
		}
		ips = addrs
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("-server %q: not a loopback address (parley-bench runs on loopback only)", server)
		}
	}
	return nil
}

// cleanupTimeout bounds the leaves that end a run, even after its deadline.
func cleanupTimeout(c *config) time.Duration { return min(c.timeout, time.Minute) }

// run runs one command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "parley-bench: %v\n", err)
		return exitUsage
	}
	raiseNoFile()
	if cfg.path == "client" {
		// sipgo logs some transport warnings on slog's default logger
		// whatever client.Options.Logger says (one "TCP ref went negative"
		// per Session.Leave over TCP): keep them off the report.
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	res := &result{Mode: cfg.mode, Path: cfg.path, Transport: cfg.transport, ServerPID: cfg.pid, SourceAddrs: cfg.sources}
	if cfg.path == "lean" && cfg.mode != "roster" && cfg.transport != "udp" {
		res.SIPConns = "per-participant"
		if cfg.sipConns > 0 {
			res.SIPConns = strconv.Itoa(cfg.sipConns)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	j := &joiner{path: cfg.path, server: cfg.server, transport: cfg.transport, timeout: min(cfg.timeout, 30*time.Second),
		sources: cfg.sources, readSize: 64 << 10}
	if cfg.mode == "join" || cfg.mode == "idle" {
		j.readSize = 4 << 10
	}
	if cfg.path == "lean" {
		ua, err := newSIPUA(ctx, cfg.transport, cfg.server, cfg.sipConns, j.timeout)
		if err != nil {
			res.Errors, res.Error = 1, err.Error()
			return finish(res, stdout, stderr)
		}
		defer ua.close()
		j.ua = ua
	}
	switch cfg.mode {
	case "fanout", "rooms":
		runFanout(ctx, cfg, j, res)
	case "join":
		runJoin(ctx, cfg, j, res)
	case "idle":
		runIdle(ctx, cfg, j, res)
	case "roster":
		runRoster(ctx, cfg, j, res)
	}
	if ctx.Err() != nil {
		res.TimedOut = true
		res.OK = false
	}
	if j.ua == nil {
		return finish(res, stdout, stderr)
	}
	if p := j.ua.err.Load(); p != nil && res.Error == "" {
		res.Errors++
		res.Error = (*p).Error()
		res.OK = false
	}
	return finish(res, stdout, stderr)
}

// finish writes the report and returns the exit status.
func finish(res *result, stdout, stderr io.Writer) int {
	if err := res.writeJSON(stdout); err != nil {
		fmt.Fprintf(stderr, "parley-bench: %v\n", err)
	}
	res.writeSummary(stderr)
	if !res.OK {
		return exitFailed
	}
	return exitOK
}
