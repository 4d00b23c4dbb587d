package relay

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// TestShutdownDrainSurvivesPeerAnswers: a participant that answers what it
// reads (a 200 per SEND, as RFC 4975 §7.1.2 asks with Failure-Report
// "yes") while Shutdown drains still gets everything queued for it before
// Shutdown began: something read from it after Shutdown began is not
// dispatched, but is no reason to close its connection (and discard its
// queue) before the drain is over.
func TestShutdownDrainSurvivesPeerAnswers(t *testing.T) {
	const n, size = 96, 64 << 10 // 6 MiB: more than loopback socket buffers hold
	srv := New(Config{Addr: "127.0.0.1:0", MaxPendingBytes: 64 << 20, WriteTimeout: 10 * time.Second}, &recorder{})
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(t.Context()) }()
	s, p := boundSession(t, srv, "answering-reader")
	body := bytes.Repeat([]byte("x"), size)
	for range n {
		if err := s.Send(msrptest.Send(p.URI, s.LocalURI(), "text/plain", body)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	for !srv.closing.Load() {
		time.Sleep(time.Millisecond)
	}

	got := 0
	for {
		m, err := p.Next()
		if err != nil {
			break
		}
		if m.Method == "SEND" && len(m.Body) == size {
			got++
			// The answer may find the connection closed: ignore errors.
			_, _ = p.Conn().Write(m.Response(msrp.StatusOK, "").Bytes())
		}
	}
	t.Logf("%d of %d messages queued before Shutdown reached a reader that answers them; %+v", got, n, srv.Stats())
	if got != n {
		t.Errorf("%d of %d queued messages were written before the connection closed", got, n)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	<-served
}
