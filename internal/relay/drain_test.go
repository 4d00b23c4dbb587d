package relay

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// drainRun queues n messages of size octets for a participant, starts
// Shutdown, and reads until the connection closes: every SEND of the right
// size is counted, and answered 200 (RFC 4975 §7.1.2) when answer is set.
// It returns how many arrived and what was still queued when Shutdown
// began; Shutdown must end without error.
func drainRun(t *testing.T, n, size int, answer bool) (got, queued int) {
	t.Helper()
	srv := New(Config{Addr: "127.0.0.1:0", MaxPendingBytes: 64 << 20, WriteTimeout: 10 * time.Second}, &recorder{})
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(t.Context()) }()
	s, p := boundSession(t, srv, "late-reader")
	body := bytes.Repeat([]byte("x"), size)
	for range n {
		if err := s.Send(msrptest.Send(p.URI, s.LocalURI(), "text/plain", body)); err != nil {
			t.Fatal(err)
		}
	}
	queued = srv.queuedBytes()
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	for !srv.closing.Load() {
		time.Sleep(time.Millisecond)
	}
	for {
		m, err := p.Next()
		if err != nil {
			break
		}
		if m.Method == "SEND" && len(m.Body) == size {
			got++
			if answer {
				// The answer may find the connection closed: ignore errors.
				_, _ = p.Conn().Write(m.Response(msrp.StatusOK, "").Bytes())
			}
		}
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	<-served
	return got, queued
}

// TestShutdownWritesWhatWasQueued: what was queued for a participant before
// Shutdown began (messages whose senders were answered 200) is still
// written to it before its connection closes, though it reads only once
// the shutdown has begun and the kernel's buffers cannot hold it all.
func TestShutdownWritesWhatWasQueued(t *testing.T) {
	const n = 384 // 24 MiB: more than loopback socket buffers hold
	got, queued := drainRun(t, n, 64<<10, false)
	t.Logf("%d bytes still queued when Shutdown began; %d of %d messages reached the reader", queued, got, n)
	if got != n {
		t.Errorf("%d of %d queued messages were written before the connection closed", got, n)
	}
}

// TestShutdownDrainSurvivesPeerAnswers: a participant that answers what it
// reads (a 200 per SEND, as RFC 4975 §7.1.2 asks with Failure-Report
// "yes") while Shutdown drains still gets everything queued for it before
// Shutdown began: something read from it after Shutdown began is not
// dispatched, but is no reason to close its connection (and discard its
// queue) before the drain is over.
func TestShutdownDrainSurvivesPeerAnswers(t *testing.T) {
	const n = 96 // 6 MiB: more than loopback socket buffers hold
	got, _ := drainRun(t, n, 64<<10, true)
	t.Logf("%d of %d messages queued before Shutdown reached a reader that answers them", got, n)
	if got != n {
		t.Errorf("%d of %d queued messages were written before the connection closed", got, n)
	}
}

// Shutdown stays within its context when a TLS participant has stopped
// reading with much queued for it: the drain and the half-close are
// bounded, and the half-close does not wait on TLS's close_notify.
func TestShutdownBoundedWithStuckTLSReader(t *testing.T) {
	const n, size = 256, 64 << 10
	srv, client := startTLSServer(t, Config{MaxPendingBytes: 64 << 20, WriteTimeout: 10 * time.Second}, &recorder{})
	u := securePeerURI("stuck")
	s := newSession(t, srv, u)
	p := dialTLS(t, srv, client, u)
	bind(t, p, s)
	body := bytes.Repeat([]byte("x"), size)
	for range n {
		if err := s.Send(msrptest.Send(u, s.LocalURI(), "text/plain", body)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with a TLS participant that does not read: %v after %v", err, time.Since(start).Round(time.Millisecond))
	}
	t.Logf("Shutdown took %v with %d MiB queued for a TLS participant that does not read", time.Since(start).Round(time.Millisecond), n*size>>20)
}
