package relay

import (
	"bytes"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/parley-im/parley/msrp"
)

// benchSession binds a session whose participant drains everything in a
// goroutine that the returned stop function ends and waits for.
func benchSession(b *testing.B) (*Session, *conn, func()) {
	srv := startServer(b, Config{MaxPendingBytes: 1 << 30}, NopHandler{})
	s, p := boundSession(b, srv, "alice")
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		io.Copy(io.Discard, p.Conn())
	}()
	c := s.conn.Load()
	return s, c, func() {
		waitFor(b, "queue drained", func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.pending == 0 && !c.writing
		})
		p.Close()
		<-drained
	}
}

// throttle waits while more than 1 MiB is pending: enqueueing is much
// faster than loopback writing, so an unthrottled loop would only measure
// how fast the queue hits MaxPendingBytes. It measures sustained throughput.
func throttle(c *conn) {
	for {
		c.mu.Lock()
		p := c.pending
		c.mu.Unlock()
		if p < 1<<20 {
			return
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// benchFrame returns a 300-byte SEND as fan-out frames it: head, shared body, end.
func benchFrame(s *Session) (head, body, end []byte) {
	var ids msrp.IDSource
	head, end = frame(&ids, s, "benchmsg", nil)
	body = bytes.Repeat([]byte("b"), 300-len(head)-len(end)-2) // the CRLF before the end-line is in end
	head, end = frame(&ids, s, "benchmsg", body)
	if n := len(head) + len(body) + len(end); n != 300 {
		panic(n)
	}
	return head, body, end
}

// BenchmarkEnqueueWrite: one goroutine enqueues 300-byte frames to a bound
// session; the writer batches them into writev calls on loopback.
func BenchmarkEnqueueWrite(b *testing.B) {
	s, c, stop := benchSession(b)
	head, body, end := benchFrame(s)
	b.SetBytes(300)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%1024 == 0 {
			throttle(c)
		}
		if err := s.Enqueue(head, body, end); err != nil {
			b.Fatal(err)
		}
	}
	stop()
}

// BenchmarkEnqueueWriteParallel: fan-in, many goroutines enqueueing to one
// connection.
func BenchmarkEnqueueWriteParallel(b *testing.B) {
	s, c, stop := benchSession(b)
	head, body, end := benchFrame(s)
	b.SetBytes(300)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if i%256 == 0 {
				throttle(c)
			}
			if err := s.Enqueue(head, body, end); err != nil {
				b.Error(err)
				return
			}
		}
	})
	stop()
}

// BenchmarkSend: serialise a 300-byte message with Send and write it.
func BenchmarkSend(b *testing.B) {
	s, c, stop := benchSession(b)
	head, body, end := benchFrame(s)
	r := msrp.NewReader(bytes.NewReader(append(append(append([]byte(nil), head...), body...), end...)), msrp.Limits{})
	m, err := r.ReadMessage()
	if err != nil {
		b.Fatal(err)
	}
	m = m.Clone()
	b.SetBytes(300)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%1024 == 0 {
			throttle(c)
		}
		if err := s.Send(m); err != nil {
			b.Fatal(err)
		}
	}
	stop()
}

// BenchmarkEnqueueWriteEach: every frame is written before the next is
// enqueued, so each op pays a writer start and one writev: the cost of a
// lone message on an idle connection.
func BenchmarkEnqueueWriteEach(b *testing.B) {
	s, c, stop := benchSession(b)
	head, body, end := benchFrame(s)
	b.SetBytes(300)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := s.Enqueue(head, body, end); err != nil {
			b.Fatal(err)
		}
		for {
			c.mu.Lock()
			idle := c.pending == 0 && !c.writing
			c.mu.Unlock()
			if idle {
				break
			}
			runtime.Gosched()
		}
	}
	stop()
}
