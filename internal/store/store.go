package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Modes of a store, for Config.Mode.
const (
	// ModeFile runs an embedded NATS server with JetStream on disk in
	// Config.DataDir/nats. It is the default.
	ModeFile = "file"
	// ModeMemory runs the embedded server with JetStream memory storage
	// only: for tests and demos, nothing survives Close.
	ModeMemory = "memory"
	// ModeURL uses an external NATS server or cluster at Config.URL, with
	// JetStream enabled there.
	ModeURL = "url"
)

// Defaults for the zero values of Config.
const (
	// DefaultMaxHistory is Config.MaxHistory's default.
	DefaultMaxHistory = 1000
	// DefaultMaxAge is Config.MaxAge's default.
	DefaultMaxAge = 7 * 24 * time.Hour
	// DefaultMaxBytes is Config.MaxBytes's default in ModeFile and ModeURL.
	DefaultMaxBytes = 4 << 30
	// DefaultMaxBytesMemory is Config.MaxBytes's default in ModeMemory.
	DefaultMaxBytesMemory = 256 << 20
	// DefaultMaxMessageBytes is Config.MaxMessageBytes's default (as
	// parleyd's msrp.max_message default).
	DefaultMaxMessageBytes = 4 << 20
	// MaxMessageBytesLimit is the largest Config.MaxMessageBytes.
	MaxMessageBytesLimit = 32 << 20
	// DefaultMaxPending is Config.MaxPending's default.
	DefaultMaxPending = 4096
	// DefaultCursorInterval is Config.CursorInterval's default.
	DefaultCursorInterval = time.Second
	// DefaultSyncInterval is Config.SyncInterval's default.
	DefaultSyncInterval = time.Second
	// DefaultLinger is Config.Linger's default.
	DefaultLinger = time.Millisecond
)

// Config says where and how a Store keeps its data. Its zero value (with a
// DataDir) is a file store with the defaults.
type Config struct {
	// Mode is ModeFile, ModeMemory or ModeURL; "" means ModeFile.
	Mode string
	// DataDir is where a ModeFile store lives: JetStream's store directory
	// is DataDir/nats (created with mode 0700). Required in ModeFile,
	// unused otherwise.
	DataDir string
	// URL is the external NATS server or cluster of ModeURL (a
	// comma-separated list of nats:// URLs; credentials may be in the
	// URL's user part). Required in ModeURL, unused otherwise.
	URL string
	// MaxHistory is the largest number of messages any room keeps (the
	// message stream's MaxMsgsPerSubject): a room's oldest message is
	// dropped when a newer one would exceed it. 0 means DefaultMaxHistory.
	MaxHistory int
	// MaxAge is the longest any room keeps a message (the message stream's
	// MaxAge; cursors not updated for that long expire too). 0 means
	// DefaultMaxAge.
	MaxAge time.Duration
	// MaxBytes bounds the message stream as a whole: beyond it the oldest
	// messages of all rooms are dropped first. 0 means DefaultMaxBytes
	// (DefaultMaxBytesMemory in ModeMemory). The embedded server's
	// JetStream limits are derived from it (see doc.go).
	MaxBytes int64
	// MaxMessageBytes is the largest stored message (Sender and Body);
	// Append refuses a larger one with ErrTooLarge. 0 means
	// DefaultMaxMessageBytes; at most MaxMessageBytesLimit. In ModeURL the
	// external server's max_payload may be smaller.
	MaxMessageBytes int
	// MaxPending bounds the appends and cursor writes in flight (published,
	// not yet acknowledged, or acknowledged but their done not yet called).
	// Append waits for a free slot at most StallTimeout. 0 means
	// DefaultMaxPending.
	MaxPending int
	// CacheMessages is how many of a room's last messages the store keeps
	// in memory once the room has been read (Last), so that later Last
	// and After calls within them are answered without JetStream (which
	// scans every message stored between two of a room's when many rooms
	// interleave). 0 means DefaultCacheMessages; never more than
	// MaxHistory; a negative value turns the cache off.
	CacheMessages int
	// CacheBytes bounds the memory of the cache (the rooms read least
	// recently go first). 0 means DefaultCacheBytes; negative turns the
	// cache off.
	CacheBytes int64
	// CursorInterval is how often changed cursors are written (each
	// cursor's latest value once): after a crash a participant's cursor
	// may lag by this much, and it may get those messages again. 0 means
	// DefaultCursorInterval.
	CursorInterval time.Duration
	// SyncAlways makes the embedded file store fsync every message before
	// it is acknowledged (ModeFile only): an acknowledged message then
	// survives a power loss or kernel crash, not only the death of the
	// process, at a large cost in throughput (see doc.go for figures).
	// False (the default): an acknowledged message has been written to
	// the operating system and survives kill -9 of parleyd; the files are
	// fsynced every SyncInterval.
	SyncAlways bool
	// SyncInterval is how often the embedded file store fsyncs when
	// SyncAlways is off (ModeFile only). 0 means DefaultSyncInterval.
	SyncInterval time.Duration
	// Linger is how long an append or cursor write is held before it is
	// published, so that those of a busy moment go to JetStream together:
	// one write, one pass of the stream's loop and one flush of the
	// acknowledgements for all of them instead of one each, which halves
	// the store's CPU per message at a few thousand messages per second
	// (docs/BENCHMARKS.md). It delays each acknowledgement, and so a
	// stored message's 200, by up to Linger. 0 means DefaultLinger;
	// negative publishes each at once.
	Linger time.Duration
	// Replicas is the number of replicas of the streams in ModeURL (a
	// cluster); 0 means 1. The embedded modes always use 1.
	Replicas int
	// Logger receives the store's log lines and the embedded NATS
	// server's (its notices at Debug level). nil discards them.
	Logger *slog.Logger
}

// Typed errors that callers branch on with errors.Is. Other errors are
// wrapped with %w around what NATS returned.
var (
	// ErrUnavailable: the store cannot take or answer the request now
	// (the external server is unreachable, the pipeline stayed full, an
	// append's acknowledgement never came). An append that fails with it
	// may or may not have been stored.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
	// ErrFormat: the data were written in a format this build does not
	// know (a newer parleyd), or a stored message is not in it.
	ErrFormat = errors.New("store: unknown data format")
	// ErrCorrupt: the store's data are damaged beyond what JetStream
	// recovers by itself (a stream of an initialized store is missing).
	ErrCorrupt = errors.New("store: data damaged")
	// ErrTooLarge: a message exceeds Config.MaxMessageBytes (or the
	// external server's max_payload).
	ErrTooLarge = errors.New("store: message too large")
	// ErrInUse: another store (in this process or another) has the
	// DataDir open.
	ErrInUse = errors.New("store: data directory in use")
	// ErrExists: CreateAccount of a username that is an account already
	// (or differs from one only in ASCII case); RegisterNickname of a
	// comparison key registered already.
	ErrExists = errors.New("store: already exists")
	// ErrNotFound: DeleteAccount of a username that is no account;
	// DropNickname of a key that is not registered.
	ErrNotFound = errors.New("store: not found")
	// ErrInvalid: an account that cannot be stored (its username, realm,
	// display name or hashes), or a nickname registration (its key,
	// nickname or account).
	ErrInvalid = errors.New("store: invalid")
)

// formatVersion is the version of the layout described in doc.go, kept in
// the meta bucket under formatKey.
const formatVersion = "1"

// ackTimeout is how long an append waits for its acknowledgement before it
// fails with ErrUnavailable (a variable for tests).
var ackTimeout = 10 * time.Second

// Names of the stream, the buckets and their subjects (doc.go).
const (
	msgStream       = "PARLEY_MESSAGES"
	msgSubjectPfx   = "parley.room."
	msgSubjectSfx   = ".msg"
	metaBucket      = "parley-meta"
	roomsBucket     = "parley-rooms"
	cursorsBucket   = "parley-cursors"
	accountsBucket  = "parley-accounts"
	nicknamesBucket = "parley-nicknames"
	formatKey       = "format"
	accountsKey     = "accounts"  // in the meta bucket: the accounts bucket was made
	nicknamesKey    = "nicknames" // in the meta bucket: the nicknames bucket was made
	serverName      = "parley-store"
)

// Store keeps room messages, participants' cursors, room records,
// accounts and registered nicknames in NATS JetStream. Its methods are safe for concurrent use.
type Store struct {
	cfg    Config
	log    *slog.Logger
	srv    *server.Server // the embedded server; nil in ModeURL
	tmpDir string         // ModeMemory's private JetStream directory, removed by Close
	lock   *os.File       // ModeFile's lock on DataDir/nats/LOCK
	nc     *nats.Conn
	js     jetstream.JetStream
	inbox  string // this store's reply subject prefix, "_INBOX.<nuid>."

	metaKV      jetstream.KeyValue
	roomsKV     jetstream.KeyValue
	cursorsKV   jetstream.KeyValue
	accountsKV  jetstream.KeyValue
	nicknamesKV jetstream.KeyValue

	available atomic.Bool
	pub       publisher
	rd        reader
	cur       cursors
	cache     cache
	acc       watched[Account]              // the accounts bucket in memory
	nick      watched[NicknameRegistration] // the nicknames bucket in memory

	closing   chan struct{} // closed when Close begins
	closeOnce sync.Once
	closed    chan struct{} // closed when Close has finished
	closeErr  error
	wg        sync.WaitGroup // the store's own goroutines
	bgMu      sync.Mutex
	bgDone    bool // no more goroutines may start (Close is waiting for wg)

	disconnects atomic.Uint64
	reconnects  atomic.Uint64

	stallTimeout time.Duration // Append's wait for a slot
	ackTimeout   time.Duration // see the janitor
	flushEvery   time.Duration // Config.CursorInterval
}

// Stats are a store's counters since Open.
type Stats struct {
	Appended       uint64 // appends acknowledged (done called with a sequence)
	Failed         uint64 // appends whose done got an error
	Pending        uint64 // appends and cursor writes in flight now
	Stalled        uint64 // appends that had to wait for a free slot
	CursorWrites   uint64 // cursor values written (after coalescing)
	CursorFailures uint64 // cursor writes that failed (retried later)
	CursorsPending uint64 // cursor values waiting to be written
	Disconnects    uint64 // losses of the connection (ModeURL)
	Reconnects     uint64 // reconnections (ModeURL)
	CacheHits      uint64 // Last and After calls answered from memory
	CacheMisses    uint64 // Last and After calls that read JetStream
	CacheRooms     uint64 // rooms whose last messages are in memory
	CacheBytes     uint64 // the memory they take (their stored frames)
	Available      bool   // what Available returns
	// AppendLatency is how long appends took, Append to done, for those
	// acknowledged (issue 18's metrics).
	AppendLatency Latency
}

// Open starts the embedded NATS server (ModeFile, ModeMemory: no network
// listener, an in-process client connection) or connects to Config.URL
// (ModeURL: the server must be reachable now; later losses are reconnected
// forever), then creates the message stream and the buckets or checks the
// ones there. A store written in a newer or unknown format fails with
// ErrFormat, one whose streams are partly missing with ErrCorrupt, a
// DataDir another store has open with ErrInUse, an unreachable URL with
// ErrUnavailable; other errors wrap what NATS said.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	s := &Store{
		cfg:          cfg,
		log:          cfg.Logger,
		closing:      make(chan struct{}),
		closed:       make(chan struct{}),
		stallTimeout: 500 * time.Millisecond,
		ackTimeout:   ackTimeout,
		flushEvery:   cfg.CursorInterval,
	}
	s.acc.prepare(s, "accounts", &s.accountsKV, decodeAccount, func(a *Account) string { return a.Username })
	s.nick.prepare(s, "nicknames", &s.nicknamesKV, decodeNickname, func(r *NicknameRegistration) string { return r.Key })
	if err := s.open(ctx); err != nil {
		close(s.closing)
		s.acc.stop()
		s.nick.stop()
		s.teardown()
		return nil, err
	}
	return s, nil
}

func (c Config) normalize() (Config, error) {
	if c.Mode == "" {
		c.Mode = ModeFile
	}
	switch c.Mode {
	case ModeFile:
		if c.DataDir == "" {
			return c, errors.New("store: ModeFile needs a DataDir")
		}
	case ModeMemory:
	case ModeURL:
		if c.URL == "" {
			return c, errors.New("store: ModeURL needs a URL")
		}
	default:
		return c, fmt.Errorf("store: unknown mode %q", c.Mode)
	}
	if c.MaxHistory < 0 || c.MaxAge < 0 || c.MaxBytes < 0 || c.MaxMessageBytes < 0 || c.MaxPending < 0 || c.SyncInterval < 0 || c.Replicas < 0 || c.CursorInterval < 0 {
		return c, errors.New("store: negative limit in Config")
	}
	if c.MaxHistory == 0 {
		c.MaxHistory = DefaultMaxHistory
	}
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
		if c.Mode == ModeMemory {
			c.MaxBytes = DefaultMaxBytesMemory
		}
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.MaxMessageBytes > MaxMessageBytesLimit {
		return c, fmt.Errorf("store: MaxMessageBytes %d above %d", c.MaxMessageBytes, MaxMessageBytesLimit)
	}
	if c.MaxPending == 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.CacheMessages == 0 {
		c.CacheMessages = DefaultCacheMessages
	}
	if c.CacheBytes == 0 {
		c.CacheBytes = DefaultCacheBytes
	}
	if c.CacheMessages < 0 || c.CacheBytes < 0 {
		c.CacheMessages, c.CacheBytes = 0, 0
	}
	c.CacheMessages = min(c.CacheMessages, c.MaxHistory) // no more than the stream keeps
	if c.SyncInterval == 0 {
		c.SyncInterval = DefaultSyncInterval
	}
	if c.CursorInterval == 0 {
		c.CursorInterval = DefaultCursorInterval
	}
	switch {
	case c.Linger == 0:
		c.Linger = DefaultLinger
	case c.Linger < 0:
		c.Linger = 0 // off
	}
	if c.Replicas == 0 || c.Mode != ModeURL {
		c.Replicas = 1
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func (s *Store) open(ctx context.Context) error {
	var err error
	switch s.cfg.Mode {
	case ModeFile, ModeMemory:
		dir := filepath.Join(s.cfg.DataDir, "nats")
		if s.cfg.Mode == ModeMemory {
			if s.tmpDir, err = os.MkdirTemp("", "parley-store-*"); err != nil {
				return fmt.Errorf("store: %w", err)
			}
			dir = s.tmpDir
		} else if err = os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("store: %w", err)
		} else if s.lock, err = lockDir(dir); err != nil {
			return err
		}
		if s.srv, err = s.startEmbedded(dir); err != nil {
			return err
		}
		s.nc, err = nats.Connect("", s.natsOptions(nats.InProcessServer(s.srv))...)
	case ModeURL:
		s.nc, err = nats.Connect(s.cfg.URL, s.natsOptions()...)
	}
	if err != nil {
		return fmt.Errorf("store: connecting to NATS: %w: %w", ErrUnavailable, err)
	}
	s.available.Store(s.nc.IsConnected())
	if s.js, err = jetstream.New(s.nc, jetstream.WithDefaultTimeout(10*time.Second)); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := s.setup(ctx, false); err != nil {
		return err
	}
	s.inbox = nats.NewInbox() + "."
	s.cache.init(s.cfg.CacheMessages, s.cfg.CacheBytes, s.cfg.MaxAge)
	if err := s.pub.init(s); err != nil {
		return err
	}
	if err := s.rd.init(s); err != nil {
		return err
	}
	s.cur.init(s)
	// Every account and registered nickname is in memory before Open
	// returns.
	wa, err := s.acc.init(ctx)
	if err != nil {
		return err
	}
	wn, err := s.nick.init(ctx)
	if err != nil {
		wa.stop()
		return err
	}
	s.wg.Add(5)
	if s.pub.linger > 0 {
		s.wg.Add(1)
		go s.pub.flusher()
	}
	go s.pub.complete()
	go s.pub.janitor()
	go s.cur.flusher()
	go s.acc.run(wa)
	go s.nick.run(wn)
	return nil
}

// natsOptions are the client connection's options: reconnect forever with
// a capped exponential backoff, no reconnect buffer (appends while down
// fail fast instead of queueing), and Available following the connection.
func (s *Store) natsOptions(extra ...nats.Option) []nats.Option {
	return append([]nats.Option{
		nats.Name("parleyd-store"),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(reconnectDelay),
		nats.ReconnectBufSize(-1),
		nats.PingInterval(5 * time.Second),
		nats.MaxPingsOutstanding(2),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			s.available.Store(false)
			select {
			case <-s.closing:
				return // our own Close
			default:
			}
			s.disconnects.Add(1)
			s.log.Warn("store: NATS connection lost", "err", err)
			s.cache.clear() // the server may come back with other contents
			s.pub.failInFlight(fmt.Errorf("%w: connection lost", ErrUnavailable))
			s.rd.failAll(fmt.Errorf("%w: connection lost", ErrUnavailable))
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			s.reconnects.Add(1)
			s.log.Info("store: NATS connection back", "url", nc.ConnectedUrlRedacted())
			// A server that came back empty gets the streams again
			// before appends resume.
			s.goBackground(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := s.setup(ctx, true); err != nil {
					s.log.Error("store: checking streams after reconnect", "err", err)
				}
				if nc.IsConnected() {
					s.available.Store(true)
				}
				s.acc.reconnected()
				s.nick.reconnected()
			})
		}),
		nats.ClosedHandler(func(*nats.Conn) { s.available.Store(false) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			s.log.Warn("store: NATS error", "subject", subj, "err", err)
		}),
	}, extra...)
}

// reconnectDelay: 50 ms doubling to 2 s, plus up to 25% jitter.
func reconnectDelay(attempts int) time.Duration {
	d := 50 * time.Millisecond
	for i := 1; i < attempts && d < 2*time.Second; i++ {
		d *= 2
	}
	d = min(d, 2*time.Second)
	return d + time.Duration(time.Now().UnixNano()%int64(d/4+1))
}

// Available reports whether the store can take appends now: false while
// the external server of ModeURL is unreachable, and after Close.
func (s *Store) Available() bool {
	select {
	case <-s.closing:
		return false
	default:
	}
	return s.available.Load()
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	st := Stats{
		Appended:       s.pub.appended.Load(),
		Failed:         s.pub.failed.Load(),
		Pending:        uint64(s.pub.inFlight()),
		Stalled:        s.pub.stalled.Load(),
		CursorWrites:   s.cur.writes.Load(),
		CursorFailures: s.cur.failures.Load(),
		CursorsPending: uint64(s.cur.pendingCount()),
		Disconnects:    s.disconnects.Load(),
		Reconnects:     s.reconnects.Load(),
		CacheHits:      s.cache.hits.Load(),
		CacheMisses:    s.cache.misses.Load(),
		Available:      s.Available(),
		AppendLatency:  s.pub.latency.snapshot(),
	}
	s.cache.mu.Lock()
	st.CacheRooms, st.CacheBytes = uint64(len(s.cache.rooms)), uint64(s.cache.bytes)
	s.cache.mu.Unlock()
	return st
}

// Close writes the cursors still pending, waits for every append in flight
// to be acknowledged and its done called (at most until ctx ends; the
// rest get ErrClosed and Close returns ctx's error), then closes the
// connection and the embedded server. Appends after Close begins get
// ErrClosed. Close is idempotent: later calls wait for the first one and
// return its result.
func (s *Store) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.closeErr = s.shutdown(ctx)
		close(s.closed)
	})
	select {
	case <-s.closed:
		return s.closeErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) shutdown(ctx context.Context) error {
	// The flusher writes what is pending, then stops taking cursors.
	s.cur.stop(ctx)
	// No more appends are accepted; wait for those in flight.
	err := s.pub.drain(ctx)
	s.bgMu.Lock()
	s.bgDone = true
	s.bgMu.Unlock()
	s.acc.stop()  // ends the accounts watch and its goroutine
	s.nick.stop() // the nicknames watch
	s.teardown()
	s.wg.Wait()
	return err
}

// goBackground runs f on a goroutine Close waits for, unless Close is
// already waiting.
func (s *Store) goBackground(f func()) bool {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.bgDone {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// teardown closes the connection and the embedded server.
func (s *Store) teardown() {
	if s.nc != nil {
		s.nc.Close()
	}
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	}
	if s.tmpDir != "" {
		os.RemoveAll(s.tmpDir)
	}
	if s.lock != nil {
		s.lock.Close() // releases the flock
	}
	s.available.Store(false)
}

// ctxTimeout gives ctx a deadline when it has none, so that no request
// waits forever on a server that stopped answering.
func ctxTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, 10*time.Second)
}

// check is the common guard of request methods.
func (s *Store) check() error {
	select {
	case <-s.closing:
		return ErrClosed
	default:
	}
	if !s.available.Load() {
		return ErrUnavailable
	}
	return nil
}
