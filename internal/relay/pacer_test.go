package relay

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-im/parley/msrp"
)

// The pacer: copies queued through a Batch to a connection whose writer is
// stopped wait CoalesceDelay for others, and go out together in one write;
// the sender's own answers are not delayed. Five messages, each flushed on
// its own (the sender waits for each 200), reach the recipient in one
// writev when the delay spans them all (unpaced, one each).
func TestPacerCoalescesCopies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		delay   time.Duration
		atMost  uint64 // writes for the copies
		atLeast uint64
	}{
		{"paced", time.Second, 2, 1}, // 2: a loaded machine may take over 1 s for the five round trips
		{"off", -1, 5, 2},            // at least the first copy goes before the second message exists
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			srv := startServer(t, Config{CoalesceDelay: tc.delay}, rec)
			aSess, a := boundSession(t, srv, "alice")
			bSess, b := boundSession(t, srv, "bob")
			var ids msrp.IDSource
			setHandler(rec, func(s *Session, m *msrp.Message) int {
				queueCopy(s.Batch(), bSess, true, &ids, "m", bytes.Clone(m.Body), nil, nil)
				return msrp.StatusOK
			})
			before := srv.Stats().Writes
			var want []string
			for i := range 5 {
				body := fmt.Sprintf("message %d", i)
				want = append(want, body)
				m := trigger(a, aSess, body)
				a.ExpectResponse(m.TID, msrp.StatusOK) // answered at once, copies pending or not
				if tc.delay < 0 && i == 0 {
					expectBodies(t, b, "bob", want) // unpaced: the first copy is out already
					want = want[:0]
				}
			}
			expectBodies(t, b, "bob", want)
			copies := srv.Stats().Writes - before - 5 // the five 200s are one write each
			if copies < tc.atLeast || copies > tc.atMost {
				t.Fatalf("the copies took %d writes, want %d to %d", copies, tc.atLeast, tc.atMost)
			}
		})
	}
}

// Shutdown does not wait for the pacer's delay, and a connection it holds
// is closed like any other.
func TestPacerShutdown(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{CoalesceDelay: time.Hour}, rec)
	aSess, a := boundSession(t, srv, "alice")
	bSess, _ := boundSession(t, srv, "bob")
	var ids msrp.IDSource
	setHandler(rec, func(s *Session, m *msrp.Message) int {
		queueCopy(s.Batch(), bSess, true, &ids, "m", bytes.Clone(m.Body), nil, nil)
		return msrp.StatusOK
	})
	m := trigger(a, aSess, "held by the pacer")
	a.ExpectResponse(m.TID, msrp.StatusOK)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with a held connection: %v", err)
	}
}
