package server

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/config"
)

// swarm is many SIP user agents on one UDP socket, written by hand so that
// a benchmark can hold a thousand dialogs cheaply: it sends INVITEs and
// SUBSCRIBEs, ACKs 2xx to INVITE, answers every NOTIFY 200 and counts them
// and their body octets.
type swarm struct {
	conn  *net.UDPConn
	focus *net.UDPAddr
	me    string // host:port

	mu      sync.Mutex
	waiting map[string]chan *sip.Response // Call-ID → final response

	notifies    atomic.Int64
	notifyBytes atomic.Int64
	seq         atomic.Int64
	parseErrors atomic.Int64
}

func newSwarm(tb testing.TB, focus string) *swarm {
	tb.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	// A thousand NOTIFYs can arrive at once.
	c.SetReadBuffer(8 << 20)
	fa, err := net.ResolveUDPAddr("udp", focus)
	if err != nil {
		tb.Fatal(err)
	}
	s := &swarm{conn: c, focus: fa, me: c.LocalAddr().String(), waiting: map[string]chan *sip.Response{}}
	done := make(chan struct{})
	go s.read(done)
	tb.Cleanup(func() { c.Close(); <-done })
	return s
}

func (s *swarm) read(done chan struct{}) {
	defer close(done)
	buf := make([]byte, 65536)
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		msg, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			s.parseErrors.Add(1)
			continue
		}
		switch m := msg.(type) {
		case *sip.Request:
			if m.Method == sip.NOTIFY {
				s.notifies.Add(1)
				s.notifyBytes.Add(int64(len(m.Body())))
			}
			res := sip.NewResponseFromRequest(m, 200, "OK", nil)
			s.conn.WriteToUDP([]byte(res.String()), from)
		case *sip.Response:
			if m.StatusCode < 200 {
				continue
			}
			s.mu.Lock()
			ch := s.waiting[m.CallID().Value()]
			delete(s.waiting, m.CallID().Value())
			s.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}
}

// request sends a request of a new dialog and waits for its final response.
func (s *swarm) request(tb testing.TB, method, roomName, user string, extra string, body string) *sip.Response {
	tb.Helper()
	n := s.seq.Add(1)
	callID := fmt.Sprintf("swarm-%d", n)
	ch := make(chan *sip.Response, 1)
	s.mu.Lock()
	s.waiting[callID] = ch
	s.mu.Unlock()
	ct := ""
	if body != "" {
		ct = "Content-Type: application/sdp\r\n"
	}
	msg := fmt.Sprintf("%s sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-swarm-%d\r\n"+
		"From: <sip:%s@example.com>;tag=t%d\r\nTo: <sip:%s@%s>\r\nCall-ID: %s\r\nCSeq: 1 %s\r\n"+
		"Contact: <sip:%s@%s>\r\nMax-Forwards: 70\r\n%s%sContent-Length: %d\r\n\r\n%s",
		method, roomName, s.focus, s.me, n, user, n, roomName, s.focus, callID, method, user, s.me, extra, ct, len(body), body)
	for try := 0; ; try++ {
		if _, err := s.conn.WriteToUDP([]byte(msg), s.focus); err != nil {
			tb.Fatal(err)
		}
		select {
		case res := <-ch:
			if method == "INVITE" && res.StatusCode == 200 {
				s.ack(res, callID, n)
			}
			return res
		case <-time.After(500 * time.Millisecond):
			if try == 10 {
				tb.Fatalf("%s: no answer", method)
			}
		}
	}
}

func (s *swarm) ack(res *sip.Response, callID string, n int64) {
	to := res.To()
	msg := fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-swarm-ack-%d\r\nFrom: %s\r\nTo: %s\r\n"+
		"Call-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		res.Contact().Address.String(), s.me, n, res.From().Value(), to.Value(), callID)
	s.conn.WriteToUDP([]byte(msg), s.focus)
}

func (s *swarm) join(tb testing.TB, roomName, user string) {
	tb.Helper()
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=message 9 TCP/MSRP *\r\n" +
		"a=accept-types:message/cpim\r\na=path:msrp://127.0.0.1:9/" + user + ";tcp\r\na=setup:active\r\na=chatroom:nickname private-messages\r\n"
	if res := s.request(tb, "INVITE", roomName, user, "", sdp); res.StatusCode != 200 {
		tb.Fatalf("INVITE %s: %d", user, res.StatusCode)
	}
}

// waitNotifies waits until at least n NOTIFYs have arrived in all.
func (s *swarm) waitNotifies(tb testing.TB, n int64) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for s.notifies.Load() < n {
		if time.Now().After(deadline) {
			tb.Fatalf("%d NOTIFYs, want %d", s.notifies.Load(), n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRosterJoin measures what one more join costs in a room of N
// participants (default 1,000; PARLEY_ROSTER_N) watched by N subscribers,
// over real SIP on loopback UDP: the join's INVITE, and the partial NOTIFY
// each subscriber gets (RFC 4575 partial state: one <user>, not the
// roster). Subscribers subscribe while the room is small and the room then
// fills up one join at a time, each join's NOTIFYs awaited, so no document
// outgrows a UDP datagram. Reported per join: NOTIFY body octets per
// subscriber, and the CPU time of the whole process (parleyd and the
// simulated participants and subscribers, which parse every NOTIFY).
func BenchmarkRosterJoin(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("PARLEY_ROSTER_N")); err == nil && v > 0 {
		n = v
	}
	cfg := config.Default()
	cfg.SIP.UDP, cfg.SIP.TCP, cfg.MSRP.Listen = "127.0.0.1:0", "", "127.0.0.1:0"
	cfg.SIP.TLS, cfg.MSRP.TLSListen, cfg.HTTPS.Listen = "", "", "" // no TLS: no certificate, no fixed ports
	cfg.Store.Mode = config.StoreMemory                            // nothing written to the working directory
	cfg.MSRP.BindTimeout = config.Duration(time.Hour)
	cfg.SIP.NotifyInterval = config.Duration(time.Millisecond)
	cfg.Rooms.MaxParticipants = 1 << 20
	cfg.Rooms.SystemMessages = false
	srv, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv.Start()
	b.Cleanup(func() { srv.Shutdown(b.Context()) })
	sw := newSwarm(b, srv.Addrs().SIPUDP)

	sw.join(b, "big", "p0")
	for i := range n {
		if res := sw.request(b, "SUBSCRIBE", "big", fmt.Sprintf("w%d", i), "Event: conference\r\nExpires: 3600\r\n", ""); res.StatusCode != 200 {
			b.Fatalf("SUBSCRIBE: %d", res.StatusCode)
		}
	}
	sw.waitNotifies(b, int64(n))
	for i := 1; i < n; i++ {
		want := sw.notifies.Load() + int64(n)
		sw.join(b, "big", fmt.Sprintf("p%d", i))
		sw.waitNotifies(b, want)
	}
	full := int64(len(mustFull(b, srv)))

	b.ReportAllocs()
	b.ResetTimer()
	notes0, bytes0, cpu0 := sw.notifies.Load(), sw.notifyBytes.Load(), cpuTime()
	for i := 0; i < b.N; i++ {
		want := sw.notifies.Load() + int64(n)
		sw.join(b, "big", fmt.Sprintf("q%d", i))
		sw.waitNotifies(b, want)
	}
	b.StopTimer()
	notes, octets := sw.notifies.Load()-notes0, sw.notifyBytes.Load()-bytes0
	b.ReportMetric(float64(octets)/float64(notes), "notify-B/subscriber")
	b.ReportMetric(float64(full), "full-doc-B")
	b.ReportMetric(float64(notes)/float64(b.N), "notifies/join")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/join")
}

// mustFull returns the full document of room "big", as a new subscriber
// would get it (too large for a UDP datagram at this size).
func mustFull(tb testing.TB, srv *Server) []byte {
	tb.Helper()
	rm, ok := srv.rooms.Get("big")
	if !ok {
		tb.Fatal("room big is gone")
	}
	return srv.conf.FullDocument(rm, "sip:big@"+srv.Addrs().SIPUDP)
}
