package relay

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// stopReading shrinks the participant's receive buffer; it then never reads.
func stopReading(t *testing.T, p *msrptest.Peer) {
	t.Helper()
	if err := p.Conn().(*net.TCPConn).SetReadBuffer(1024); err != nil {
		t.Fatal(err)
	}
}

// expectEOF reads raw bytes until the connection ends; buffered data is skipped.
func expectEOF(t *testing.T, p *msrptest.Peer) {
	t.Helper()
	if err := p.Conn().SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for {
		_, err := p.Conn().Read(buf)
		var ne net.Error
		switch {
		case err == nil:
		case errors.As(err, &ne) && ne.Timeout():
			t.Fatal("the connection was not closed")
		default:
			return
		}
	}
}

// frame is a pre-framed SEND carrying body, as the fan-out path builds it.
func frame(ids *msrp.IDSource, s *Session, mid string, body []byte) (head, end []byte) {
	env := msrp.Envelope{
		ToPath:        msrp.FormatPath(s.PeerPath()),
		FromPath:      s.LocalURI().String(),
		MessageID:     mid,
		FailureReport: "no",
		ContentType:   "text/plain",
	}
	n := int64(len(body))
	_, f := env.AppendFrame(nil, ids, msrp.ByteRange{Start: 1, End: n, Total: n}, msrp.FlagEnd)
	return f.Head, f.End
}

func TestSlowConsumerIsClosed(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{MaxPendingBytes: 64 << 10}, rec)
	s, p := boundSession(t, srv, "alice")
	stopReading(t, p)
	var ids msrp.IDSource
	body := bytes.Repeat([]byte("x"), 16<<10)
	head, end := frame(&ids, s, "slowmsg1", body)

	done := make(chan error, 1)
	go func() { // the enqueue loop must finish on its own: Enqueue never blocks
		for range 1 << 14 { // up to 256 MiB, far beyond any socket buffer
			if err := s.Enqueue(head, body, end); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrSlowConsumer) {
			t.Fatalf("enqueue loop ended with %v, want ErrSlowConsumer", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Enqueue blocked")
	}
	rec.waitEnded(t, s, CloseSlowConsumer)
	if err := s.Enqueue(head, body, end); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("Enqueue after the close: %v", err)
	}
	if st := srv.Stats(); st.ConnsClosed[CloseSlowConsumer] != 1 || st.SessionsEnded[CloseSlowConsumer] != 1 {
		t.Errorf("stats %+v", st)
	}
	expectEOF(t, p)
}

func TestWriteTimeoutIsClosed(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{MaxPendingBytes: 1 << 30, WriteTimeout: 200 * msec}, rec)
	s, p := boundSession(t, srv, "alice")
	stopReading(t, p)
	var ids msrp.IDSource
	body := bytes.Repeat([]byte("y"), 64<<10)
	head, end := frame(&ids, s, "stuckmsg", body)
	for range 512 { // 32 MiB: more than the kernel buffers hold
		if err := s.Enqueue(head, body, end); err != nil {
			break
		}
	}
	rec.waitEnded(t, s, CloseWriteTimeout)
	if st := srv.Stats(); st.ConnsClosed[CloseWriteTimeout] != 1 {
		t.Errorf("stats %+v", st)
	}
	expectEOF(t, p)
}

// Send and Enqueue from many goroutines: every message arrives whole, and
// each goroutine's messages arrive in its order.
func TestConcurrentSendsArriveWhole(t *testing.T) {
	const senders, each = 8, 40
	srv := startServer(t, Config{MaxPendingBytes: 64 << 20}, &recorder{})
	s, p := boundSession(t, srv, "alice")

	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for g := range senders {
		wg.Go(func() {
			var ids msrp.IDSource
			for i := range each {
				mid := fmt.Sprintf("g%02dm%04d", g, i)
				body := bytes.Repeat([]byte(mid), (g*each+i)%97*40) // 0 to 30 KiB
				var err error
				if i%2 == 0 {
					m := msrptest.Send(s.PeerPath()[0], s.LocalURI(), "text/plain", body)
					m.Header.Set(msrp.HeaderMessageID, mid)
					err = s.Send(m)
				} else {
					head, end := frame(&ids, s, mid, body)
					err = s.Enqueue(head, body, end)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}

	next := make([]int, senders)
	for range senders * each {
		m := p.Expect()
		var g, i int
		mid := m.MessageID()
		if _, err := fmt.Sscanf(mid, "g%02dm%04d", &g, &i); err != nil || g >= senders {
			t.Fatalf("unexpected message %s (%q)", msrptest.Describe(m), mid)
		}
		if i != next[g] {
			t.Fatalf("sender %d: message %d arrived, want %d", g, i, next[g])
		}
		next[g]++
		if want := bytes.Repeat([]byte(mid), (g*each+i)%97*40); !bytes.Equal(m.Body, want) {
			t.Fatalf("%s: body of %d bytes, want %d", mid, len(m.Body), len(want))
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A framed chunk is never queued with an empty slice: on a WebSocket
// connection one ends the unit, and a chunk with an empty body would go
// out as two WebSocket messages (RFC 7977 §4.2). Small bodies over TCP are
// copied with the head and end-line into one slice.
func TestQueueFrameNoEmptySlice(t *testing.T) {
	srv := startServer(t, Config{}, &recorder{})
	a, _ := tcpPair(t)
	c := newConn(srv, 1, a)
	head, end := []byte("MSRP t1 SEND\r\n\r\n"), []byte("-------t1$\r\n")

	c.mu.Lock()
	c.queueFrameLocked(head, []byte("body"), end) // plain TCP: one slice
	c.queueFrameLocked(head, nil, end)
	c.rc, c.units = nil, true // as a WebSocket connection
	c.queueFrameLocked(head, nil, end)
	c.queueFrameLocked(head, []byte("body"), end)
	q := slices.Clone(c.q)
	c.q = nil
	c.mu.Unlock()

	want := []string{
		string(head) + "body" + string(end),
		string(head) + string(end),
		string(head), string(end),
		string(head), "body", string(end),
	}
	var got []string
	for _, b := range q {
		if len(b) == 0 {
			t.Fatalf("an empty slice queued: %q", q)
		}
		got = append(got, string(b))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("queued %q, want %q", got, want)
	}
}
