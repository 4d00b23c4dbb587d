package server

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/servertest"
	"github.com/parley-im/parley/internal/store/storetest"
)

// The join benchmarks measure the server, not a client library: a lean
// driver speaks raw SIP over one shared UDP socket (pre-built requests with
// per-op Call-ID, tags and branch; responses matched by Call-ID with a few
// byte searches, no SIP parser) and binds each participant's MSRP session
// over its own loopback TCP connection with a pre-built bodiless SEND.
//
//	go test ./internal/server -run '^$' -bench 'Join' -benchmem -count 6
//	go test ./internal/server -run '^$' -bench 'IdleMemory' -benchtime 1x -count 6
//
// Settings (environment): PARLEY_JOIN_INFLIGHT, joins in flight (default
// 32); PARLEY_JOIN_ROOM, participants per room (default 100; rooms fill one
// after the other); PARLEY_IDLE_N, participants of BenchmarkIdleMemory
// (default 5,000).

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// joinDriver plays many participants over one UDP socket.
type joinDriver struct {
	conn     *net.UDPConn
	focus    *net.UDPAddr
	me       string // host:port of conn
	focusStr string
	run      string // distinguishes Call-IDs of successive runs

	mu      sync.Mutex
	waiting map[string]chan []byte // Call-ID → final response

	requests atomic.Int64 // requests from the server (BYE at shutdown), answered 200

	// tls: offer msrps (TCP/TLS/MSRP) and bind over TLS with this client
	// configuration (nil: plain msrp over TCP).
	tls *tls.Config

	// auth: every participant joins as one of these accounts (participant
	// i as auth.users[i%len]) with SIP digest: INVITE → 401 → ACK → INVITE
	// with credentials → 200 (nil: From sip:u<i>@example.com, a guest).
	auth       *joinAuth
	challenges atomic.Int64 // 401s answered
}

// joinAuth are the accounts of an authenticated join benchmark, all with
// one password, in the accounts' domain host.
type joinAuth struct {
	users    []string
	password string
	host     string
	// reuse: a worker answers its last challenge again, with the next
	// nonce count, instead of waiting to be challenged (RFC 3261 §22.1:
	// credentials may be sent pre-emptively), as clients do for the
	// requests after their first.
	reuse bool
}

func newJoinDriver(tb testing.TB, focus string) *joinDriver {
	tb.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	c.SetReadBuffer(8 << 20)
	c.SetWriteBuffer(8 << 20)
	fa, err := net.ResolveUDPAddr("udp", focus)
	if err != nil {
		tb.Fatal(err)
	}
	d := &joinDriver{conn: c, focus: fa, me: c.LocalAddr().String(), focusStr: focus,
		run: strconv.FormatInt(time.Now().UnixNano(), 36), waiting: map[string]chan []byte{}}
	done := make(chan struct{})
	go d.read(done)
	tb.Cleanup(func() { c.Close(); <-done })
	return d
}

func (d *joinDriver) read(done chan struct{}) {
	defer close(done)
	buf := make([]byte, 65536)
	for {
		n, from, err := d.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		msg := buf[:n]
		if !bytes.HasPrefix(msg, []byte("SIP/2.0 ")) {
			// A request from the focus (BYE at shutdown): 200.
			d.requests.Add(1)
			d.conn.WriteToUDP(servertest.Reply(msg, 200, "OK"), from)
			continue
		}
		if n < 12 || msg[8] == '1' {
			continue // provisional
		}
		cid := servertest.Field(msg, "Call-ID")
		d.mu.Lock()
		ch := d.waiting[string(cid)]
		delete(d.waiting, string(cid))
		d.mu.Unlock()
		if ch != nil {
			ch <- bytes.Clone(msg)
		}
	}
}

// transact sends req (a new transaction of dialog callID) and returns its
// final response, retransmitting over UDP as RFC 3261 asks (here: every
// 500 ms).
func (d *joinDriver) transact(callID string, req []byte) ([]byte, error) {
	ch := make(chan []byte, 1)
	d.mu.Lock()
	d.waiting[callID] = ch
	d.mu.Unlock()
	t := time.NewTimer(500 * time.Millisecond)
	defer t.Stop()
	for try := 0; ; try++ {
		if _, err := d.conn.WriteToUDP(req, d.focus); err != nil {
			return nil, err
		}
		select {
		case res := <-ch:
			return res, nil
		case <-t.C:
			if try == 10 {
				return nil, fmt.Errorf("%s: no answer", callID)
			}
			t.Reset(500 * time.Millisecond)
		}
	}
}

// participant is one joined participant.
type participant struct {
	callID, fromTag string
	from            string // the From URI without "sip:"
	cseq            int    // the INVITE's CSeq (2 after a challenge)
	to              []byte // the 2xx's To (with the focus's tag)
	contact         []byte // the focus's Contact URI
	msrp            net.Conn
}

// worker holds one in-flight slot's reusable buffers.
type worker struct {
	req, sdp, msrp, rbuf []byte

	// With joinAuth.reuse: the last challenge this worker answered and
	// the nonce count it last used with it.
	chal *digest.Challenge
	nc   int
}

const joinSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=message 9 TCP/MSRP *\r\n" +
	"a=accept-types:message/cpim text/plain\r\na=path:msrp://127.0.0.1:9/"

const joinSDPTLS = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=message 9 TCP/TLS/MSRP *\r\n" +
	"a=accept-types:message/cpim text/plain\r\na=path:msrps://127.0.0.1:9/"

const joinSDPTail = ";tcp\r\na=setup:active\r\na=chatroom:nickname private-messages\r\n"

// join runs one participant's join: INVITE with an SDP offer, 200, ACK,
// MSRP connect and bind (a bodiless SEND answered 200).
func (d *joinDriver) join(w *worker, roomName string, n int64) (*participant, error) {
	id := d.run + "-" + strconv.FormatInt(n, 10)
	p := &participant{callID: "j" + id, fromTag: "f" + id, from: "u" + id + "@example.com", cseq: 1}
	var authz string
	if d.auth != nil {
		p.from = d.auth.users[n%int64(len(d.auth.users))] + "@" + d.auth.host
		if d.auth.reuse && w.chal != nil {
			w.nc++
			a, err := d.credentials(w.chal, p, roomName, w.nc)
			if err != nil {
				return nil, err
			}
			authz = a
		}
	}
again:

	if d.tls != nil {
		w.sdp = append(append(append(w.sdp[:0], joinSDPTLS...), id...), joinSDPTail...)
	} else {
		w.sdp = append(append(append(w.sdp[:0], joinSDP...), id...), joinSDPTail...)
	}
	r := w.req[:0]
	r = append(r, "INVITE sip:"...)
	r = append(r, roomName...)
	r = append(r, '@')
	r = append(r, d.focusStr...)
	r = append(r, " SIP/2.0\r\nVia: SIP/2.0/UDP "...)
	r = append(r, d.me...)
	r = append(r, ";branch=z9hG4bK-i"...)
	r = append(r, id...)
	r = strconv.AppendInt(append(r, '.'), int64(p.cseq), 10)
	r = append(r, "\r\nFrom: <sip:"...)
	r = append(r, p.from...)
	r = append(r, ">;tag="...)
	r = append(r, p.fromTag...)
	r = append(r, "\r\nTo: <sip:"...)
	r = append(r, roomName...)
	r = append(r, '@')
	r = append(r, d.focusStr...)
	r = append(r, ">\r\nCall-ID: "...)
	r = append(r, p.callID...)
	r = append(r, "\r\nCSeq: "...)
	r = strconv.AppendInt(r, int64(p.cseq), 10)
	if authz != "" {
		r = append(r, " INVITE\r\nAuthorization: "...)
		r = append(r, authz...)
		r = append(r, "\r\nContact: <sip:u"...)
	} else {
		r = append(r, " INVITE\r\nContact: <sip:u"...)
	}
	r = append(r, id...)
	r = append(r, '@')
	r = append(r, d.me...)
	r = append(r, ">\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: "...)
	r = strconv.AppendInt(r, int64(len(w.sdp)), 10)
	r = append(r, "\r\n\r\n"...)
	r = append(r, w.sdp...)
	w.req = r
	res, err := d.transact(p.callID, r)
	if err != nil {
		return nil, err
	}
	if d.auth != nil && p.cseq == 1 && bytes.HasPrefix(res, []byte("SIP/2.0 401 ")) {
		if authz, err = d.answerChallenge(w, p, res, roomName, id); err != nil {
			return nil, err
		}
		p.cseq++
		goto again
	}
	if !bytes.HasPrefix(res, []byte("SIP/2.0 200 ")) {
		return nil, fmt.Errorf("INVITE: %q", res[:bytes.IndexByte(res, '\r')])
	}
	p.to = servertest.Field(res, "To")
	p.contact = servertest.Field(res, "Contact")
	if i, j := bytes.IndexByte(p.contact, '<'), bytes.IndexByte(p.contact, '>'); i >= 0 && j > i {
		p.contact = p.contact[i+1 : j]
	}
	scheme := "msrp://"
	if d.tls != nil {
		scheme = "msrps://"
	}
	i := bytes.Index(res, []byte("\r\na=path:"+scheme))
	if i < 0 {
		return nil, fmt.Errorf("INVITE: no %s a=path in the answer", scheme)
	}
	path := res[i+len("\r\na=path:"):]
	path = path[:bytes.Index(path, []byte("\r\n"))]

	// ACK (no answer): a new transaction to the focus's Contact.
	if err := d.ack(w, p, p.contact, "a"+id, p.to); err != nil {
		return nil, err
	}

	// MSRP: connect to the host:port of the focus's path and bind.
	hp := path[len(scheme):]
	hp = hp[:bytes.IndexByte(hp, '/')]
	var nc net.Conn
	if d.tls != nil {
		nc, err = tls.Dial("tcp", string(hp), d.tls)
	} else {
		nc, err = net.Dial("tcp", string(hp))
	}
	if err != nil {
		return nil, err
	}
	p.msrp = nc
	m := w.msrp[:0]
	m = append(m, "MSRP b"...)
	m = append(m, id...)
	m = append(m, " SEND\r\nTo-Path: "...)
	m = append(m, path...)
	m = append(m, "\r\nFrom-Path: "...)
	m = append(m, scheme...)
	m = append(m, "127.0.0.1:9/"...)
	m = append(m, id...)
	m = append(m, ";tcp\r\nMessage-ID: m"...)
	m = append(m, id...)
	m = append(m, "\r\nByte-Range: 1-0/0\r\n-------b"...)
	m = append(m, id...)
	m = append(m, "$\r\n"...)
	w.msrp = m
	if _, err := nc.Write(m); err != nil {
		nc.Close()
		return nil, err
	}
	// The 200 ends with the SEND's end-line; notices may come first.
	end := m[len(m)-len(id)-11:]
	if cap(w.rbuf) < 4096 {
		w.rbuf = make([]byte, 4096)
	}
	got := 0
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if got == len(w.rbuf) {
			w.rbuf = append(w.rbuf, make([]byte, len(w.rbuf))...)
		}
		k, err := nc.Read(w.rbuf[got:])
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("MSRP bind: %w", err)
		}
		got += k
		if i := bytes.Index(w.rbuf[:got], end); i >= 0 {
			st := bytes.Index(w.rbuf[:got], []byte("MSRP b"+id+" "))
			if st < 0 || !bytes.HasPrefix(w.rbuf[st+len(id)+7:], []byte("200")) {
				nc.Close()
				return nil, fmt.Errorf("MSRP bind: %q", w.rbuf[:got])
			}
			break
		}
	}
	nc.SetReadDeadline(time.Time{})
	return p, nil
}

// leave sends BYE and waits for its 200, then closes the MSRP connection.
func (d *joinDriver) leave(w *worker, p *participant) error {
	r := w.req[:0]
	r = append(r, "BYE "...)
	r = append(r, p.contact...)
	r = append(r, " SIP/2.0\r\nVia: SIP/2.0/UDP "...)
	r = append(r, d.me...)
	r = append(r, ";branch=z9hG4bK-b"...)
	r = append(r, p.callID...)
	r = append(r, "\r\nFrom: <sip:"...)
	r = append(r, p.from...)
	r = append(r, ">;tag="...)
	r = append(r, p.fromTag...)
	r = append(r, "\r\nTo: "...)
	r = append(r, p.to...)
	r = append(r, "\r\nCall-ID: "...)
	r = append(r, p.callID...)
	r = append(r, "\r\nCSeq: "...)
	r = strconv.AppendInt(r, int64(p.cseq)+1, 10)
	r = append(r, " BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"...)
	w.req = r
	res, err := d.transact(p.callID, r)
	if p.msrp != nil {
		p.msrp.Close()
	}
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(res, []byte("SIP/2.0 200 ")) {
		return fmt.Errorf("BYE: %q", res[:bytes.IndexByte(res, '\r')])
	}
	return nil
}

// benchServer starts an in-process parleyd on loopback: SIP over UDP, MSRP
// over TCP, default settings otherwise (system messages on, info logging
// discarded).
func benchServer(tb testing.TB, opts ...func(*config.Config)) *Server {
	tb.Helper()
	cfg := config.Default()
	cfg.SIP.UDP, cfg.SIP.TCP, cfg.MSRP.Listen = "127.0.0.1:0", "", "127.0.0.1:0"
	cfg.SIP.TLS, cfg.MSRP.TLSListen, cfg.HTTPS.Listen = "", "", "" // no TLS: no certificate, no fixed ports
	cfg.Store.Mode = config.StoreMemory                            // nothing written to the working directory
	cfg.Rooms.MaxParticipants = 1 << 20
	cfg.Rooms.MaxRooms = 1 << 20
	// PARLEY_HISTORY=n sets rooms.history (default 50; 0: no history),
	// PARLEY_STORE=file keeps it on disk in a temporary directory as
	// parleyd does by default (else in memory).
	if v := os.Getenv("PARLEY_HISTORY"); v != "" {
		cfg.Rooms.History = envInt("PARLEY_HISTORY", cfg.Rooms.History)
	}
	if os.Getenv("PARLEY_STORE") == "file" {
		cfg.Store.Mode, cfg.Server.DataDir = config.StoreFile, tb.TempDir()
	}
	for _, o := range opts {
		o(cfg)
	}
	srv, err := New(cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	srv.Start()
	tb.Cleanup(func() { srv.Shutdown(tb.Context()) })
	return srv
}

// raiseFileLimit lifts the soft limit on open files to the hard one: every
// participant is two sockets.
func raiseFileLimit() {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur < rl.Max {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
}

// runOps runs ops 0..n-1 on inflight workers and returns the first error.
func runOps(n, inflight int, op func(w *worker, i int64) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var first error
	for range inflight {
		wg.Go(func() {
			w := &worker{}
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if err := op(w, i); err != nil {
					errMu.Lock()
					if first == nil {
						first = err
					}
					errMu.Unlock()
					next.Store(int64(n))
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

func roomOf(i int64, size int) string { return "r" + strconv.FormatInt(i/int64(size), 10) }

// BenchmarkJoin: one op is one participant joining (INVITE with an SDP
// offer → 200 → ACK → MSRP connect and bind → 200), PARLEY_JOIN_INFLIGHT
// at once; participants stay until the end of the run, PARLEY_JOIN_ROOM to
// a room. B/op and allocs/op are the whole process's, the driver's
// included.
func BenchmarkJoin(b *testing.B) {
	inflight, size := envInt("PARLEY_JOIN_INFLIGHT", 32), envInt("PARLEY_JOIN_ROOM", 100)
	raiseFileLimit()
	srv := benchServer(b)
	d := newJoinDriver(b, srv.Addrs().SIPUDP)
	runJoins(b, d, inflight, size)
}

// BenchmarkJoinLeave: one op is one participant joining as in BenchmarkJoin
// and then leaving (BYE → 200, MSRP connection closed), so the server's
// state stays small whatever b.N.
func BenchmarkJoinLeave(b *testing.B) {
	inflight, size := envInt("PARLEY_JOIN_INFLIGHT", 32), envInt("PARLEY_JOIN_ROOM", 100)
	srv := benchServer(b)
	d := newJoinDriver(b, srv.Addrs().SIPUDP)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	err := runOps(b.N, inflight, func(w *worker, i int64) error {
		p, err := d.join(w, roomOf(i%int64(inflight*size), size), i)
		if err != nil {
			return err
		}
		return d.leave(w, p)
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "joins+leaves/s")
}

// memInUse is the heap and stack memory in use after a full collection,
// and the resident set size once free memory went back to the OS.
func memInUse() (heap, stack, rss uint64) {
	runtime.GC()
	debug.FreeOSMemory() // another GC, then returns free memory
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, ms.StackInuse, residentBytes()
}

// residentBytes is the process's resident set size (0 if unknown).
func residentBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(string(f[1]), 10, 64)
	return pages * uint64(os.Getpagesize())
}

// BenchmarkIdleMemory measures what an idle participant costs the server:
// PARLEY_IDLE_N participants (default 5,000) join, PARLEY_JOIN_ROOM to a
// room, and once every SIP transaction timer of their joins has run out,
// the growth of HeapInuse and StackInuse (after runtime.GC), of the
// resident set size (after debug.FreeOSMemory; it also counts runtime
// metadata) and of the number of goroutines is divided by their number. The driver keeps only
// each participant's MSRP socket as a file descriptor (no Go objects), so
// the figures are the server's. sipgo's timers are shortened for the run
// (T1 = 50 ms: its INVITE transactions linger 64·T1 = 3.2 s after the
// 2xx instead of 32 s), and the relay's idle sweep is run twice (as two
// of its 10 s periods would) before each reading. b.N is not used: run it
// with -benchtime 1x.
// PARLEY_IDLE_HEAPPROFILE=file writes a heap profile of that moment.
// PARLEY_IDLE_TLS=1 binds every participant's MSRP session over TLS
// (msrps) instead of plain TCP.
func BenchmarkIdleMemory(b *testing.B) {
	n, size := envInt("PARLEY_IDLE_N", 5000), envInt("PARLEY_JOIN_ROOM", 100)
	inflight := envInt("PARLEY_JOIN_INFLIGHT", 32)
	raiseFileLimit()
	t1, t2, t4 := sip.T1, sip.T2, sip.T4
	sip.SetTimers(50*time.Millisecond, t2, t4)
	defer sip.SetTimers(t1, t2, t4)
	linger := 64*sip.T1 + time.Second

	var srv *Server
	var d *joinDriver
	if os.Getenv("PARLEY_IDLE_TLS") == "1" {
		// MSRP over TLS (msrps, issue 15): the server keeps a tls.Conn per
		// participant; the driver keeps only the TCP socket under it.
		srv = benchServer(b, func(cfg *config.Config) {
			cfg.MSRP.TLSListen, cfg.Server.DataDir = "127.0.0.1:0", b.TempDir()
			cfg.Limits.DialogsPerSource = 1 << 20
		})
		d = newJoinDriver(b, srv.Addrs().SIPUDP)
		d.tls = &tls.Config{InsecureSkipVerify: true} // a benchmark on loopback: the certificate is the server's own
	} else {
		srv = benchServer(b)
		d = newJoinDriver(b, srv.Addrs().SIPUDP)
	}
	var fdMu sync.Mutex
	var fds []int
	b.Cleanup(func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	})
	joinKeepingFD := func(base int64, count int, room func(int64) string) {
		err := runOps(count, inflight, func(w *worker, i int64) error {
			p, err := d.join(w, room(base+i), base+i)
			if err != nil {
				return err
			}
			// Keep the socket, drop its Go objects.
			nc := p.msrp
			if tc, ok := nc.(*tls.Conn); ok {
				nc = tc.NetConn()
			}
			f, err := nc.(*net.TCPConn).File()
			nc.Close() // the TCP socket's Go object: over TLS, no close_notify goes out
			if err != nil {
				return err
			}
			fd, err := syscall.Dup(int(f.Fd()))
			f.Close()
			if err != nil {
				return err
			}
			fdMu.Lock()
			fds = append(fds, fd)
			fdMu.Unlock()
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	fds = make([]int, 0, n+256)
	// Warm up: rooms, pools and tables exist before the first reading.
	joinKeepingFD(0, 256, func(i int64) string { return "warm" + strconv.FormatInt(i/int64(size), 10) })
	settle := func() {
		time.Sleep(linger)
		// Two idle sweeps, as two relay.DefaultIdleSweep periods would.
		srv.relay.ReleaseIdle()
		srv.relay.ReleaseIdle()
	}
	settle()
	heap0, stack0, rss0 := memInUse()
	g0 := runtime.NumGoroutine()

	b.ResetTimer()
	joinKeepingFD(1<<20, n, func(i int64) string { return roomOf(i-1<<20, size) })
	b.StopTimer()
	settle()
	heap1, stack1, rss1 := memInUse()
	g1 := runtime.NumGoroutine()
	if path := os.Getenv("PARLEY_IDLE_HEAPPROFILE"); path != "" {
		// The live heap with the participants idle (sample rate:
		// -memprofilerate).
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		pprof.Lookup("heap").WriteTo(f, 0)
		f.Close()
	}
	if got := srv.focus.Dialogs(); got != n+256 {
		b.Fatalf("%d dialogs, want %d", got, n+256)
	}
	per := func(a, b uint64) float64 { return (float64(b) - float64(a)) / float64(n) }
	b.ReportMetric(per(heap0+stack0, heap1+stack1), "bytes/participant")
	b.ReportMetric(per(heap0, heap1), "heap-B/participant")
	b.ReportMetric(per(stack0, stack1), "stack-B/participant")
	b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/participant")
	if rss0 > 0 && rss1 > 0 {
		b.ReportMetric(per(rss0, rss1), "rss-B/participant")
	}
}

// answerChallenge ACKs the 401 res to p's INVITE (RFC 3261 §17.1.1.3: the
// same branch, the 401's To) and returns the Authorization answering its
// SHA-256 challenge, as an independent client computes it.
func (d *joinDriver) answerChallenge(w *worker, p *participant, res []byte, roomName, id string) (string, error) {
	var chal *digest.Challenge
	head, _, _ := bytes.Cut(res, []byte("\r\n\r\n"))
	for _, l := range bytes.Split(head, []byte("\r\n")) {
		k, v, ok := bytes.Cut(l, []byte(":"))
		if !ok || !bytes.EqualFold(bytes.TrimSpace(k), []byte("WWW-Authenticate")) {
			continue
		}
		c, err := digest.ParseChallenge(string(bytes.TrimSpace(v)))
		if err == nil && c.Algorithm == "SHA-256" {
			chal = c
			break
		}
	}
	if chal == nil {
		return "", fmt.Errorf("401 without a SHA-256 challenge: %q", head)
	}
	d.challenges.Add(1)
	// The ACK of a non-2xx is part of the INVITE's transaction: its branch.
	target := []byte("sip:" + roomName + "@" + d.focusStr)
	if err := d.ack(w, p, target, "i"+id+"."+strconv.Itoa(p.cseq), servertest.Field(res, "To")); err != nil {
		return "", err
	}
	w.chal, w.nc = chal, 1
	return d.credentials(chal, p, roomName, 1)
}

// credentials answers chal for p's INVITE to roomName with nonce count nc.
func (d *joinDriver) credentials(chal *digest.Challenge, p *participant, roomName string, nc int) (string, error) {
	user, _, _ := strings.Cut(p.from, "@")
	cred, err := digest.Digest(chal, digest.Options{Method: "INVITE", URI: "sip:" + roomName + "@" + d.focusStr,
		Username: user, Password: d.auth.password, Count: nc})
	if err != nil {
		return "", err
	}
	return cred.String(), nil
}

// BenchmarkJoinDigest is BenchmarkJoin with SIP digest authentication:
// every participant joins as one of 64 accounts (PARLEY_JOIN_ACCOUNTS).
// Sub-benchmark challenged: each is challenged first (INVITE → 401 → ACK →
// INVITE with SHA-256 credentials → 200 → ACK → MSRP bind), so one op is
// two INVITE transactions; reused: each in-flight slot answers its last
// challenge again with the next nonce count (a client's requests after
// its first), challenged only once.
func BenchmarkJoinDigest(b *testing.B) {
	b.Run("challenged", func(b *testing.B) { benchJoinDigest(b, false) })
	b.Run("reused", func(b *testing.B) { benchJoinDigest(b, true) })
}

func benchJoinDigest(b *testing.B, reuse bool) {
	inflight, size := envInt("PARLEY_JOIN_INFLIGHT", 32), envInt("PARLEY_JOIN_ROOM", 100)
	accounts := envInt("PARLEY_JOIN_ACCOUNTS", 64)
	raiseFileLimit()
	srv := benchServer(b, func(c *config.Config) {
		c.Limits.DialogsPerIdentity = 1 << 30 // an account joins many times here
	})
	a := &joinAuth{password: "bench-password", host: srv.cfg.Server.Host, reuse: reuse}
	for i := range accounts {
		user := "b" + strconv.Itoa(i)
		a.users = append(a.users, user)
		storetest.CreateAccount(b, srv.store, user, a.host, a.password)
	}
	d := newJoinDriver(b, srv.Addrs().SIPUDP)
	d.auth = a
	runJoins(b, d, inflight, size)
	b.ReportMetric(float64(d.challenges.Load())/float64(b.N), "challenges/op")
}

// ack sends p's ACK with the INVITE's CSeq to target, with the Via branch
// z9hG4bK-<branch> and To to.
func (d *joinDriver) ack(w *worker, p *participant, target []byte, branch string, to []byte) error {
	r := w.req[:0]
	r = append(r, "ACK "...)
	r = append(r, target...)
	r = append(r, " SIP/2.0\r\nVia: SIP/2.0/UDP "...)
	r = append(r, d.me...)
	r = append(r, ";branch=z9hG4bK-"...)
	r = append(r, branch...)
	r = append(r, "\r\nFrom: <sip:"...)
	r = append(r, p.from...)
	r = append(r, ">;tag="...)
	r = append(r, p.fromTag...)
	r = append(r, "\r\nTo: "...)
	r = append(r, to...)
	r = append(r, "\r\nCall-ID: "...)
	r = append(r, p.callID...)
	r = append(r, "\r\nCSeq: "...)
	r = strconv.AppendInt(r, int64(p.cseq), 10)
	r = append(r, " ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"...)
	w.req = r
	_, err := d.conn.WriteToUDP(r, d.focus)
	return err
}

// runJoins joins b.N participants through d, inflight at a time, size to a
// room; they stay until the end of the benchmark. It reports joins/s.
func runJoins(b *testing.B, d *joinDriver, inflight, size int) {
	parts := make([]*participant, b.N)
	b.Cleanup(func() {
		for _, p := range parts {
			if p != nil {
				p.msrp.Close()
			}
		}
	})
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	err := runOps(b.N, inflight, func(w *worker, i int64) error {
		p, err := d.join(w, roomOf(i, size), i)
		parts[i] = p
		return err
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "joins/s")
}
