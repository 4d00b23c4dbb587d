// Package store keeps what parleyd remembers (issue 16): each room's
// messages for history on join, catch-up and reconnection, each
// participant's cursor (the last message delivered to it), the records of
// rooms that outlast their participants (configured rooms, and ad hoc
// rooms while they linger empty), the user accounts and the nicknames
// registered to them (issue 17). It is the only package of parleyd that
// imports NATS: everything is kept in NATS JetStream, on a NATS
// server embedded in the process (ModeFile, ModeMemory) or an external
// one (ModeURL).
//
// # Layout
//
// One stream holds every room's messages, one subject per room:
//
//	stream  PARLEY_MESSAGES
//	subject parley.room.<key>.msg    (stream subjects parley.room.*.msg)
//	limits  MaxMsgsPerSubject = Config.MaxHistory, MaxAge = Config.MaxAge,
//	        MaxBytes = Config.MaxBytes with DiscardOld (the oldest go first),
//	        MaxMsgSize from Config.MaxMessageBytes; AllowDirect (reads are
//	        direct gets, no consumers); duplicate window 100 ms (no
//	        Nats-Msg-Id is used; see Durability); R1 (Config.Replicas in
//	        ModeURL)
//
// A message's sequence (Message.Seq) is the stream sequence: increasing
// across rooms, so one room's sequences have gaps. A stored message has no
// NATS headers; its payload is a frame, version 1:
//
//	octet 0      1 (the frame version; another value reads as ErrFormat)
//	octets 1-8   Message.Received as Unix nanoseconds, big-endian (0: zero time)
//	uvarint      the length of Message.Sender
//	…            Message.Sender
//	the rest     Message.Body, as the caller gave it
//
// <key> is the room URI escaped into one subject token: every octet in
// [A-Za-z0-9-] stays as it is, every other octet (the escape character '_'
// too) becomes '_' and two upper-case hex digits, so
// "sip:lobby@example.com" is "sip_3Alobby_40example_2Ecom". Since '_'
// always starts a three-octet escape, the escaped form decodes one way
// only: the escaping is injective, two rooms never share a subject. The
// escaped form is also a valid KV key. Escaped keys longer than 1,024
// octets are refused.
//
// Five KV buckets (streams KV_<bucket>, history 1) hold the rest:
//
//	parley-meta     key "format": the layout's version, "1". Open refuses
//	                any other value with ErrFormat, changing nothing. It
//	                is written last on a new store, so a first Open cut
//	                short is simply done again. Key "accounts": "1" once
//	                the accounts bucket was made (see Accounts below);
//	                key "nicknames": the same for the nicknames bucket.
//	parley-rooms    key <room key>: the Room as JSON {"v":1,"uri",
//	                "subject","persistent","empty_since","data"(base64)}
//	parley-cursors  key <room key>.<participant key> (both escaped as
//	                above): the sequence as decimal text. TTL Config.MaxAge:
//	                a cursor not updated for that long points only at
//	                messages gone too.
//	parley-accounts key <account key> (below): the Account as JSON
//	                {"v":1,"username","display"(omitted when empty),
//	                "realm","ha1":{"MD5":…,"SHA-256":…},"created",
//	                "updated"} (times RFC 3339 in UTC). MaxValueSize 4 KiB.
//	parley-nicknames
//	                key <nickname key> (below): the registration as JSON
//	                {"v":1,"key","nickname","account","created"}: the
//	                caller's comparison key as given, the nickname as
//	                registered, the owner's username, the time (RFC 3339
//	                in UTC). MaxValueSize 16 KiB.
//
// DeleteRoom purges the room's subject in each of the three streams (no
// delete markers are left).
//
// # Accounts
//
// An account is a username, an optional display name, and the password
// only as digest hashes: the HA1 of RFC 7616 and RFC 8760,
// H(username ":" realm ":" password) in lower-case hex, for MD5 and
// SHA-256 (SHA-512-256 is accepted too), with the realm they were
// computed for (the server's host). The callers compute them (the CLI,
// the server); the store keeps them exactly as given and refuses anything
// that is not lower-case hex of the algorithm's length. The password
// itself is never given to the store, never kept, and no record or type
// of the store has a field for it (TestAccountsKeptExactly looks for it
// in every file of a file store). Mind that an HA1 is a password
// equivalent for its realm: the store's data is to be protected as such.
//
// A username is 1 to 64 octets of UTF-8 without control, format or space
// characters, '@', ':' or '/' (ErrInvalid otherwise). Usernames compare
// case-sensitively, as stored ("Alice" is not found as "alice"), but two
// usernames differing only in ASCII case cannot both be accounts: an
// account's key is its username with the ASCII letters lower-cased, then
// escaped as room keys are. CreateAccount is a KV create (compare-and-set
// on the key): of stores racing to create "alice" and "Alice", exactly
// one wins, the others get ErrExists. PutAccount and DeleteAccount read
// the key and compare-and-set against its revision, retrying when another
// writer came between; DeleteAccount leaves a KV delete marker (so every
// watcher sees the deletion). A store initialized before accounts existed
// has neither the bucket nor the meta key "accounts": Open makes the
// bucket, then writes the key; a store with the key and without the
// bucket is damaged (ErrCorrupt).
//
// Account answers from memory: Open reads the whole bucket through a KV
// watcher (an ordered consumer, last value per key) and returns only once
// every stored account is in memory (bounded by Open's ctx, 10 s without
// a deadline; 20,000 accounts made Open about 0.3 s longer on this
// project's machine). The watcher goroutine then applies every change, by this
// store or any other process sharing the bucket, within milliseconds
// (TestAccountsURL: about 5 ms, the poll's own period); the store's own
// writes are applied at once as well, the revisions keeping a late
// notification from undoing a newer write. When the connection comes back
// (ModeURL) the watch is started again and the bucket read again into a
// new copy that replaces the old, so changes missed while the server was
// away, or a server that came back empty, are seen; until then, and
// while it is away, Account answers from what it last knew. Accounts reads
// the bucket itself (direct gets), not the memory.
//
// # Registered nicknames
//
// An account may register nicknames: a registered nickname, and any
// nickname confusable with it, is refused to everyone else in every room.
// Confusability is the caller's: it gives each registration its
// comparison key (internal/room's skeleton of the nickname), which the
// store treats as an opaque string, 1 to 1,024 octets of UTF-8 (the
// nickname itself: 1 to 1,023 octets of UTF-8 without control
// characters, RFC 7701 §7.1; the account: a valid username; ErrInvalid
// otherwise). The bucket key is the comparison key escaped as room keys
// are (so up to 3,072 octets: the subject still fits a NATS control
// line). RegisterNickname is a KV create: of stores racing to register
// one key, exactly one wins, the others get ErrExists, whoever the owner
// (a caller wanting idempotence looks at NicknameOwner first).
// DropNickname reads the key and deletes it against its revision
// (ErrNotFound when none); DropAccountNicknames lists the bucket (direct
// gets) and deletes each of the account's registrations the same way,
// leaving an unreadable record (its owner is unknown: logged) to
// DropNickname. The store does not check that a registration's account
// exists. DeleteAccount, once the account is deleted, drops its
// nicknames: when that fails the account stays deleted, the error says
// so, and DropAccountNicknames drops the rest; a nickname registered
// while its account is being deleted may outlive it. Deletions leave KV
// delete markers. The bucket came after the accounts': an older store
// gets it on Open exactly as the accounts bucket (meta key "nicknames").
//
// NicknameOwner answers from memory, like Account: the same watcher code
// (one goroutine per bucket) reads the whole bucket before Open returns,
// applies every change by this store at once and by others within
// milliseconds, and reads the bucket again after a reconnection.
// NicknameRegistrations reads the bucket itself.
//
// # Appends
//
// Append publishes over core NATS with a reply subject of the store's own
// (_INBOX.<nuid>.a.<id>) and returns. It holds each publish back for
// Config.Linger (1 ms by default; up to 256 publishes or 32 KiB, then they
// go at once) so that those of a busy moment reach JetStream together: one
// write to the server, one pass of the stream's loop, one flush of the
// acknowledgements for all of them. At 5,000 messages/s from a room of 100
// this halves the store's CPU per message (about 30 µs to about 15 µs,
// docs/BENCHMARKS.md); a lone message's acknowledgement comes up to 1 ms
// later. Close publishes what is held before it waits. JetStream's
// acknowledgements come back on one subscription in publish order, and a
// single completer goroutine calls the done functions in Append order. At most
// Config.MaxPending publishes are in flight; past that Append waits for a
// slot up to 500 ms, then fails the append with ErrUnavailable rather than
// queue without bound. An append whose acknowledgement has not come 10 s
// after its publish fails with ErrUnavailable if the server has answered
// nothing for 10 s, or has answered a later publish (so this answer was
// lost); a pipeline that is only slow (SyncAlways on a busy disk) is left
// to finish. In ModeURL the connection has no
// reconnect buffer: while it is down, appends fail at once with
// ErrUnavailable and those in flight when it went fail too (they may have
// been stored: their acknowledgement was lost with the connection).
//
// # Reads
//
// Last and After use JetStream's batched direct gets (nats-server 2.11 or
// later): one request returns up to n messages of a subject from a
// sequence (or a time), then an end-of-batch status saying how many more
// match. After is one such request. JetStream reads a subject forwards
// only; Last first counts the room's messages from the oldest in range
// and, when there are more than n, finds where the last n begin by
// interpolating between the room's first and last sequences with
// one-message probes (each tells how many match from there), then reads
// forwards: a few round trips and at most about n/4+8 messages read in
// vain, however long the history.
//
// JetStream's file store has no index of a subject's positions inside a
// message block: to return a room's messages it reads every message
// stored between two of them. Where many rooms interleave that dominates:
// with 1,000 rooms of 1,000 messages each (1 M messages), Last(50) takes
// about 12 ms and Last(1000) about 0.6 s, against 1.5 ms and 10–70 ms
// with 20 rooms (BenchmarkLast). Hence a cache of each room's tail: the
// first Last(n) on a room reads its last n messages and up to n more
// (while under Config.CacheMessages: default 128, at most MaxHistory),
// keeps up to Config.CacheMessages of them in memory; the room's acknowledged appends are added in order (by the
// completer, before their done), and later Last and After calls that fall
// within the tail are answered from memory (about 30 µs for Last(50)). The
// cache holds at most Config.CacheBytes (64 MiB by default; the rooms read
// least recently go first). A tail is dropped when an append to its room
// fails after its publish (the message may be stored without the cache
// knowing), by DeleteRoom, and all are dropped when the connection is
// lost; messages older than MaxAge leave it as they leave the stream.
// The cache does not see messages dropped by Config.MaxBytes's
// DiscardOld (the oldest of the whole stream) before their time, nor
// writes by another process (see ModeURL below).
//
// # Cursors
//
// SetCursor only updates a map in memory. A flusher goroutine writes the
// latest value of each changed cursor at most every Config.CursorInterval
// (1 s by default: at most one write per cursor and second, however busy
// its room), pipelined like appends. Cursors never move back: a
// value not above the one in memory is ignored, and a cursor not known in
// memory is read from the bucket before its first write in this process.
// Close writes what is pending.
//
// # The embedded server
//
// ModeFile and ModeMemory start nats-server in the process: no listener
// (DontListen; no client, cluster, leaf, gateway, websocket, MQTT or
// monitoring port), no signal handlers, server name "parley-store", and
// one in-process client connection (nats.InProcessServer, a net.Pipe).
// JetStream keeps its files in DataDir/nats/jetstream (DataDir/nats is
// created with mode 0700). nats-server does not lock its directory, so the
// store holds an flock on DataDir/nats/LOCK while open: a second store on
// the same directory, in this process or another, fails with ErrInUse (a
// killed process leaves no stale lock). ModeMemory uses a private temporary directory
// that stays empty and is removed by Close. Resources are bounded:
// JetStream's storage limit (disk in ModeFile, memory in ModeMemory) is
// Config.MaxBytes plus 64 MiB for each of the rooms, cursors, accounts and
// nicknames buckets plus 256 MiB of slack; the other kind is limited to 64 MiB and unused;
// max_payload is Config.MaxMessageBytes plus 64 KiB. The server's log goes
// to Config.Logger with component=nats: its notices (a banner at every
// start) at Debug, warnings at Warn, errors at Error.
//
// # Durability
//
// A JetStream acknowledgement of a stream with one replica is sent once the
// message is written to the stream's file with write(2) (the file store
// flushes in place for R1 streams): it is in the operating system's page
// cache, which outlives the process. So with the default
// (Config.SyncAlways false) a done(seq, nil) survives kill -9 of parleyd,
// a panic or an OOM kill; what it does not survive is a power loss or a
// kernel crash within Config.SyncInterval (default 1 s; JetStream's own
// default is 2 min) of the write, when the files are fsynced. With
// SyncAlways every write is fsynced before the acknowledgement: nothing
// acknowledged is lost even then, at a cost the benchmarks show (on this
// project's 2-core machine, BenchmarkAppend with 100 rooms: about 88,000
// appends/s by default when the machine was otherwise quiet, 35,000 to
// 47,000 while others loaded it, some 10 µs of CPU per append; with
// SyncAlways about 3,700/s quiet and under 1,000 loaded, bound by the
// disk's fsync latency). A chat server's history does not warrant an
// fsync per message, hence the default. TestCrashKill checks the default:
// a child process appends, prints what was acknowledged, and is killed
// with SIGKILL twice on one directory; everything acknowledged is then
// there, once, in order. TestCrashCopy checks the same in-process on a copy
// of the live directory.
//
// What JetStream does with a damaged directory (TestCorruption): a
// garbled record or a truncated message block is recovered up to the
// damage (the rest of that block is lost, a warning is logged, Open
// succeeds); a damaged index.db is rebuilt from the blocks, nothing lost;
// a stream whose metafile is damaged or missing is not loaded, and Open
// fails with ErrCorrupt naming it and its directory, without changing
// anything.
//
// Open is quick after a clean Close: about 40 ms (16 ms of CPU) for 1,000
// rooms × 1,000 messages (BenchmarkReopen). Two settings matter: the
// message stream's duplicate window is JetStream's smallest, 100 ms (no
// Nats-Msg-Id is used, and at every start JetStream rereads every message
// stored within the window: with its default 2 minutes, 0.7 s of CPU
// after a busy spell); and after a crash, JetStream rebuilds its state
// from the message blocks written since it last saved it (every 2 to 2.5
// minutes): at worst all of them, about 0.55 s of CPU for the 1 M
// messages (330 MB). The first Last on a room after a start reads from
// cold blocks (0.25 to 0.5 s for one of 1,000 interleaved rooms on this
// busy machine); later ones come from the cache.
//
// # Goroutines and errors
//
// A store owns: the completer (done calls, cache updates), a janitor (overdue
// acknowledgements), the linger's flusher (publishes what Append held), the cursor flusher, two watchers, the accounts' and
// the nicknames' (each follows the KV watch of its bucket, and starts a
// new one after a reconnection or when one breaks, with a backoff of
// 100 ms doubling to 5 s while that fails), a short-lived one after each
// reconnection (ModeURL: the streams are checked, and created again on a
// server that came back empty, before Available turns true; then the
// watchers are told to read their buckets again), nats.go's connection
// goroutines, two subscription handlers (acknowledgements, direct-get
// replies), each KV watch's delivery goroutine and the one nats.go keeps
// per watch to end it with its context, and the embedded server's. Close
// stops them all: it writes pending cursors, waits for the appends in
// flight and their done calls (until ctx ends: the rest get ErrClosed),
// cancels the watches (each watcher drains its watch's channel, so that
// nats.go's delivery goroutine is never left blocked on it, at most 2 s),
// then closes the connection and the server.
//
// Callers branch on ErrUnavailable (try later; an append that failed with
// it may have been stored), ErrClosed, ErrFormat, ErrCorrupt, ErrTooLarge,
// ErrInUse, and for accounts and nicknames ErrExists, ErrNotFound and
// ErrInvalid with errors.Is; other errors wrap what NATS said.
//
// In ModeURL the server must have JetStream, and the account must allow
// publishing to parley.room.>, $KV.parley-cursors.>, $KV.parley-rooms.>,
// $KV.parley-accounts.>, $KV.parley-nicknames.>, $KV.parley-meta.> and
// $JS.API.>, and subscribing to _INBOX.> (the KV watches are delivered
// there too). Several
// parleyd instances must not share one account's streams: their limits
// would overwrite each other's, and cursors are written without
// compare-and-set. Accounts and nicknames are the exception: every write
// to their buckets is a compare-and-set and every store follows the
// others' writes, so a short-lived store (the CLI's) may manage the
// accounts and nicknames of a running parleyd on the same external server (opened with the same Config
// limits: Open sets the message stream's).
package store
