// Command parley-bench is parleyd's load tool (issue 7). It runs against a
// parleyd on a loopback address only, every run bounded in count and time,
// and prints one JSON object line on stdout and a human summary on stderr.
//
//	parley-bench <mode> [flags]
//
// # Modes
//
// fanout: one room of -participants (100) members; the first -senders (10)
// send -messages (10,000) each, keeping at most -window (64) messages in
// flight; every other member must receive every message, once, in order.
// -rate offers a fixed load in deliveries/s (or -msg-rate in messages/s)
// instead of saturating: sender k of n sends its i-th message at
// i·T + k·T/n, a late send going at once. -duration stops the senders
// early; -size sets the CPIM body (200 octets); -stall (10 s) gives up when
// no delivery arrives.
//
// rooms: -rooms (10) rooms like fanout's, traffic in all of them; -rate is
// then the total over all rooms.
//
// join: -joins (2000) participants, -per-room (100) to a room, joined with
// -concurrency (32) in flight — INVITE → 200 → ACK → MSRP connect → bind
// (bodiless SEND) → 200 — timed from the first INVITE to the last bind; then
// as many leaves (BYE → 200) the same way.
//
// idle: -participants (10,000) idle members, -per-room (100) to a room. With
// -pid, the server's VmRSS is read before the joins and -settle (3 s) after
// them: rss_per_participant_bytes is (after − before) / K. MSRP connections
// are spread over -sources addresses of 127.0.0.0/8 (default one per 20,000
// participants: the ephemeral port range 32768–60999 holds 28,232 ports per
// source address). RLIMIT_NOFILE is raised to its hard limit.
//
// roster (issue 19): -watchers (100) members of one room, each a
// client.Join of its own (SIP and MSRP connections, roster on) reading its
// Session.RosterEvents; once every watcher's roster holds them all,
// -visits (200) visitors (client.Join, NoRoster) arrive at -rate (5) a
// second, -arrivals poisson (the default) or even, each stays -stay (2s;
// "0-2s" draws each stay uniformly from the range, so that some visits
// fall inside one notify window) and leaves; -seed fixes the draws. For
// every pair of watcher and visitor it times the visitor's Join returning
// (200 to the INVITE, MSRP bound) → the watcher receiving MemberJoined for
// the visitor's URI, and the visitor's Leave call → MemberLeft. An event
// that has not come -deadline (10 s) after the last visitor left is
// missed (a run cut short by -timeout counts as missed what had not come
// yet). This mode always takes -path client.
//
// Common flags: -server host:port (127.0.0.1:5060; refused unless loopback),
// -transport tcp|udp|tls (SIP; tcp; tls on the lean path only, to
// parleyd's SIP TLS address, its certificate not checked), -pid N (parleyd's PID), -timeout (5 m: the
// hard deadline, after which the run stops, reports what it has and exits 1),
// -room (room name prefix; a random suffix per run), -concurrency,
// -sip-conns (0: over TCP each lean participant has its own SIP connection,
// as real clients do, and the report says "sip_conns": "per-participant";
// N: they share N connections, the default before issue 20), -sources,
// -path.
//
// # Output
//
// The JSON line has mode, path, transport, ok, the sizes (rooms,
// participants, senders, messages, window, body_bytes,
// offered_deliveries_per_sec, in_flight) and what the mode measured:
//
//   - fanout, rooms: sent, expected (sent × (N−1)), deliveries, seconds (first
//     send to last delivery), deliveries_per_sec, messages_per_sec,
//     latency_us {p50, p90, p99, max, n} of every delivery (its read(2) minus
//     the send time in its body), lost, duplicated, reordered, unexpected,
//     notices (the room's own messages), joins and joins_per_sec of the setup;
//   - join: joins, joins_per_sec, join_latency_us, leaves, leaves_per_sec,
//     leave_latency_us, focus_byes;
//   - idle: joins, joins_per_sec, server_rss_before_bytes,
//     rss_per_participant_bytes, leaves;
//   - roster: watchers, watchers_measured (those whose roster came),
//     watchers_join_seconds, visits, visits_per_sec, arrivals, stay, seed,
//     seconds (first visit to the end of the wait), expected_events (2 per
//     pair), roster_events (of which arrived), missed (missed_joins +
//     missed_leaves), duplicated, out_of_order (a MemberJoined after the
//     same visitor's MemberLeft), roster_dropped (RosterDropped),
//     roster_ended (a RosterReset after the first), early_joins and
//     early_leaves (an event before its cause: the focus tells the roster
//     as it accepts the INVITE, before its 200 and the MSRP bind; counted
//     as 0 ms), brief_pairs (MemberJoined and MemberLeft within 1 ms: one
//     NOTIFY), roster_join_latency_ms and roster_leave_latency_ms {p50,
//     p90, p99, max, n} over the pairs; joins, join_latency_us, leaves,
//     leave_latency_us are the visitors' own Join and Leave calls;
//   - with -pid: server_cpu_ms over the measured interval (utime + stime
//     from /proc/PID/stat, in clock ticks of 10 ms), server_cpu_ms_per_1k_deliveries
//     (or server_cpu_ms_per_1k_joins), server_rss_bytes and
//     server_rss_peak_bytes (VmRSS, VmHWM from /proc/PID/status);
//   - this tool's own cost: bench_cpu_ms_per_1k_deliveries,
//     bench_rss_per_participant_bytes, bench_goroutines_per_participant;
//   - targets: issue 7's targets that apply, each with want, got and met
//     (deliveries/s ≥ 1,000,000 and ≤ 0.5 ms server CPU per 1,000
//     deliveries at saturation; p99 ≤ 5 ms when paced; joins ≥ 1,000/s;
//     ≤ 16 KiB server RSS per idle participant; 0 lost, 0 duplicated) and
//     issue 19's (roster join and leave latency p99 ≤ 1,000 ms, 0 missed
//     roster events, meant for 100 watchers). They
//     are meant for the sizes on a quiet machine, and never change
//     the exit status;
//   - errors, first_error, timed_out.
//
// The exit status is 1 when a message was lost, duplicated or reordered,
// a roster event was missed, duplicated or out of order (or a watcher's
// roster ended), a participant failed to join or leave, any other error
// occurred, or the run hit -timeout; 2 for a bad command line.
//
// # Accounting
//
// Every body ends with a marker "pb:" room ":" sender ":" sequence ":" send
// time (16 hex digits of nanoseconds since the run's epoch, monotonic, taken
// just before write(2)). Each receiver keeps one seqTracker per sender of its
// room: a number below the next expected one fills a gap (reordered) or was
// seen before (duplicated); a number above it opens a gap; what is still
// missing at the end is lost. Copies without a marker are the room's join
// and leave notices, counted apart.
//
// # Which path, and why
//
// Every mode but roster joins with the lean path by default: a
// hand-written SIP user agent on a few shared sockets (lean.go: INVITE,
// ACK, BYE, 200 to the focus's BYE, UDP retransmissions) and, per
// participant, one MSRP connection bound with a bodiless SEND. -path client
// makes the join and idle modes use client.Join (NoRoster, MessageBuffer
// 16) instead; the roster mode measures what the client library shows, so
// it always does. On the 2-core machine, 2,000 joins with 32 in flight
// (docs draft, issue 7):
//
//	path    joins/s   leaves/s   tool RSS/participant   goroutines   fds
//	lean    2,447     3,988      12.7 KB                1            1
//	client  1,803     2,827      86.2 KB                3            3
//
// client.Session has its own sipgo user agent, SIP listener and SIP TCP
// connection: 3 file descriptors per participant, so 10,000 idle
// participants need 30,000 (this machine's hard limit is 20,000), and the
// server pays for 10,000 SIP connections too (66 KB RSS per participant
// against 33 KB). The hot loop of fanout and rooms is raw MSRP on the lean
// participants' connections, and -path client is refused there:
// client.Session.Send waits for the 200 of each message (a window needs W
// goroutines per sender, which would reorder sequence numbers), and each
// copy received costs a msrp.Reader parse, a CPIM parse and a channel send
// that drops when full. Here senders write pre-serialised SENDs and
// receivers frame with frameReader (80 ns per copy against 380 ns for
// msrp.Reader alone, BenchmarkFrameReader): at 1.3 M deliveries/s this tool
// uses 0.4 ms of CPU per 1,000 deliveries, which the 2-core machine shares
// with parleyd.
//
// # Files
//
// main.go (command line, run), lean.go and sipmsg.go (the lean SIP path),
// participant.go (joining and leaving, MSRP bind, SDP offer), frame.go
// (frameReader), traffic.go (senders, receivers, marker), fanout.go
// (fanout and rooms), join.go, idle.go, roster.go, pool.go (operations with C in
// flight), accounting.go (seqTracker, latency histogram), proc.go
// (/proc, rusage, RLIMIT_NOFILE), report.go (JSON line, summary, targets).
package main
