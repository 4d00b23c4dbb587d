package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

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
	if transport == "udp" {
		addr = srv.Addrs().SIPUDP
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
	srv := startServer(t)
	for _, c := range []struct{ path, transport string }{{"lean", "tcp"}, {"lean", "udp"}, {"client", "tcp"}} {
		t.Run(c.path+"-"+c.transport, func(t *testing.T) {
			const joins = 20
			m, code := bench(t, srv, c.transport, "join", "-joins", fmt.Sprint(joins), "-per-room", "7", "-concurrency", "4", "-path", c.path)
			if code != exitOK || m["ok"] != true {
				t.Fatalf("exit %d, ok %v, error %v", code, m["ok"], m["first_error"])
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

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"nosuchmode"},
		{"fanout", "-server", "192.0.2.1:5060"},
		{"fanout", "-transport", "sctp"},
		{"fanout", "-senders", "5", "-participants", "3"},
		{"fanout", "-rate", "10", "-msg-rate", "10"},
		{"fanout", "-path", "client"},
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
