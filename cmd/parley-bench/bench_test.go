package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/testserver"
)

// startServer runs parleyd in process on loopback ports.
func startServer(t *testing.T) *server.Server {
	t.Helper()
	return testserver.Start(t, nil)
}

// bench runs parley-bench with args against srv and decodes its JSON line.
func bench(t *testing.T, srv *server.Server, transport string, args ...string) (map[string]any, int) {
	t.Helper()
	addr := srv.Addrs().SIPTCP
	switch transport {
	case "udp":
		addr = srv.Addrs().SIPUDP
	case "tls":
		addr = srv.Addrs().SIPTLS
	}
	args = append(args, "-server", addr, "-transport", transport, "-timeout", "30s", "-pid", fmt.Sprint(os.Getpid()))
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one JSON line on stdout, got %q (stderr %s)", stdout.String(), stderr.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatalf("stdout is not JSON: %v: %s", err, lines[0])
	}
	t.Logf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	return m, code
}

// num returns field k of the report as a number, failing when absent.
func num(t *testing.T, m map[string]any, k string) float64 {
	t.Helper()
	v, ok := m[k].(float64)
	if !ok {
		t.Fatalf("report has no number %q: %v", k, m)
	}
	return v
}

func checkTraffic(t *testing.T, m map[string]any, code int, want int64) {
	t.Helper()
	if code != exitOK || m["ok"] != true {
		t.Fatalf("exit %d, ok %v, error %v", code, m["ok"], m["first_error"])
	}
	if got := int64(num(t, m, "deliveries")); got != want {
		t.Errorf("deliveries %d, want %d", got, want)
	}
	if got := int64(num(t, m, "expected")); got != want {
		t.Errorf("expected %d, want %d", got, want)
	}
	for _, k := range []string{"lost", "duplicated", "reordered", "unexpected", "errors"} {
		if v := num(t, m, k); v != 0 {
			t.Errorf("%s = %v, want 0", k, v)
		}
	}
	for _, k := range []string{"deliveries_per_sec", "server_cpu_ms_per_1k_deliveries", "server_rss_bytes"} {
		num(t, m, k)
	}
	if _, ok := m["latency_us"].(map[string]any); !ok {
		t.Errorf("no latency_us in %v", m)
	}
}

func TestFanout(t *testing.T) {
	srv := startServer(t)
	for _, tr := range []string{"tcp", "udp"} {
		t.Run(tr, func(t *testing.T) {
			const n, s, msgs = 5, 3, 20
			m, code := bench(t, srv, tr, "fanout", "-participants", fmt.Sprint(n), "-senders", fmt.Sprint(s),
				"-messages", fmt.Sprint(msgs), "-window", "4")
			checkTraffic(t, m, code, s*msgs*(n-1))
		})
	}
}

func TestFanoutPaced(t *testing.T) {
	srv := startServer(t)
	// 20 messages/s offered: the 40 messages take about two seconds.
	m, code := bench(t, srv, "tcp", "fanout", "-participants", "4", "-senders", "2", "-messages", "10", "-msg-rate", "40")
	checkTraffic(t, m, code, 2*10*3)
	if num(t, m, "offered_deliveries_per_sec") != 120 {
		t.Errorf("offered %v, want 120", m["offered_deliveries_per_sec"])
	}
}

func TestRooms(t *testing.T) {
	srv := startServer(t)
	const r, n, s, msgs = 3, 5, 2, 20
	m, code := bench(t, srv, "tcp", "rooms", "-rooms", fmt.Sprint(r), "-participants", fmt.Sprint(n),
		"-senders", fmt.Sprint(s), "-messages", fmt.Sprint(msgs))
	checkTraffic(t, m, code, r*s*msgs*(n-1))
}

func TestJoin(t *testing.T) {
	cfg := testserver.Config()
	cfg.SIP.TLS, cfg.Server.DataDir = "127.0.0.1:0", t.TempDir() // a self-signed certificate there
	srv := testserver.Start(t, cfg)
	for _, c := range []struct{ path, transport, sipConns, report string }{
		{"lean", "tcp", "0", "per-participant"}, // each participant its own SIP connection (issue 20)
		{"lean", "tcp", "3", "3"},
		{"lean", "tls", "0", "per-participant"}, // over TLS, the certificate not checked
		{"lean", "udp", "0", ""},
		{"client", "tcp", "0", ""},
	} {
		t.Run(c.path+"-"+c.transport+"-"+c.sipConns, func(t *testing.T) {
			const joins = 20
			m, code := bench(t, srv, c.transport, "join", "-joins", fmt.Sprint(joins), "-per-room", "7", "-concurrency", "4", "-path", c.path, "-sip-conns", c.sipConns)
			if code != exitOK || m["ok"] != true {
				t.Fatalf("exit %d, ok %v, error %v", code, m["ok"], m["first_error"])
			}
			if got, _ := m["sip_conns"].(string); got != c.report {
				t.Errorf("sip_conns %q, want %q", got, c.report)
			}
			if got := num(t, m, "joins"); got != joins {
				t.Errorf("joins %v, want %d", got, joins)
			}
			if got := num(t, m, "leaves"); got != joins {
				t.Errorf("leaves %v, want %d", got, joins)
			}
			num(t, m, "joins_per_sec")
			num(t, m, "leaves_per_sec")
			if got := num(t, m, "errors"); got != 0 {
				t.Errorf("errors %v", got)
			}
		})
	}
}

func TestIdle(t *testing.T) {
	srv := startServer(t)
	const k = 50
	m, code := bench(t, srv, "tcp", "idle", "-participants", fmt.Sprint(k), "-per-room", "20", "-settle", "100ms", "-sources", "3")
	if code != exitOK || m["ok"] != true {
		t.Fatalf("exit %d, ok %v, error %v", code, m["ok"], m["first_error"])
	}
	if got := num(t, m, "joins"); got != k {
		t.Errorf("joins %v, want %d", got, k)
	}
	num(t, m, "rss_per_participant_bytes")
	num(t, m, "server_rss_bytes")
}

// TestRoster runs the roster mode small against the in-process parleyd
// (notify_interval 500 ms): visits at 20/s, many of them shorter than the
// notify window, so that some joins and leaves are told in one NOTIFY. Every
// watcher must see every visitor's MemberJoined and MemberLeft, once.
func TestRoster(t *testing.T) {
	srv := startServer(t)
	for _, c := range []struct{ name, arrivals, stay string }{
		{"poisson-short", "poisson", "0-300ms"},
		{"even-fixed", "even", "100ms"},
	} {
		t.Run(c.name, func(t *testing.T) {
			const watchers, visits = 5, 10
			m, code := bench(t, srv, "tcp", "roster", "-watchers", fmt.Sprint(watchers), "-visits", fmt.Sprint(visits),
				"-rate", "20", "-arrivals", c.arrivals, "-stay", c.stay, "-seed", "7")
			if code != exitOK || m["ok"] != true {
				t.Fatalf("exit %d, ok %v, error %v", code, m["ok"], m["first_error"])
			}
			const pairs = watchers * visits
			if got := num(t, m, "expected_events"); got != 2*pairs {
				t.Errorf("expected_events %v, want %d", got, 2*pairs)
			}
			if got := num(t, m, "roster_events"); got != 2*pairs {
				t.Errorf("roster_events %v, want %d", got, 2*pairs)
			}
			for _, k := range []string{"missed", "missed_joins", "missed_leaves", "duplicated", "out_of_order", "roster_dropped", "roster_ended", "errors"} {
				if v := num(t, m, k); v != 0 {
					t.Errorf("%s = %v, want 0", k, v)
				}
			}
			if got := num(t, m, "watchers_measured"); got != watchers {
				t.Errorf("watchers_measured %v, want %d", got, watchers)
			}
			if num(t, m, "joins") != visits || num(t, m, "leaves") != visits {
				t.Errorf("joins %v, leaves %v, want %d", m["joins"], m["leaves"], visits)
			}
			// Functional bounds only: every event came, none before its
			// cause by more than clock noise, none after the run's -deadline.
			for _, k := range []string{"roster_join_latency_ms", "roster_leave_latency_ms"} {
				l, ok := m[k].(map[string]any)
				if !ok {
					t.Fatalf("no %s in %v", k, m)
				}
				if n := l["n"].(float64); n != pairs {
					t.Errorf("%s.n = %v, want %d", k, n, pairs)
				}
				if p50, mx := l["p50"].(float64), l["max"].(float64); p50 < 0 || mx < p50 || mx > 10000 {
					t.Errorf("%s: p50 %v, max %v ms", k, p50, mx)
				}
			}
		})
	}
}

// TestRosterTally: the accounting of the roster mode on made-up arrivals.
func TestRosterTally(t *testing.T) {
	ms := func(n int64) int64 { return n * int64(time.Millisecond) }
	rr := &rosterRun{visits: []*visit{{ok: true, called: true}, {ok: true, called: true}, {ok: true}, {}}}
	rr.visits[0].joined.Store(ms(1000))
	rr.visits[0].leaving.Store(ms(2000))
	rr.visits[1].joined.Store(ms(1100))
	rr.visits[1].leaving.Store(ms(1200))
	rr.visits[2].joined.Store(ms(3000))
	w := func(joinAt, leftAt []int64, joinN, leftN []uint32) *watcher {
		return &watcher{joinAt: joinAt, leftAt: leftAt, joinN: joinN, leftN: leftN}
	}
	ws := []*watcher{
		// all seen; visit 1 in one NOTIFY, its join before Join returned
		w([]int64{ms(1300), ms(1050), ms(3400), 0}, []int64{ms(2250), ms(1050), 0, 0}, []uint32{1, 1, 1, 0}, []uint32{1, 1, 0, 0}),
		// visit 0's leave missed, visit 1's join twice, visit 2's join missed
		w([]int64{ms(1500), ms(1400), 0, 0}, []int64{0, ms(1400), 0, 0}, []uint32{1, 2, 0, 0}, []uint32{0, 1, 0, 0}),
	}
	if n := rr.missing(ws); n != 2 {
		t.Errorf("missing %d, want 2", n)
	}
	got := rr.tally(ws)
	if got.expected != 10 || got.seen != 8 || got.missedJ != 1 || got.missedL != 1 || got.dup != 1 ||
		got.earlyJ != 1 || got.earlyL != 1 || got.brief != 2 {
		t.Errorf("tally %+v", *got)
	}
	if got.joinLat.n != 5 || got.leaveLat.n != 3 || got.joinLat.max != ms(500) || got.leaveLat.max != ms(250) {
		t.Errorf("join latency n %d max %d, leave n %d max %d", got.joinLat.n, got.joinLat.max, got.leaveLat.n, got.leaveLat.max)
	}
}

func TestParseStay(t *testing.T) {
	for _, c := range []struct {
		in     string
		lo, hi time.Duration
		bad    bool
	}{
		{in: "2s", lo: 2 * time.Second, hi: 2 * time.Second},
		{in: "0-2s", lo: 0, hi: 2 * time.Second},
		{in: "1-2s", lo: time.Second, hi: 2 * time.Second},
		{in: "500ms-2s", lo: 500 * time.Millisecond, hi: 2 * time.Second},
		{in: "0", lo: 0, hi: 0},
		{in: "2s-1s", bad: true},
		{in: "-1s", bad: true},
		{in: "x", bad: true},
		{in: "0-", bad: true},
	} {
		lo, hi, err := parseStay(c.in)
		if (err != nil) != c.bad || (!c.bad && (lo != c.lo || hi != c.hi)) {
			t.Errorf("parseStay(%q) = %v, %v, %v", c.in, lo, hi, err)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"nosuchmode"},
		{"fanout", "-server", "192.0.2.1:5060"},
		{"fanout", "-transport", "sctp"},
		{"join", "-transport", "tls", "-path", "client"},
		{"fanout", "-senders", "5", "-participants", "3"},
		{"fanout", "-rate", "10", "-msg-rate", "10"},
		{"fanout", "-path", "client"},
		{"roster", "-path", "lean"},
		{"roster", "-stay", "2s-1s"},
		{"roster", "-arrivals", "bursty"},
		{"roster", "-rate", "0"},
		{"roster", "-watchers", "0"},
		{"roster", "-deadline", "0s"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
		if stdout.Len() != 0 {
			t.Errorf("%q: wrote %q to stdout", args, stdout.String())
		}
	}
}

// TestFailureExit: a run that lost, duplicated or reordered fails, and so
// does one that hits its deadline.
func TestFailureExit(t *testing.T) {
	for _, r := range []*result{
		{Mode: "fanout", Lost: i64(1)},
		{Mode: "fanout", Duplicated: i64(1)},
		{Mode: "fanout", Reordered: i64(1)},
	} {
		r.OK = deref(r.Lost) == 0 && deref(r.Duplicated) == 0 && deref(r.Reordered) == 0
		var stdout, stderr bytes.Buffer
		if code := finish(r, &stdout, &stderr); code != exitFailed {
			t.Errorf("%+v: exit %d", r, code)
		}
	}
	srv := startServer(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"fanout", "-server", srv.Addrs().SIPTCP, "-participants", "3", "-senders", "1",
		"-messages", "1000000", "-msg-rate", "100", "-timeout", "1s"}, &stdout, &stderr)
	var m map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &m); err != nil {
		t.Fatalf("%v: %q", err, stdout.String())
	}
	if code != exitFailed || m["timed_out"] != true || m["ok"] != false {
		t.Errorf("exit %d, report %v", code, m)
	}
}
