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
// Common flags: -server host:port (127.0.0.1:5060; refused unless loopback),
// -transport tcp|udp (SIP; tcp), -pid N (parleyd's PID), -timeout (5 m: the
// hard deadline, after which the run stops, reports what it has and exits 1),
// -room (room name prefix; a random suffix per run), -concurrency,
// -sip-conns (4: SIP TCP connections the lean path shares), -sources, -path.
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
//   - with -pid: server_cpu_ms over the measured interval (utime + stime
//     from /proc/PID/stat, in clock ticks of 10 ms), server_cpu_ms_per_1k_deliveries
//     (or server_cpu_ms_per_1k_joins), server_rss_bytes and
//     server_rss_peak_bytes (VmRSS, VmHWM from /proc/PID/status);
//   - this tool's own cost: bench_cpu_ms_per_1k_deliveries,
//     bench_rss_per_participant_bytes, bench_goroutines_per_participant;
//   - targets: issue 7's targets that apply, each with want, got and met
//     (deliveries/s ≥ 1,000,000 and ≤ 0.5 ms server CPU per 1,000
//     deliveries at saturation; p99 ≤ 5 ms when paced; joins ≥ 1,000/s;
//     ≤ 16 KiB server RSS per idle participant; 0 lost, 0 duplicated). They
//     are meant for the sizes on a quiet machine, and never change
//     the exit status;
//   - errors, first_error, timed_out.
//
// The exit status is 1 when a message was lost, duplicated or reordered,
// a participant failed to join or leave, any other error occurred, or the
// run hit -timeout; 2 for a bad command line.
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
// Every mode joins with the lean path by default: a hand-written SIP user
// agent on a few shared sockets (lean.go: INVITE, ACK, BYE, 200 to the
// focus's BYE, UDP retransmissions) and, per participant, one MSRP
// connection bound with a bodiless SEND. -path client makes the join and
// idle modes use client.Join (NoRoster, MessageBuffer 16) instead. On the
// 2-core machine, 2,000 joins with 32 in flight (docs draft, issue 7):
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
// (fanout and rooms), join.go, idle.go, pool.go (operations with C in
// flight), accounting.go (seqTracker, latency histogram), proc.go
// (/proc, rusage, RLIMIT_NOFILE), report.go (JSON line, summary, targets).
package main
