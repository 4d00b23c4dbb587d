package server_test

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
)

// startTimeoutServer runs a parleyd whose SIP TCP timeouts are short, so
// that a test sees them act without long sleeps.
func startTimeoutServer(t *testing.T, message, idle time.Duration) *server.Server {
	t.Helper()
	cfg := loopbackConfig()
	cfg.SIP.MessageTimeout, cfg.SIP.IdleTimeout = config.Duration(message), config.Duration(idle)
	srv, err := server.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("starting parleyd: %v", err)
	}
	srv.Start()
	t.Cleanup(func() { stopServer(srv) })
	return srv
}

// closedWithin reads c until the server closes it and reports how long
// that took from start; it fails t if the server still holds the
// connection after limit.
func closedWithin(t *testing.T, c net.Conn, start time.Time, limit time.Duration) time.Duration {
	t.Helper()
	c.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server still holds the connection after %v", limit)
	}
	return time.Since(start)
}

// A peer that begins a SIP message and trickles it a byte at a time, never
// finishing (slowloris), is closed once sip.message_timeout has passed
// since the message's first byte, however steady the trickle.
func TestSlowlorisSIPMessageClosed(t *testing.T) {
	const timeout = 400 * time.Millisecond
	srv := startTimeoutServer(t, timeout, time.Minute)
	c, err := net.Dial("tcp", srv.Addrs().SIPTCP)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	head := "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK1\r\nX-Slow: "
	if _, err := c.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // one byte every 20 ms: progress, but no end
		for range 500 {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := c.Write([]byte("a")); err != nil {
				return
			}
		}
	})
	took := closedWithin(t, c, start, wait)
	close(stop)
	wg.Wait()
	t.Logf("slowloris SIP connection closed %v after its first byte (sip.message_timeout %v)", took.Round(time.Millisecond), timeout)
	if took < timeout {
		t.Errorf("closed after %v, before the message timeout %v", took, timeout)
	}
	if got := srv.GuardStats().Stalled; got != 1 {
		t.Errorf("GuardStats().Stalled = %d, want 1", got)
	}
	stillServes(t, srv, "TCP")
}

// Many connections each holding an unfinished 60 KB header are all
// closed by the message timeout, and the memory they held is let go.
func TestSlowlorisSIPManyConnections(t *testing.T) {
	const conns, timeout = 200, 500 * time.Millisecond
	srv := startTimeoutServer(t, timeout, time.Minute)
	head := "INVITE sip:r@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK1\r\nX-Pad: " + strings.Repeat("p", 60_000)
	runtime.GC()
	before := heapInUse()
	start := time.Now()
	cs := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	for range conns {
		c, err := net.Dial("tcp", srv.Addrs().SIPTCP)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
		if _, err := c.Write([]byte(head)); err != nil {
			t.Fatal(err)
		}
	}
	// Let the server read what was sent before measuring what it holds.
	time.Sleep(timeout / 4)
	runtime.GC()
	held := heapInUse()
	var last time.Duration
	for _, c := range cs {
		last = max(last, closedWithin(t, c, start, wait))
	}
	runtime.GC()
	after := heapInUse()
	t.Logf("%d connections with an unfinished 60 KB header: server heap +%d KB while held (%d KB each), all closed %v after the first was opened (sip.message_timeout %v), heap after: %+d KB",
		conns, (int64(held)-int64(before))/1024, (int64(held)-int64(before))/1024/conns, last.Round(time.Millisecond), timeout, (int64(after)-int64(before))/1024)
	if got := srv.GuardStats().Stalled; got != conns {
		t.Errorf("GuardStats().Stalled = %d, want %d", got, conns)
	}
	stillServes(t, srv, "TCP")
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
