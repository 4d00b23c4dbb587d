package relay

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// connOf returns the server side of s's connection.
func connOf(t *testing.T, s *Session) *conn {
	t.Helper()
	c := s.conn.Load()
	if c == nil {
		t.Fatal("session not bound")
	}
	return c
}

// A writer that drains its queue gives its arena back to the pool at once
// (issue 20); an idle connection gives up its queue arrays after two idle
// sweeps, which count the arena it gave back, and a busy one keeps them;
// either way the output arrives whole.
func TestReleaseIdleBuffers(t *testing.T) {
	srv := startServer(t, Config{IdleSweep: time.Hour}, &recorder{})
	s, p := boundSession(t, srv, "idle")
	c := connOf(t, s)
	var ids msrp.IDSource
	send := func(mid string) {
		head, end := frame(&ids, s, mid, []byte("hello "+mid))
		if err := s.EnqueueFrame(head, []byte("hello "+mid), end); err != nil {
			t.Fatal(err)
		}
		if m := p.ExpectRequest(msrp.MethodSEND); string(m.Body) != "hello "+mid {
			t.Fatalf("got %q", m.Body)
		}
	}
	holds := func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.q != nil || c.spare != nil
	}
	holdsArena := func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.arena != nil
	}
	writerStopped := func() {
		// The peer has the copy before the writer marks itself stopped: a
		// sweep in between would find it writing and keep everything.
		waitFor(t, "the writer to stop", func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			return !c.writing
		})
	}
	send("m1")
	writerStopped()
	if !holds() {
		t.Fatal("the writer kept no queue arrays for the next burst")
	}
	if holdsArena() {
		t.Fatal("the drained writer kept its arena instead of giving it back to the pool (issue 20)")
	}
	if n := srv.ReleaseIdle(); n != 0 || !holds() { // active since the last sweep: kept
		t.Fatalf("released (%d bytes) at the first sweep", n)
	}
	send("m2")
	writerStopped()
	if n := srv.ReleaseIdle(); n != 0 || !holds() {
		t.Fatalf("released (%d bytes) although it wrote since the previous sweep", n)
	}
	if n := srv.ReleaseIdle(); n < 1024 || holds() {
		// The arena alone is several KiB: the count tells the sweep whether
		// to hand memory back to the system (freeOSAfter).
		t.Fatalf("idle for a whole sweep: released %d bytes, still holding: %v", n, holds())
	}
	if n := srv.ReleaseIdle(); n != 0 {
		t.Fatalf("released %d bytes twice", n)
	}
	send("m3") // works again from nothing
}

// The read loop hands over to a fresh goroutine when it waits for input,
// releasing its read buffer; reading goes on across many handoffs, and a
// message split at every position across two writes still arrives whole.
func TestReadHandoff(t *testing.T) {
	srv := startServer(t, Config{}, &recorder{})
	s, p := boundSession(t, srv, "handoff")
	for i := 0; i < 50; i++ {
		m := msrptest.Bodiless(s.LocalURI(), p.URI)
		m.TID = "t000" + strconv.Itoa(i)
		wire := m.Bytes()
		cut := i * len(wire) / 50
		p.SendRaw(wire[:cut])
		time.Sleep(time.Millisecond) // let the read loop go idle mid-message
		p.SendRaw(wire[cut:])
		p.ExpectResponse(m.TID, msrp.StatusOK)
	}
}

// writeBuffers writes batches longer than IOV_MAX and larger than the
// socket buffer (partial writes) in order.
func TestWriteBuffersLargeBatch(t *testing.T) {
	var batch [][]byte
	for i := range 3000 {
		chunk := bytes.Repeat([]byte{byte('a' + i%26)}, 1+i%700)
		if i%100 == 0 {
			chunk = nil // empty buffers are skipped
		}
		batch = append(batch, chunk)
	}
	checkWriteBuffers(t, batch, bytes.Join(batch, nil))
}

// checkWriteBuffers writes batch with writeBuffers over a TCP connection
// with a small send buffer (partial writes) and checks that the peer reads
// want.
func checkWriteBuffers(t *testing.T, batch [][]byte, want []byte) {
	t.Helper()
	srv := startServer(t, Config{}, &recorder{})
	a, b := tcpPair(t)
	c := newConn(srv, 1, a)
	got := make(chan []byte)
	go func() {
		all, _ := io.ReadAll(b)
		got <- all
	}()
	n, err := c.writeBuffers(batch)
	a.Close()
	if err != nil {
		t.Fatal(err)
	}
	all := <-got
	if n != int64(len(want)) || !bytes.Equal(all, want) {
		t.Fatalf("wrote %d of %d octets, read %d, equal %v", n, len(want), len(all), bytes.Equal(all, want))
	}
}

func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	a.(*net.TCPConn).SetWriteBuffer(4096)
	// The reader keeps its default buffer: a small one stalls the
	// transfer on window updates (seconds for a megabyte).
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}
