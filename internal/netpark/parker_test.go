//go:build linux

package netpark

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// pair returns the two ends of a loopback TCP connection; the test closes
// them.
func pair(t *testing.T) (server *net.TCPConn, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); sc.Close() })
	return sc.(*net.TCPConn), client
}

func rawOf(t *testing.T, c *net.TCPConn) syscall.RawConn {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func newParker(t *testing.T) *Parker {
	t.Helper()
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// park makes a ticket and parks it.
func park(p *Parker, rc syscall.RawConn, deadline time.Time, resume func(Wake)) (*Ticket, bool) {
	t := p.NewTicket(resume)
	return t, t.Park(rc, deadline)
}

// wakes collects resumes; each must come once.
type wakes chan Wake

func (w wakes) resume(k Wake) { w <- k }

func (w wakes) want(t *testing.T, k Wake) {
	t.Helper()
	select {
	case got := <-w:
		if got != k {
			t.Fatalf("woken by %v, want %v", got, k)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("not woken (want %v)", k)
	}
}

func (w wakes) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case got := <-w:
		t.Fatalf("woken by %v, want no wake-up", got)
	case <-time.After(d):
	}
}

func TestParkWakesOnInput(t *testing.T) {
	p := newParker(t)
	sc, cc := pair(t)
	w := make(wakes, 2)
	if _, ok := park(p, rawOf(t, sc), time.Time{}, w.resume); !ok {
		t.Fatal("Park refused a plain TCP connection")
	}
	w.none(t, 20*time.Millisecond)
	if p.Parked() != 1 {
		t.Fatalf("Parked = %d, want 1", p.Parked())
	}
	cc.Write([]byte("x"))
	w.want(t, WakeInput)
	if p.Parked() != 0 {
		t.Fatalf("Parked = %d after the wake-up, want 0", p.Parked())
	}
	// The same socket parks again (its registration is re-armed); input
	// that is already there wakes it at once.
	if _, ok := park(p, rawOf(t, sc), time.Time{}, w.resume); !ok {
		t.Fatal("Park refused the connection the second time")
	}
	w.want(t, WakeInput)
	buf := make([]byte, 8)
	if n, _ := sc.Read(buf); n != 1 {
		t.Fatalf("read %d bytes, want the 1 written", n)
	}
	if _, ok := park(p, rawOf(t, sc), time.Time{}, w.resume); !ok {
		t.Fatal("Park refused the connection the third time")
	}
	w.none(t, 20*time.Millisecond)
	cc.Close()
	w.want(t, WakeInput) // the peer's close
}

func TestParkDeadlineCancelClose(t *testing.T) {
	p := newParker(t)
	sc, _ := pair(t)
	w := make(wakes, 2)
	if _, ok := park(p, rawOf(t, sc), time.Now().Add(10*time.Millisecond), w.resume); !ok {
		t.Fatal("Park refused")
	}
	w.want(t, WakeDeadline)

	tk, ok := park(p, rawOf(t, sc), time.Now().Add(time.Hour), w.resume)
	if !ok {
		t.Fatal("Park refused")
	}
	sc.Close()
	tk.Cancel()
	w.want(t, WakeCancel)
	tk.Cancel() // once only
	w.none(t, 20*time.Millisecond)
	if _, ok := park(p, rawOf(t, sc), time.Time{}, w.resume); ok {
		t.Fatal("Park accepted a closed connection")
	}
	if p.Parked() != 0 {
		t.Fatalf("Parked = %d, want 0", p.Parked())
	}

	sc2, _ := pair(t)
	if _, ok := park(p, rawOf(t, sc2), time.Time{}, w.resume); !ok {
		t.Fatal("Park refused")
	}
	p.Close()
	w.want(t, WakeClosed)
	p.Close() // idempotent
	if _, ok := park(p, rawOf(t, sc2), time.Time{}, w.resume); ok {
		t.Fatal("a closed Parker parked a connection")
	}
}

// Input, a deadline, Cancel and Close racing for one ticket resume it
// once.
func TestParkResumesOnce(t *testing.T) {
	p := newParker(t)
	const n = 50
	var resumed [n]atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		sc, cc := pair(t)
		tk, ok := park(p, rawOf(t, sc), time.Now().Add(time.Millisecond), func(Wake) { resumed[i].Add(1) })
		if !ok {
			t.Fatal("Park refused")
		}
		wg.Add(2)
		go func() { defer wg.Done(); cc.Write([]byte("x")) }()
		go func() { defer wg.Done(); tk.Cancel() }()
	}
	wg.Wait()
	p.Close()
	deadline := time.Now().Add(5 * time.Second)
	for i := range n {
		for resumed[i].Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	time.Sleep(20 * time.Millisecond) // a second resume would show by now
	for i := range n {
		if got := resumed[i].Load(); got != 1 {
			t.Fatalf("ticket %d resumed %d times, want 1", i, got)
		}
	}
}

// A deadline already due resumes the wait, but only once the socket is
// armed: a wait parked again from resume is woken by input, never left
// behind by the first Park re-arming the socket (review of issue 20).
// A ticket parks once.
func TestParkDeadlineDueBeforeArmed(t *testing.T) {
	p := newParker(t)
	sc, cc := pair(t)
	rc := rawOf(t, sc)
	for range 50 {
		second := make(wakes, 1)
		parkedAgain := make(chan bool, 1)
		tk, ok := park(p, rc, time.Unix(1, 0), func(Wake) {
			_, ok := park(p, rc, time.Time{}, second.resume)
			parkedAgain <- ok
		})
		if !ok {
			t.Fatal("Park refused")
		}
		if tk.Park(rc, time.Time{}) {
			t.Fatal("a ticket parked twice")
		}
		if !<-parkedAgain {
			t.Fatal("Park refused from resume")
		}
		cc.Write([]byte("x"))
		second.want(t, WakeInput)
		if _, err := sc.Read(make([]byte, 8)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNilParker(t *testing.T) {
	var p *Parker
	if _, ok := park(p, nil, time.Time{}, func(Wake) {}); ok {
		t.Fatal("a nil Parker parked")
	}
	if p.Open() {
		t.Fatal("a nil Parker is open")
	}
	if p.Parked() != 0 || p.Close() != nil {
		t.Fatal("nil Parker")
	}
	var tk *Ticket
	tk.Cancel()
}

// The watcher keeps the deadlines: one earlier than those it waits for
// wakes it; a ticket resumed otherwise leaves no deadline behind.
func TestParkDeadlines(t *testing.T) {
	p := newParker(t)
	late := make(wakes, 1)
	sc1, _ := pair(t)
	tk, ok := park(p, rawOf(t, sc1), time.Now().Add(time.Hour), late.resume)
	if !ok {
		t.Fatal("Park refused")
	}
	early := make(wakes, 3)
	start := time.Now()
	for i := range 3 {
		sc, _ := pair(t)
		if _, ok := park(p, rawOf(t, sc), start.Add(time.Duration(10+10*i)*time.Millisecond), early.resume); !ok {
			t.Fatal("Park refused")
		}
	}
	for range 3 {
		early.want(t, WakeDeadline)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("the last deadline fired after %v, before it was due", d)
	}
	late.none(t, 10*time.Millisecond)
	tk.Cancel()
	late.want(t, WakeCancel)
	p.mu.Lock()
	n := len(p.deadlines)
	p.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d deadlines kept after every ticket was resumed", n)
	}
}

// When the watcher fails (epoll_wait unusable), every parked wait resumes
// with WakeClosed and nothing more parks.
func TestParkerFail(t *testing.T) {
	p := newParker(t)
	sc, _ := pair(t)
	w := make(wakes, 1)
	if _, ok := park(p, rawOf(t, sc), time.Now().Add(time.Hour), w.resume); !ok {
		t.Fatal("Park refused")
	}
	p.fail()
	w.want(t, WakeClosed)
	if p.Open() {
		t.Fatal("a failed Parker is open")
	}
	if _, ok := park(p, rawOf(t, sc), time.Time{}, w.resume); ok {
		t.Fatal("a failed Parker parked a connection")
	}
}
