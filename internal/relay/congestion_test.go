package relay

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/parley-im/parley/msrp"
)

// RFC 7701 §6.4 at the transport: Offer drops while the connection is
// congested (over CongestedBytes, until it drains to half of it) and never
// closes it; Enqueue still queues up to the hard cap; a congestion episode
// that outlasts CongestionTimeout closes the connection with CloseCongested.
func TestOfferCongestion(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{MaxPendingBytes: 1 << 20, CongestedBytes: 64 << 10, CongestionTimeout: 300 * time.Millisecond}, rec)
	s, p := boundSession(t, srv, "alice")
	stopReading(t, p)
	var ids msrp.IDSource
	body := bytes.Repeat([]byte("x"), 8<<10)
	head, end := frame(&ids, s, "congest1", body)

	// Offer until the connection is closed: while the kernel still takes
	// data, short episodes come and go (the queue drains into the socket
	// buffer); once that is full, the queue stays over the mark and the
	// episode outlasts CongestionTimeout. Bounded: 64 MiB at most.
	var dropped uint64
	enqueued := false
	for i := 0; i < 8192 && rec.numEnded() == 0; i++ {
		err := s.Offer(head, body, end)
		switch {
		case errors.Is(err, ErrCongested):
			dropped++
			if !enqueued { // Enqueue is not subject to the mark
				if err := s.Enqueue(head, body, end); err != nil {
					t.Fatalf("Enqueue while congested: %v", err)
				}
				enqueued = true
			}
			time.Sleep(time.Millisecond) // let the writer fill the socket
		case errors.Is(err, ErrSessionClosed), errors.Is(err, ErrConnClosed):
		case err != nil:
			t.Fatalf("Offer: %v", err)
		}
	}
	if dropped == 0 {
		t.Fatal("Offer never reported congestion")
	}
	st := srv.Stats()
	if st.Congested == 0 || st.OffersDropped != dropped {
		t.Errorf("Congested %d, OffersDropped %d; want ≥ 1, %d", st.Congested, st.OffersDropped, dropped)
	}
	// The peer never reads: the episode lasts, the connection is closed.
	rec.waitEnded(t, s, CloseCongested)
	expectEOF(t, p)
	if n := srv.Stats().ConnsClosed[CloseCongested]; n != 1 {
		t.Errorf("ConnsClosed[congested] = %d", n)
	}
}

// A congestion episode ends when the peer reads and the queue drains: Offer
// works again and the timer does not close the connection.
func TestCongestionEndsWhenDrained(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{MaxPendingBytes: 1 << 20, CongestedBytes: 64 << 10, CongestionTimeout: 300 * time.Millisecond}, rec)
	s, p := boundSession(t, srv, "bob")
	var ids msrp.IDSource
	body := bytes.Repeat([]byte("y"), 8<<10)
	head, end := frame(&ids, s, "congest2", body)
	// Offer until congested, without reading.
	sent := 0
	for range 4096 {
		if err := s.Offer(head, body, end); err != nil {
			if !errors.Is(err, ErrCongested) {
				t.Fatal(err)
			}
			break
		}
		sent++
	}
	// Now read everything that was queued.
	for range sent {
		if m := p.ExpectRequest(msrp.MethodSEND); !bytes.Equal(m.Body, body) {
			t.Fatal("body changed")
		}
	}
	waitFor(t, "congestion to end", func() bool { return !s.Congested() })
	if err := s.Offer(head, body, end); err != nil {
		t.Fatalf("Offer after draining: %v", err)
	}
	p.ExpectRequest(msrp.MethodSEND)
	time.Sleep(400 * time.Millisecond) // past the congestion timeout: nothing may fire
	if !s.Bound() || rec.numEnded() != 0 {
		t.Fatalf("session ended after congestion cleared: %v", rec.endings(s))
	}
}
