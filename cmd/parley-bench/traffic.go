package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The hot loop of the fanout and rooms modes, on raw MSRP connections.
//
// Senders write pre-serialised SENDs (message/cpim, default Failure-Report,
// so the switch answers each with 200), one write(2) per message, patching
// only the transaction id, the Message-ID and the marker at the end of the
// body: room, sender, sequence number and send time (nanoseconds since the
// run's epoch, monotonic, taken just before the write). A sender keeps at
// most window messages in flight: a message is in flight from its write
// until the switch's 200 has come back and every other participant of the
// room has received it. Paced (--rate), sender k of n sends its i-th
// message at i·T + k·T/n; a late send goes at once.
//
// Receivers, one goroutine per participant, frame the stream with
// frameReader and check every marked copy with a seqTracker per sender; the
// latency of every copy is the time its read(2) returned minus the send time.

// markerLen is the length of the marker that ends every body:
// "pb:" room(6) ":" sender(6) ":" seq(10) ":" send time (16 hex digits, ns).
const markerLen = 3 + 6 + 1 + 6 + 1 + 10 + 1 + 16

// traffic is one run of the hot loop over rooms of participants.
type traffic struct {
	cfg     *config
	rooms   [][]*participant
	senders [][]*sender
	recv    []*receiver
	epoch   time.Time
	errs    *errCount

	stopping atomic.Bool
	recvWG   sync.WaitGroup
	sendWG   sync.WaitGroup
}

// sender is participant idx < senders of a room.
type sender struct {
	room, idx int
	p         *participant
	raw       []byte
	bodyLen   int
	tidAt     int // the 10 digits of the sequence number in the tid, start line
	tid2At    int // ... in the end-line
	midAt     int // ... in the Message-ID
	seqAt     int // ... in the marker
	tsAt      int // the 16 hex digits of the send time
	sent      atomic.Int64
	acked     atomic.Int64 // 200s received
	peers     []*receiver  // the room's other participants
	doneCache int64        // completed(), as last computed (sender goroutine only)
}

// receiver reads one participant's connection.
type receiver struct {
	room, idx   int
	p           *participant
	snd         *sender        // this participant's sender, or nil
	got         []atomic.Int64 // per sender of the room: distinct messages received
	total       atomic.Int64   // marked deliveries (duplicates included)
	tracks      []seqTracker
	hist        hist
	noticeCount atomic.Int64 // other messages: the room's notices
	unexp       int64
	last        int64 // latest delivery, ns since epoch
}

// newSender pre-serialises the SEND of participant p.
func newSender(p *participant, room, idx, size int) *sender {
	s := &sender{room: room, idx: idx, p: p}
	head := "From: <" + p.from + ">\r\nTo: <" + p.roomURI + ">\r\n\r\nContent-Type: text/plain\r\n\r\n"
	fill := max(0, size-len(head)-markerLen)
	text := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", fill/57+1)[:fill]
	marker := fmt.Sprintf("pb:%06d:%06d:%010d:%016x", room, idx, 0, 0)
	body := head + text + marker
	s.bodyLen = len(body)
	const tid = "t0000000000pbench"
	const mid = "m0000000000pbench"
	var b strings.Builder
	b.WriteString("MSRP ")
	s.tidAt = b.Len() + 1
	b.WriteString(tid + " SEND\r\nTo-Path: " + p.toPath + "\r\nFrom-Path: " + p.local.String() + "\r\nMessage-ID: ")
	s.midAt = b.Len() + 1
	fmt.Fprintf(&b, "%s\r\nByte-Range: 1-%d/%d\r\nContent-Type: message/cpim\r\n\r\n", mid, len(body), len(body))
	bodyAt := b.Len()
	b.WriteString(body)
	b.WriteString("\r\n" + endDashes)
	s.tid2At = b.Len() + 1
	b.WriteString(tid + "$\r\n")
	s.raw = []byte(b.String())
	mAt := bodyAt + len(body) - markerLen
	s.seqAt = mAt + 3 + 6 + 1 + 6 + 1
	s.tsAt = s.seqAt + 10 + 1
	return s
}

// completed is how many of the sender's messages are no longer in flight.
func (s *sender) completed() int64 {
	m := s.acked.Load()
	for _, r := range s.peers {
		m = min(m, r.got[s.idx].Load())
	}
	s.doneCache = m
	return m
}

// sendOne patches and writes message seq.
func (s *sender) sendOne(seq int64, epoch time.Time) error {
	for _, at := range [...]int{s.tidAt, s.tid2At, s.midAt, s.seqAt} {
		putDec(s.raw[at:at+10], uint64(seq))
	}
	putHex(s.raw[s.tsAt:s.tsAt+16], uint64(time.Since(epoch)))
	if _, err := s.p.nc.Write(s.raw); err != nil {
		return err
	}
	s.sent.Store(seq)
	return nil
}

// run is the sender's goroutine: messages 1..n, within the window, paced
// from offset (since epoch) every interval when interval > 0, until stop
// or deadline.
func (t *traffic) send(ctx context.Context, s *sender, n int64, offset, interval time.Duration, deadline time.Time) {
	defer t.sendWG.Done()
	w := int64(t.cfg.window)
	for seq := int64(1); seq <= n; seq++ {
		if interval > 0 {
			if d := offset + time.Duration(seq-1)*interval - time.Since(t.epoch); d > 0 {
				time.Sleep(d)
			}
		}
		for seq-1-s.doneCache >= w && seq-1-s.completed() >= w {
			if t.stopping.Load() || ctx.Err() != nil {
				return
			}
			time.Sleep(20 * time.Microsecond)
		}
		if t.stopping.Load() || ctx.Err() != nil || (!deadline.IsZero() && time.Now().After(deadline)) {
			return
		}
		if err := s.sendOne(seq, t.epoch); err != nil {
			if !t.stopping.Load() {
				t.errs.add(fmt.Errorf("sender %d of room %d: write: %w", s.idx, s.room, err))
			}
			return
		}
	}
}

// receive is a participant's reading goroutine, until its connection closes.
func (t *traffic) receive(r *receiver) {
	defer t.recvWG.Done()
	fr := r.p.fr
	for {
		f, err := fr.next()
		if err != nil {
			if !t.stopping.Load() {
				t.errs.add(fmt.Errorf("participant %s: read: %w", r.p.from, err))
			}
			return
		}
		if !f.request {
			if r.snd == nil {
				continue // the bind's response came earlier; nothing else is ours
			}
			if f.code == 200 {
				r.snd.acked.Add(1)
			} else {
				t.errs.add(fmt.Errorf("participant %s: SEND answered %d", r.p.from, f.code))
			}
			continue
		}
		room, snd, seq, ts, ok := parseMarker(f.tail(markerLen))
		if !ok || f.flag != '$' || !bytes.Equal(f.method, []byte("SEND")) {
			r.noticeCount.Add(1)
			continue
		}
		if room != r.room || snd >= len(r.tracks) || snd == r.idx || seq == 0 {
			r.unexp++
			continue
		}
		tr := &r.tracks[snd]
		tr.add(seq)
		r.got[snd].Store(int64(tr.received))
		r.total.Add(1)
		r.last = int64(fr.readAt.Sub(t.epoch))
		r.hist.add(r.last - int64(ts))
	}
}

// parseMarker decodes "pb:RRRRRR:SSSSSS:QQQQQQQQQQ:TTTTTTTTTTTTTTTT".
func parseMarker(m []byte) (room, snd int, seq, ts uint64, ok bool) {
	if len(m) != markerLen || m[0] != 'p' || m[1] != 'b' || m[2] != ':' || m[9] != ':' || m[16] != ':' || m[27] != ':' {
		return 0, 0, 0, 0, false
	}
	r, ok1 := parseDec(m[3:9])
	s, ok2 := parseDec(m[10:16])
	q, ok3 := parseDec(m[17:27])
	ts, ok4 := parseHex(m[28:44])
	return int(r), int(s), q, ts, ok1 && ok2 && ok3 && ok4
}

func putDec(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}

const hexDigits = "0123456789abcdef"

func putHex(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = hexDigits[v&15]
		v >>= 4
	}
}

func parseDec(s []byte) (uint64, bool) {
	var v uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

func parseHex(s []byte) (uint64, bool) {
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
