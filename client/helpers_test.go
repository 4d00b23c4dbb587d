package client

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/servertest"
)

// stderrLog is every test's logger when PARLEY_TEST_LOG is set.
var stderrLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))

var testLogs sync.Map // *testing.T → *slog.Logger

// testLog returns t's logger: debug output kept in memory and shown only
// if t fails (or on stderr with PARLEY_TEST_LOG=1). Server and clients of a
// test share it, so a failure shows both sides in order.
func testLog(t *testing.T) *slog.Logger {
	if os.Getenv("PARLEY_TEST_LOG") != "" {
		return stderrLog
	}
	if l, ok := testLogs.Load(t); ok {
		return l.(*slog.Logger)
	}
	buf := &servertest.LogBuffer{}
	l := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	testLogs.Store(t, l)
	t.Cleanup(func() {
		testLogs.Delete(t)
		if t.Failed() {
			t.Log(buf.String())
		}
	})
	return l
}

// startServer runs a real parleyd on loopback. The caller defers the
// returned stop (before goleak's check runs, so not through t.Cleanup).
func startServer(t *testing.T, mutate func(*config.Config)) (*server.Server, func()) {
	t.Helper()
	cfg := config.Default()
	cfg.SIP.UDP, cfg.SIP.TCP, cfg.MSRP.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.SIP.TLS, cfg.MSRP.TLSListen, cfg.HTTPS.Listen = "", "", "" // no TLS: no certificate, no fixed ports
	cfg.Store.Mode = config.StoreMemory                            // history in memory: nothing written to the working directory
	if mutate != nil {
		mutate(cfg)
	}
	srv, err := server.New(cfg, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	return srv, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("server shutdown: %v", err)
		}
	}
}

// roomURI is the URI of room name on srv for transport "udp" or "tcp".
func roomURI(srv *server.Server, transport, name string) string {
	addr := srv.Addrs().SIPTCP
	if transport == "udp" {
		addr = srv.Addrs().SIPUDP
	}
	return "sip:" + name + "@" + addr
}

func opts(t *testing.T, user, transport string) Options {
	return Options{From: "sip:" + user + "@example.com", DisplayName: user, Transport: transport, Logger: testLog(t), Timeout: 5 * time.Second}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitDone waits for the Session to end.
func waitDone(t *testing.T, s *Session) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("session did not end")
	}
}

func isDone(s *Session) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}

// joinTCP joins room over TCP as user, without a roster, with o changed by
// mutate; the Session leaves at the end of the test.
func joinTCP(t *testing.T, ctx context.Context, room, user string, mutate func(*Options)) *Session {
	t.Helper()
	o := opts(t, user, "tcp")
	o.NoRoster = true
	if mutate != nil {
		mutate(&o)
	}
	s, err := Join(ctx, room, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Leave(ctx) })
	return s
}
