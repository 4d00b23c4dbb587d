//go:build unix

// (unix: the CPU metric uses getrusage(2); so do the slow-consumer test and
// benchmark, which share this file's machinery.)

package switchboard

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// Fan-out benchmarks (issue 4): one room of 100 participants on real
// loopback TCP connections to a relay.Server running the Switch; 10 of them
// send, all of them read. An op is one message sent (b.N messages in all,
// shared by the senders); each one is delivered to the 99 others.
//
// Senders: one goroutine each, writing pre-serialised SENDs (message/cpim,
// a 200-octet CPIM body, Failure-Report: no) with one write(2) per message.
// Only the transaction id, Message-ID and a send timestamp at the end of the
// body are patched in per message. Failure-Report: no was chosen over
// reading and discarding 200s: with it the switch sends nothing back to the
// sender (no 200, no REPORT), so every byte a connection receives is a copy,
// and receivers can count end-lines blindly.
//
// Flow control: a sender does not get more than a window of messages
// (PARLEY_FANOUT_WINDOW, default 512: 245 KB of ~480-octet copies per
// receiver) ahead of the slowest reading receiver. The window keeps every
// receiver's queue far below the relay's congestion mark (default 3.2 MiB),
// so nothing is dropped and the benchmark can insist on every delivery
// arriving; it is large enough that the pipeline never runs dry, so the
// rate measured is the saturation rate. At saturation, latency is therefore
// mostly the time a message spends queued inside that window.
//
// Pacing (BenchmarkFanoutHalfRate): sender i sends its k-th message at
// epoch + i·T/10 + k·T, T = 10·99/rate, sleeping until then; a late send goes
// at once, so the offered rate holds on average. The timestamp in the body
// is taken just before write(2), so a sender's own lateness is not counted
// as latency (below saturation late sends are rare; the window never binds).
//
// Receivers: one goroutine per connection reading 64 KiB at a time and
// counting end-lines ("\r\n-------" + tid + "$\r\n") found from their '$'
// with bytes.IndexByte (fanScanner); every 16th message's latency is
// computed from the send timestamp just before its end-line. A copy is
// counted once its end-line has arrived; each receiver must count exactly
// its share. BenchmarkFanoutReceiverScan compares this with parsing every
// copy with msrp.Reader.
//
// Metrics: deliveries/s = delivered copies / (last delivery − first send);
// p50-µs and p99-µs of the sampled latencies (write(2) on the sender's
// socket to the receiver's read(2) returning the end-line); cpu-µs/1k-deliveries
// is getrusage(RUSAGE_SELF) user+sys over the same interval per 1,000
// deliveries: the WHOLE test process, that is the relay and switch but also
// the senders, the receivers and the kernel's loopback TCP work on both
// sides of every socket. ns/op is wall time per message sent; B/op and
// allocs/op are the whole process's too.
//
// PARLEY_FANOUT_DEBUG=1 also logs p90, p99.9 and the maximum latency.

const (
	fanRoom         = "fanout"
	fanBodySize     = 200 // octets of CPIM body per message
	fanSampleEvery  = 16  // receivers sample the latency of every 16th message
	fanReadSize     = 64 << 10
	fanDefaultWin   = 512     // messages a sender may be ahead of the slowest reader
	fanDefaultRate  = 500_000 // deliveries/s offered by BenchmarkFanoutHalfRate
	fanStallTimeout = 10 * time.Second
	fanTSLen        = 16 // hex digits of the send timestamp ending each body
)

var fanEndMark = []byte("\r\n-------")

// BenchmarkFanout: the saturation rate of one room of 100 with 10 senders.
// Target (issue 4): ≥ 1,000,000 deliveries/s on the 2-core machine.
func BenchmarkFanout(b *testing.B) {
	runFanout(b, fanoutConfig{participants: 100, senders: 10})
}

// BenchmarkFanoutHalfRate: the same room with the senders paced to a fixed
// offered load, PARLEY_FANOUT_RATE deliveries/s (default 500,000, half the
// target saturation rate), to measure latency below saturation. Target
// (issue 4): p99 ≤ 5 ms.
func BenchmarkFanoutHalfRate(b *testing.B) {
	runFanout(b, fanoutConfig{participants: 100, senders: 10, rate: fanoutRate(b)})
}

// fanoutRate is the offered load of the half-rate benchmarks:
// PARLEY_FANOUT_RATE deliveries/s, default fanDefaultRate.
func fanoutRate(b *testing.B) float64 {
	v := os.Getenv("PARLEY_FANOUT_RATE")
	if v == "" {
		return fanDefaultRate
	}
	r, err := strconv.ParseFloat(v, 64)
	if err != nil || r <= 0 {
		b.Fatalf("PARLEY_FANOUT_RATE=%q: want deliveries per second", v)
	}
	return r
}

// fanoutConfig describes one fan-out run.
type fanoutConfig struct {
	participants int
	senders      int     // participants 0..senders-1 send
	stalled      int     // the last stalled participants never read their socket
	rate         float64 // offered deliveries/s over all senders; 0: saturation
	history      int     // the room's policy History (0: none kept)
	opts         []harnessOption
	// warmup, when set, makes the senders send before the measurement until
	// it returns true (and at least warmupMin messages), then waits for the
	// readers to have received everything sent so far.
	warmup    func(h *harness) bool
	warmupMin int
}

// fanoutWindow is the flow-control window in messages (PARLEY_FANOUT_WINDOW).
func fanoutWindow(b testing.TB) int64 {
	if v := os.Getenv("PARLEY_FANOUT_WINDOW"); v != "" {
		w, err := strconv.Atoi(v)
		if err != nil || w < 1 {
			b.Fatalf("PARLEY_FANOUT_WINDOW=%q: want a number of messages", v)
		}
		return int64(w)
	}
	return fanDefaultWin
}

// fanout is the state of one run.
type fanout struct {
	cfg    fanoutConfig
	h      *harness
	epoch  time.Time // timestamps in bodies are nanoseconds since epoch (monotonic)
	window int64

	parties []*party
	senders []*fanSender
	rcv     []*fanRecv // reading receivers (all but the stalled), by participant index order

	sent      atomic.Int64 // messages sent by all senders
	measuring atomic.Bool  // receivers sample latencies
	quit      atomic.Bool  // stop everything: the run is over or failed
	left      atomic.Int64 // receivers not done yet
	allDone   chan struct{}
	stopOnce  sync.Once
	sendWG    sync.WaitGroup
	recvWG    sync.WaitGroup

	errMu sync.Mutex
	err   error
}

func (f *fanout) fail(err error) {
	f.errMu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.errMu.Unlock()
}

func (f *fanout) firstErr() error {
	f.errMu.Lock()
	defer f.errMu.Unlock()
	return f.err
}

// fanSender is one sending participant with its pre-serialised SEND.
type fanSender struct {
	idx    int // participant index
	conn   net.Conn
	raw    []byte // the whole SEND, patched in place before each write
	seqAt  []int  // 10-digit sequence fields: in both tids and the Message-ID
	tsAt   int    // the timestamp at the end of the body
	seq    int64
	sentBy atomic.Int64
	_      [64]byte // keep the hot counters of senders apart
}

// fanRecv is one reading participant's counter.
type fanRecv struct {
	idx    int
	conn   net.Conn
	sender *fanSender // non-nil when this participant sends too
	count  atomic.Int64
	target atomic.Int64 // count at which the receiver is done
	done   atomic.Bool
	doneAt atomic.Int64 // ns since epoch when count reached target
	lat    []int64      // sampled latencies, ns; set by receive when it returns
	bad    int64        // '$' found outside an end-line; set by receive when it returns
	wire   atomic.Int64 // octets read while measuring
	_      [64]byte
}

func runFanout(b *testing.B, cfg fanoutConfig) {
	if cfg.stalled >= cfg.participants-cfg.senders {
		b.Fatal("fanout: the stalled participants must not send")
	}
	b.ReportAllocs()
	f := &fanout{cfg: cfg, window: fanoutWindow(b), allDone: make(chan struct{})}
	pol := defaultPolicy()
	pol.History = cfg.history
	f.h = newHarness(b, pol, cfg.opts...)
	for i := range cfg.participants {
		pt := f.h.join(fanRoom, fmt.Sprintf("sip:p%03d@example.com", i))
		f.parties = append(f.parties, pt)
		conn := pt.Conn()
		// Peer's Expect calls left deadlines behind.
		if err := conn.SetDeadline(time.Time{}); err != nil {
			b.Fatal(err)
		}
		if i < cfg.senders {
			f.senders = append(f.senders, newFanSender(b, i, pt))
		}
	}
	defer f.stop()
	f.epoch = time.Now()
	for i, pt := range f.parties[:cfg.participants-cfg.stalled] {
		r := &fanRecv{idx: i, conn: pt.Conn()}
		if i < cfg.senders {
			r.sender = f.senders[i]
		}
		r.target.Store(math.MaxInt64)
		f.rcv = append(f.rcv, r)
	}
	f.left.Store(int64(len(f.rcv)))
	for _, r := range f.rcv {
		f.recvWG.Add(1)
		go f.receive(r)
	}

	if cfg.warmup != nil {
		f.warmUp(b)
	}

	// Split b.N over the senders and tell every reader what to expect.
	per := make([]int64, len(f.senders))
	for i := range per {
		per[i] = int64(b.N / len(per))
		if i < b.N%len(per) {
			per[i]++
		}
	}
	base := f.sent.Load()
	var deliveries int64
	for _, r := range f.rcv {
		want := int64(b.N)
		if r.sender != nil {
			want -= per[r.sender.idx]
		}
		deliveries += want
		r.target.Store(r.count.Load() + want) // readers are idle: warm-up drained
	}
	var interval time.Duration
	if cfg.rate > 0 {
		msgsPerSec := cfg.rate / float64(cfg.participants-1)
		interval = time.Duration(float64(len(f.senders)) / msgsPerSec * float64(time.Second))
	}

	f.measuring.Store(true)
	cpu0 := fanProcessCPU(b)
	b.ResetTimer()
	start := time.Since(f.epoch)
	for _, r := range f.rcv {
		f.checkDone(r, r.count.Load()) // nothing to expect (b.N == 1: the sender itself)
	}
	for i, s := range f.senders {
		offset := start + time.Duration(i)*interval/time.Duration(len(f.senders))
		f.sendWG.Add(1)
		go f.send(s, per[i], offset, interval)
	}
	f.wait(b, "every delivery", f.allDone)
	b.StopTimer()
	cpu := fanProcessCPU(b) - cpu0
	var end int64
	for _, r := range f.rcv {
		end = max(end, r.doneAt.Load())
	}
	elapsed := time.Duration(end) - start

	st := f.h.sw.Stats()
	f.stop()
	if err := f.firstErr(); err != nil {
		b.Fatal(err)
	}
	var lat []int64
	for _, r := range f.rcv {
		if got, want := r.count.Load(), r.target.Load(); got != want {
			b.Errorf("participant %d received %d copies, want %d", r.idx, got, want)
		}
		if r.bad != 0 {
			b.Errorf("participant %d received %d '$' outside end-lines", r.idx, r.bad)
		}
		lat = append(lat, r.lat...)
	}
	if want := uint64(base) + uint64(b.N); st.Messages != want || st.Refused != 0 {
		b.Errorf("switch stats %+v: want %d messages, none refused", st, want)
	}
	if cfg.stalled == 0 && st.DroppedCongested != 0 {
		b.Errorf("%d copies dropped for congestion: the window is too large for the relay's limits", st.DroppedCongested)
	}

	if elapsed > 0 {
		b.ReportMetric(float64(deliveries)/elapsed.Seconds(), "deliveries/s")
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(fanPercentile(lat, 50))/1e3, "p50-µs")
		b.ReportMetric(float64(fanPercentile(lat, 99))/1e3, "p99-µs")
		if os.Getenv("PARLEY_FANOUT_DEBUG") != "" {
			b.Logf("latency µs: p90 %d p99.9 %d max %d; samples %d", fanPercentile(lat, 90)/1e3, lat[len(lat)*999/1000]/1e3, lat[len(lat)-1]/1e3, len(lat))
		}
	}
	if deliveries > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/(float64(deliveries)/1000), "cpu-µs/1k-deliveries")
		var wire int64
		for _, r := range f.rcv {
			wire += r.wire.Load()
		}
		b.ReportMetric(float64(wire)/float64(deliveries), "wire-B/copy") // what each recipient reads per copy (issue 20)
	}
}

func fanPercentile(sorted []int64, p int) int64 {
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

// fanProcessCPU is the user+sys CPU time of the whole process.
func fanProcessCPU(b testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stop ends the run: the senders and receivers see quit, the connections
// close (which ends the receivers' reads and the relay's sessions), and
// every goroutine of the run is waited for. Idempotent.
func (f *fanout) stop() {
	f.stopOnce.Do(func() {
		f.quit.Store(true)
		for _, pt := range f.parties {
			pt.Close()
		}
		f.sendWG.Wait()
		f.recvWG.Wait()
	})
}

// wait waits for ch to close, failing when the receivers make no progress
// for fanStallTimeout or something failed.
func (f *fanout) wait(b *testing.B, what string, ch <-chan struct{}) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	last, lastChange := int64(-1), time.Now()
	for {
		select {
		case <-ch:
			return
		case <-tick.C:
		}
		if err := f.firstErr(); err != nil {
			b.Fatal(err)
		}
		var sum int64
		for _, r := range f.rcv {
			sum += r.count.Load()
		}
		if sum != last {
			last, lastChange = sum, time.Now()
		} else if time.Since(lastChange) > fanStallTimeout {
			b.Fatalf("waiting for %s: no progress for %v (%d copies received, %d messages sent, switch %+v, relay %+v)",
				what, fanStallTimeout, sum, f.sent.Load(), f.h.sw.Stats(), f.h.relay.Stats())
		}
	}
}

// newFanSender pre-serialises participant i's SEND.
func newFanSender(b testing.TB, i int, pt *party) *fanSender {
	tid := fmt.Sprintf("fan%02dT%010d", i, 0)
	mid := fmt.Sprintf("fan%02dM%010d", i, 0)
	body := fanBody(pt.p.URI)
	m := msrptest.Send(pt.sw, pt.self, "message/cpim", body,
		msrptest.WithTID(tid),
		func(m *msrp.Message) { m.Header.Set(msrp.HeaderMessageID, mid) },
		msrptest.WithHeader(msrp.HeaderFailureReport, "no"))
	s := &fanSender{idx: i, conn: pt.Conn(), raw: m.Bytes()}
	for _, field := range []string{tid, mid} {
		for off := 0; ; {
			j := bytes.Index(s.raw[off:], []byte(field))
			if j < 0 {
				break
			}
			s.seqAt = append(s.seqAt, off+j+6)
			off += j + len(field)
		}
	}
	s.tsAt = bytes.Index(s.raw, fanEndMark) - fanTSLen
	if len(s.seqAt) != 3 || s.tsAt < 0 || !bytes.Equal(s.raw[s.tsAt:s.tsAt+fanTSLen], body[len(body)-fanTSLen:]) {
		b.Fatalf("fanout: unexpected SEND layout:\n%s", s.raw)
	}
	return s
}

// fanBody is a fanBodySize-octet CPIM body from uri to the room, ending in
// fanTSLen hex digits that the sender overwrites with the send time.
func fanBody(uri string) []byte {
	head := "From: <" + uri + ">\r\nTo: <" + roomURI(fanRoom) + ">\r\n\r\nContent-Type: text/plain\r\n\r\n"
	tail := " sent at " + strings.Repeat("0", fanTSLen)
	text := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 4)
	return []byte(head + text[:fanBodySize-len(head)-len(tail)] + tail)
}

// sendOne patches and writes the sender's next message.
func (f *fanout) sendOne(s *fanSender) error {
	s.seq++
	for _, at := range s.seqAt {
		fanPutDec(s.raw[at:at+10], uint64(s.seq))
	}
	fanPutHex(s.raw[s.tsAt:s.tsAt+fanTSLen], uint64(time.Since(f.epoch)))
	if _, err := s.conn.Write(s.raw); err != nil {
		return err
	}
	s.sentBy.Add(1)
	f.sent.Add(1)
	return nil
}

// send is a sender's goroutine: n messages, paced to one per interval from
// offset (since epoch) when interval > 0, within the window.
func (f *fanout) send(s *fanSender, n int64, offset, interval time.Duration) {
	defer f.sendWG.Done()
	for k := range n {
		if interval > 0 {
			// Late sends go at once: the offered rate holds on average.
			if d := offset + time.Duration(k)*interval - time.Since(f.epoch); d > 0 {
				time.Sleep(d)
			}
		}
		if k%8 == 0 && !f.waitWindow() {
			return
		}
		if err := f.sendOne(s); err != nil {
			if !f.quit.Load() {
				f.fail(fmt.Errorf("participant %d: write: %w", s.idx, err))
			}
			return
		}
	}
}

// lag is how many messages the slowest reading receiver is behind.
func (f *fanout) lag() int64 {
	sent := f.sent.Load()
	var worst int64
	for _, r := range f.rcv {
		want := sent
		if r.sender != nil {
			want -= r.sender.sentBy.Load()
		}
		worst = max(worst, want-r.count.Load())
	}
	return worst
}

// waitWindow waits while the slowest reader is a window behind; false when
// the run is stopping or has failed (it fails the run itself when the
// readers make no progress for fanStallTimeout).
func (f *fanout) waitWindow() bool {
	var since time.Time
	for lag := f.lag(); lag >= f.window; lag = f.lag() {
		if f.quit.Load() || f.firstErr() != nil {
			return false
		}
		if since.IsZero() {
			since = time.Now()
		} else if time.Since(since) > fanStallTimeout {
			f.fail(fmt.Errorf("the slowest reader is still %d messages behind after %v", lag, fanStallTimeout))
			return false
		}
		time.Sleep(50 * time.Microsecond)
	}
	return !f.quit.Load()
}

// warmUp sends round-robin from every sender until cfg.warmup holds, then
// waits for the readers to have received everything.
func (f *fanout) warmUp(b *testing.B) {
	const maxWarmup = 1 << 20
	for k := 0; ; k++ {
		if k >= f.cfg.warmupMin && k%64 == 0 && f.cfg.warmup(f.h) {
			break
		}
		if k == maxWarmup {
			b.Fatalf("warm-up: condition not reached after %d messages (relay %+v)", k, f.h.relay.Stats())
		}
		if k%8 == 0 && !f.waitWindow() {
			b.Fatalf("warm-up: %v", f.firstErr())
		}
		if err := f.sendOne(f.senders[k%len(f.senders)]); err != nil {
			b.Fatalf("warm-up: %v", err)
		}
	}
	if os.Getenv("PARLEY_FANOUT_DEBUG") != "" {
		b.Logf("warm-up: %d messages", f.sent.Load())
	}
	var giveUp atomic.Bool
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for f.lag() > 0 && !giveUp.Load() {
			time.Sleep(time.Millisecond)
		}
	}()
	defer func() { giveUp.Store(true); <-drained }() // also on b.Fatal in wait
	f.wait(b, "the warm-up messages", drained)
}

// receive is a reading participant's goroutine: count copies until the
// connection closes.
func (f *fanout) receive(r *fanRecv) {
	defer f.recvWG.Done()
	sc := fanScanner{buf: make([]byte, fanReadSize), epoch: f.epoch}
	for {
		n, err := r.conn.Read(sc.space())
		if n > 0 {
			measuring := f.measuring.Load()
			if measuring {
				r.wire.Add(int64(n))
			}
			sc.scan(n, measuring)
			r.count.Store(sc.count)
			f.checkDone(r, sc.count)
		}
		if err != nil {
			if !f.quit.Load() {
				f.fail(fmt.Errorf("participant %d: read: %w", r.idx, err))
			}
			r.lat, r.bad = sc.lat, sc.bad
			return
		}
	}
}

// checkDone marks r done once count reaches its target.
func (f *fanout) checkDone(r *fanRecv, count int64) {
	if count < r.target.Load() || !r.done.CompareAndSwap(false, true) {
		return
	}
	r.doneAt.Store(int64(time.Since(f.epoch)))
	if f.left.Add(-1) == 0 {
		close(f.allDone)
	}
}

// fanScanner counts the complete copies in a byte stream by their
// end-lines, without parsing them, and every fanSampleEvery-th one decodes
// the send timestamp that ends the body (just before the end-line). It looks
// for the '$' flag with bytes.IndexByte ('$' occurs nowhere else in these
// copies: not in their headers, not in the benchmark's bodies) and then
// checks the rest of the end-line around it: "\r\n-------" tid "$\r\n".
// Searching for "\r\n-------" with bytes.Index costs almost five times as
// much (the CRLF of every header line is a false start), and parsing every
// copy with msrp.Reader twenty times as much: see BenchmarkFanoutReceiverScan.
type fanScanner struct {
	buf   []byte
	keep  int // octets carried over from the previous read
	count int64
	bad   int64 // '$' outside an end-line
	lat   []int64
	epoch time.Time
}

// fanFlagAt is the offset of the flag in an end-line with its leading CRLF.
const fanFlagAt = 9 + msrp.TIDLength

// space is where the next read goes.
func (sc *fanScanner) space() []byte { return sc.buf[sc.keep:] }

// scan processes n octets just read into space().
func (sc *fanScanner) scan(n int, sample bool) {
	data := sc.buf[:sc.keep+n]
	pos := 0
	carry := 0
	for {
		j := bytes.IndexByte(data[pos:], msrp.FlagEnd)
		if j < 0 {
			// Keep what could be an end-line without its flag yet, and
			// the timestamp before it.
			carry = max(pos, len(data)-fanFlagAt-fanTSLen)
			break
		}
		j += pos
		if j+3 > len(data) {
			carry = max(pos, j-fanFlagAt-fanTSLen) // the end-line's CRLF is still to come
			break
		}
		i := j - fanFlagAt // the end-line's leading CRLF
		if i < 0 || !bytes.Equal(data[i:i+len(fanEndMark)], fanEndMark) || data[j+1] != '\r' || data[j+2] != '\n' {
			sc.bad++
			pos = j + 1
			continue
		}
		sc.count++
		if sample && sc.count%fanSampleEvery == 0 && i >= fanTSLen {
			if ts, ok := fanParseHex(data[i-fanTSLen : i]); ok {
				sc.lat = append(sc.lat, int64(time.Since(sc.epoch))-int64(ts))
			}
		}
		pos = j + 3
	}
	sc.keep = copy(sc.buf, data[carry:])
}

func fanPutDec(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}

const fanHexDigits = "0123456789abcdef"

func fanPutHex(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = fanHexDigits[v&15]
		v >>= 4
	}
}

func fanParseHex(s []byte) (uint64, bool) {
	var v uint64
	for _, c := range s {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | uint64(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// TestFanScanner checks the benchmark receivers' counting on a stream of
// copies cut at arbitrary points.
func TestFanScanner(t *testing.T) {
	const n = 500
	stream := fanCopies(n)
	sc := fanScanner{buf: make([]byte, fanReadSize), epoch: time.Now()}
	for off, step := 0, 1; off < len(stream); step = step*7%613 + 1 {
		k := copy(sc.space()[:min(step, len(sc.space()))], stream[off:])
		sc.scan(k, true)
		off += k
	}
	if sc.count != n || sc.bad != 0 || len(sc.lat) != n/fanSampleEvery {
		t.Fatalf("counted %d copies (%d bad, %d samples), want %d", sc.count, sc.bad, len(sc.lat), n)
	}
}

// BenchmarkFanoutReceiverScan compares the two ways a benchmark receiver
// could count copies, on an in-memory stream of copies framed as the switch
// frames them (ns/op: per copy): counting end-lines with fanScanner, or
// parsing every message with msrp.Reader. It justifies the scanner: the
// receivers share the machine with the switch and must cost little.
func BenchmarkFanoutReceiverScan(b *testing.B) {
	stream := fanCopies(1024)
	const perStream = 1024
	b.Run("scan", func(b *testing.B) {
		sc := fanScanner{buf: make([]byte, fanReadSize), epoch: time.Now()}
		src := &fanLoopReader{data: stream}
		b.SetBytes(int64(len(stream) / perStream))
		b.ReportAllocs()
		for sc.count < int64(b.N) {
			n, _ := src.Read(sc.space())
			sc.scan(n, true)
		}
		if sc.bad != 0 {
			b.Fatal("bad end-lines")
		}
	})
	b.Run("msrp.Reader", func(b *testing.B) {
		r := msrp.NewReader(&fanLoopReader{data: stream}, msrp.Limits{})
		epoch := time.Now()
		var lat []int64
		b.SetBytes(int64(len(stream) / perStream))
		b.ReportAllocs()
		for i := 1; i <= b.N; i++ {
			m, err := r.ReadMessage()
			if err != nil {
				b.Fatal(err)
			}
			if i%fanSampleEvery == 0 {
				ts, _ := fanParseHex(m.Body[len(m.Body)-fanTSLen:])
				lat = append(lat, int64(time.Since(epoch))-int64(ts))
			}
		}
		runtime.KeepAlive(lat) // the samples are the receiver's work, as in the scanner above
	})
}

// fanCopies frames n copies of a fan-out message for one recipient.
func fanCopies(n int) []byte {
	var ids msrp.IDSource
	self := msrp.URI{Host: "127.0.0.1", Port: 9, SessionID: msrp.NewSessionID(), Transport: "tcp"}
	sw := msrp.URI{Host: testHost, Port: 2855, SessionID: msrp.NewSessionID(), Transport: "tcp"}
	env := msrp.Envelope{
		ToPath: self.String(), FromPath: sw.String(), MessageID: ids.MessageID(),
		FailureReport: copyFailureReport, ContentType: cpimType,
	}
	body := fanBody("sip:p001@example.com")
	var out, dst []byte
	for range n {
		var fr msrp.Frame
		dst, fr = env.AppendFrame(dst[:0], &ids, msrp.ByteRange{Start: 1, End: int64(len(body)), Total: int64(len(body))}, msrp.FlagEnd)
		out = append(append(append(out, fr.Head...), body...), fr.End...)
	}
	return out
}

// fanLoopReader serves data again and again, at most fanReadSize per Read.
type fanLoopReader struct {
	data []byte
	off  int
}

func (l *fanLoopReader) Read(p []byte) (int, error) {
	if len(p) > fanReadSize {
		p = p[:fanReadSize]
	}
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.data[l.off:])
		n += c
		l.off = (l.off + c) % len(l.data)
	}
	return n, nil
}

var _ io.Reader = (*fanLoopReader)(nil)
