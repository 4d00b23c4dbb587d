package store

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// startExternal runs a NATS server with JetStream on 127.0.0.1 (port 0
// picks one) as the external server of ModeURL.
func startExternal(t *testing.T, dir string, port int) (*server.Server, int) {
	t.Helper()
	if port == 0 {
		port = server.RANDOM_PORT
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "external",
		Host:       "127.0.0.1",
		Port:       port,
		NoSigs:     true,
		JetStream:  true,
		StoreDir:   dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetLoggerV2(&natsLogger{log: testLogger(t).With("component", "external")}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("external server not ready")
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv, srv.Addr().(*net.TCPAddr).Port
}

func stopExternal(srv *server.Server) {
	srv.Shutdown()
	srv.WaitForShutdown()
}

// TestURLReconnect: a store on an external server follows it down and
// back up: appends while it is down fail at once with ErrUnavailable, those
// in flight when it went get their done, and after it restarts (same
// directory, same port) the store is available again with the history
// there; a server that comes back empty gets the streams again.
func TestURLReconnect(t *testing.T) {
	dir := t.TempDir()
	ext, port := startExternal(t, dir, 0)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	s := open(t, Config{Mode: ModeURL, URL: url, MaxHistory: 10000})
	if !s.Available() {
		t.Fatal("not available")
	}
	const room = "sip:ext@example.com"
	ctx := ctxT(t)
	appendAll(t, s, []Message{msg(room, 1), msg(room, 2)})
	if err := s.PutRoom(ctx, Room{URI: room, Persistent: true}); err != nil {
		t.Fatal(err)
	}

	// Appends in flight when the server goes: each done is called.
	var wg sync.WaitGroup
	const inflight = 2000
	wg.Add(inflight)
	var mu sync.Mutex
	outcomes := map[string]int{}
	for i := range inflight {
		s.Append(msg(room, 100+i), func(_ uint64, err error) {
			mu.Lock()
			switch {
			case err == nil:
				outcomes["ok"]++
			case errors.Is(err, ErrUnavailable):
				outcomes["unavailable"]++
			default:
				outcomes[err.Error()]++
			}
			mu.Unlock()
			wg.Done()
		})
	}
	stopExternal(ext)
	waitGroup(t, &wg, 15*time.Second)
	t.Logf("appends in flight at the stop: %v", outcomes)
	if outcomes["ok"]+outcomes["unavailable"] != inflight {
		t.Fatalf("outcomes %v", outcomes)
	}
	waitFor(t, 5*time.Second, "unavailable", func() bool { return !s.Available() })

	// While down: fail fast, never queue.
	for range 100 {
		start := time.Now()
		res := appendWait(t, s, []Message{msg(room, 3)})
		if !errors.Is(res[0].err, ErrUnavailable) || time.Since(start) > time.Second {
			t.Fatalf("append while down: %v after %v", res[0].err, time.Since(start))
		}
	}
	if _, err := s.Last(ctx, room, 10, 0); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Last while down: %v", err)
	}
	if _, _, err := s.Cursor(ctx, room, "sip:p@x"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Cursor while down: %v", err)
	}
	if err := s.PutRoom(ctx, Room{URI: room}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("PutRoom while down: %v", err)
	}
	s.SetCursor(room, "sip:p@x", 2) // kept until the server is back

	// Back, same directory and port.
	ext, _ = startExternal(t, dir, port)
	waitFor(t, 15*time.Second, "available again", s.Available)
	appendAll(t, s, []Message{msg(room, 4)})
	got, err := s.Last(ctx, room, 5000, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The acknowledged ones are there; some that failed with
	// ErrUnavailable may be too (stored, their ack lost with the server).
	if len(got) < 3+outcomes["ok"] || len(got) > 3+inflight || string(got[0].Body) != string(msg(room, 1).Body) || string(got[len(got)-1].Body) != string(msg(room, 4).Body) {
		t.Fatalf("after the restart: %d messages", len(got))
	}
	if rooms, err := s.Rooms(ctx); err != nil || len(rooms) != 1 || !rooms[0].Persistent {
		t.Fatalf("rooms after the restart: %+v %v", rooms, err)
	}
	waitFor(t, 5*time.Second, "cursor written after the restart", func() bool {
		v, ok, err := s.Cursor(ctx, room, "sip:p@x")
		return err == nil && ok && v == 2 && s.Stats().CursorsPending == 0 && s.Stats().CursorWrites == 1
	})
	st := s.Stats()
	if st.Disconnects < 1 || st.Reconnects < 1 {
		t.Fatalf("stats %+v", st)
	}

	// Back empty (another directory): the streams are made again.
	stopExternal(ext)
	waitFor(t, 5*time.Second, "unavailable", func() bool { return !s.Available() })
	startExternal(t, t.TempDir(), port)
	waitFor(t, 15*time.Second, "available again", s.Available)
	appendAll(t, s, []Message{msg(room, 5)})
	if got, err := s.Last(ctx, room, 10, 0); err != nil || len(got) != 1 {
		t.Fatalf("on the empty server: %d messages, %v", len(got), err)
	}
}
