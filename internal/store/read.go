package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

const directGetPfx = "$JS.API.DIRECT.GET."

// rawMsg is a message as a direct get returned it.
type rawMsg struct {
	seq  uint64
	ts   time.Time // when the stream stored it
	data []byte
	hdr  nats.Header
}

// readReq collects the answer to one direct get.
type readReq struct {
	msgs   []rawMsg
	np     uint64 // messages matching after the last one returned
	err    error
	single bool // a last-by-subject get: one message, no end-of-batch
	done   chan struct{}
}

// reader sends JetStream direct gets (batched: one request, the messages,
// then an end-of-batch status) with reply subjects <inbox>r.<id> on one
// wildcard subscription.
type reader struct {
	s    *Store
	pfx  string
	mu   sync.Mutex
	next uint64
	reqs map[uint64]*readReq
	sub  *nats.Subscription
}

func (r *reader) init(s *Store) error {
	r.s = s
	r.pfx = s.inbox + "r."
	r.reqs = make(map[uint64]*readReq)
	sub, err := s.nc.Subscribe(r.pfx+"*", r.onMsg)
	if err != nil {
		return fmt.Errorf("store: subscribing to replies: %w", err)
	}
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	r.sub = sub
	return nil
}

func (r *reader) onMsg(m *nats.Msg) {
	id, err := strconv.ParseUint(m.Subject[len(r.pfx):], 10, 64)
	if err != nil {
		return
	}
	r.mu.Lock()
	req := r.reqs[id]
	if req == nil {
		r.mu.Unlock()
		return
	}
	finish := true
	switch status := m.Header.Get("Status"); status {
	case "":
		seq, err := strconv.ParseUint(m.Header.Get("Nats-Sequence"), 10, 64)
		if err != nil {
			req.err = fmt.Errorf("store: direct get reply without a sequence: %w", err)
			break
		}
		ts, _ := time.Parse(time.RFC3339Nano, m.Header.Get("Nats-Time-Stamp"))
		req.msgs = append(req.msgs, rawMsg{seq: seq, ts: ts, data: m.Data, hdr: m.Header})
		finish = req.single
	case "204": // end of batch
		req.np, _ = strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64)
	case "404": // nothing matches
	case "503":
		req.err = fmt.Errorf("%w: no stream answered (no responders)", ErrUnavailable)
	default:
		req.err = fmt.Errorf("store: direct get: status %s %s", status, m.Header.Get("Description"))
	}
	if finish {
		delete(r.reqs, id)
		close(req.done)
	}
	r.mu.Unlock()
}

// failAll ends every request waiting with err.
func (r *reader) failAll(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, req := range r.reqs {
		req.err = err
		delete(r.reqs, id)
		close(req.done)
	}
}

// do sends a direct get to subj and waits for its answer.
func (r *reader) do(ctx context.Context, subj string, body []byte, single bool) (*readReq, error) {
	if err := r.s.check(); err != nil {
		return nil, err
	}
	req := &readReq{single: single, done: make(chan struct{})}
	r.mu.Lock()
	r.next++
	id := r.next
	r.reqs[id] = req
	r.mu.Unlock()
	if err := r.s.nc.PublishRequest(subj, r.pfx+strconv.FormatUint(id, 10), body); err != nil {
		r.forget(id)
		return nil, publishError(err)
	}
	select {
	case <-req.done:
		return req, req.err
	case <-ctx.Done():
		r.forget(id)
		return nil, fmt.Errorf("store: reading: %w", ctx.Err())
	case <-r.s.closing:
		r.forget(id)
		return nil, ErrClosed
	}
}

func (r *reader) forget(id uint64) {
	r.mu.Lock()
	delete(r.reqs, id)
	r.mu.Unlock()
}

// batch returns up to n messages of stream on subject filter from seq (or,
// when from is not zero, from the first stored at or after from), and how
// many more match after them.
func (r *reader) batch(ctx context.Context, stream, filter string, seq uint64, from time.Time, n int) (*readReq, error) {
	b := make([]byte, 0, 96+len(filter))
	b = append(b, '{')
	if !from.IsZero() {
		b = append(b, `"start_time":"`...)
		b = from.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, `",`...)
	} else if seq > 0 {
		b = append(b, `"seq":`...)
		b = strconv.AppendUint(b, seq, 10)
		b = append(b, ',')
	}
	b = append(b, `"next_by_subj":"`...)
	b = append(b, filter...) // subjects here need no JSON escaping
	b = append(b, `","batch":`...)
	b = strconv.AppendInt(b, int64(max(n, 1)), 10)
	b = append(b, '}')
	return r.do(ctx, directGetPfx+stream, b, false)
}

// last returns the last message of stream on subject subj, if any.
func (r *reader) last(ctx context.Context, stream, subj string) (*rawMsg, error) {
	req, err := r.do(ctx, directGetPfx+stream+"."+subj, nil, true)
	if err != nil || len(req.msgs) == 0 {
		return nil, err
	}
	return &req.msgs[0], nil
}

// After returns up to n of the room's messages with a sequence above seq,
// oldest first, and whether more exist after them. n ≤ 0 asks for nothing
// (nil, false, nil). The messages' Body are the caller's to keep.
func (s *Store) After(ctx context.Context, room string, seq uint64, n int) ([]Message, bool, error) {
	if n <= 0 || seq == math.MaxUint64 {
		return nil, false, nil
	}
	subj, err := s.pub.msgSubject(room)
	if err != nil {
		return nil, false, err
	}
	if err := s.check(); err != nil {
		return nil, false, err
	}
	if s.cache.enabled() {
		if msgs, more, ok := s.cache.after(room, seq, n, time.Now()); ok {
			s.cache.hits.Add(1)
			return msgs, more, nil
		}
		s.cache.misses.Add(1)
	}
	ctx, cancel := ctxTimeout(ctx)
	defer cancel()
	return s.afterStore(ctx, room, subj, seq, n)
}

// afterStore is After from JetStream.
func (s *Store) afterStore(ctx context.Context, room, subj string, seq uint64, n int) ([]Message, bool, error) {
	req, err := s.rd.batch(ctx, msgStream, subj, seq+1, time.Time{}, n)
	if err != nil {
		return nil, false, err
	}
	msgs, err := decode(room, req.msgs, time.Time{})
	return msgs, req.np > 0, err
}

// Last returns the room's last n messages (at most), oldest first; with
// maxAge > 0 only those no older than maxAge: stored within maxAge and,
// when their Received is set, received within it. n ≤ 0 asks for nothing.
// The messages' Body are the caller's to keep.
//
// JetStream reads a subject forwards only, so Last finds where the room's
// last n messages start: it counts the room's messages from a sequence
// (a one-message direct get tells how many more match), interpolating
// between the room's first and last sequence, then reads forwards from
// there. That is a few round trips and at most about n/4 + 8 messages read
// in vain, however long the room's history.
func (s *Store) Last(ctx context.Context, room string, n int, maxAge time.Duration) ([]Message, error) {
	if n <= 0 {
		return nil, nil
	}
	subj, err := s.pub.msgSubject(room)
	if err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	now := time.Now()
	var cutoff time.Time
	if maxAge > 0 {
		cutoff = now.Add(-maxAge)
	}
	ctx, cancel := ctxTimeout(ctx)
	defer cancel()
	if !s.cache.enabled() {
		return s.lastStore(ctx, room, subj, n, cutoff)
	}
	if msgs, ok := s.cache.last(room, n, cutoff, now); ok {
		s.cache.hits.Add(1)
		return msgs, nil
	}
	s.cache.misses.Add(1)
	// Read the room's last messages whatever their age (n, and up to n
	// more for the cache's k: JetStream scans all that lies in between,
	// so a cold read stays close to what was asked), fill its tail with
	// the last k of them, and answer from them.
	want := max(n, min(s.cache.k, 2*n))
	t := s.cache.beginFill(room)
	raws, whole, err := s.lastRaw(ctx, subj, want, time.Time{})
	var fill []cachedMsg
	if err == nil {
		for _, r := range raws[max(0, len(raws)-s.cache.k):] {
			fill = append(fill, cachedMsg{seq: r.seq, at: r.ts, frame: r.data})
		}
	}
	s.cache.endFill(room, t, fill, whole && len(raws) <= s.cache.k, err == nil)
	if err != nil {
		return nil, err
	}
	msgs, err := decode(room, raws, cutoff)
	if len(msgs) > n {
		msgs = msgs[len(msgs)-n:]
	}
	return msgs, err
}

// lastStore is Last from JetStream.
func (s *Store) lastStore(ctx context.Context, room, subj string, n int, cutoff time.Time) ([]Message, error) {
	raws, _, err := s.lastRaw(ctx, subj, n, cutoff)
	if err != nil {
		return nil, err
	}
	return decode(room, raws, cutoff)
}

// lastRaw reads the last n messages of subj (stored at or after from,
// when set), oldest first, and whether they are all it has from there.
func (s *Store) lastRaw(ctx context.Context, subj string, n int, from time.Time) ([]rawMsg, bool, error) {
	first, err := s.rd.batch(ctx, msgStream, subj, 0, from, 1)
	if err != nil {
		return nil, false, err
	}
	if len(first.msgs) == 0 {
		return nil, true, nil
	}
	lo, cLo := first.msgs[0].seq, first.np+1 // cLo messages from lo on
	if cLo <= uint64(n) {
		raws := first.msgs
		whole := true
		if first.np > 0 {
			raws, whole, err = s.tail(ctx, subj, lo+1, n, raws)
		}
		return raws, whole, err
	}
	lo, err = s.locate(ctx, subj, lo, cLo, uint64(n))
	if err != nil {
		return nil, false, err
	}
	raws, _, err := s.tail(ctx, subj, lo, n, nil)
	return raws, false, err
}

// locate returns a sequence from which between n and about n*5/4+8 of
// subj's messages remain, given that cLo ≥ n of them lie from lo on.
func (s *Store) locate(ctx context.Context, subj string, lo, cLo, n uint64) (uint64, error) {
	last, err := s.rd.last(ctx, msgStream, subj)
	if err != nil {
		return 0, err
	}
	if last == nil {
		return lo, nil
	}
	hi, cHi := last.seq+1, uint64(0) // none from hi on
	want := n + n/4 + 8
	target := n + (want-n)/2
	for i := 0; i < 16 && cLo > want && hi-lo > 1; i++ {
		var at uint64
		if i%3 == 2 || cLo == cHi {
			at = lo + (hi-lo)/2 // bisect now and then: regula falsi can crawl
		} else {
			frac := float64(cLo-target) / float64(cLo-cHi)
			at = lo + uint64(frac*float64(hi-lo))
		}
		at = min(max(at, lo+1), hi-1)
		pr, err := s.rd.batch(ctx, msgStream, subj, at, time.Time{}, 1)
		if err != nil {
			return 0, err
		}
		if len(pr.msgs) == 0 {
			hi, cHi = at, 0
			continue
		}
		if c := pr.np + 1; c >= n {
			lo, cLo = pr.msgs[0].seq, c
		} else {
			hi, cHi = at, c
		}
	}
	return lo, nil
}

// tail reads subj's messages from seq to the end, keeping the last n
// (after those in keep), and reports whether it kept all it read.
func (s *Store) tail(ctx context.Context, subj string, seq uint64, n int, keep []rawMsg) ([]rawMsg, bool, error) {
	out := keep
	all := true
	bs := n + n/4 + 8
	for range 64 {
		req, err := s.rd.batch(ctx, msgStream, subj, seq, time.Time{}, bs)
		if err != nil {
			return nil, false, err
		}
		out = append(out, req.msgs...)
		if len(out) > n {
			out = append(out[:0], out[len(out)-n:]...)
			all = false
		}
		if req.np == 0 || len(req.msgs) == 0 {
			return out, all, nil
		}
		seq = req.msgs[len(req.msgs)-1].seq + 1
	}
	return out, false, nil
}

// decode turns raw messages into Messages of room, dropping those stored
// or received before cutoff (when set).
func decode(room string, raws []rawMsg, cutoff time.Time) ([]Message, error) {
	if len(raws) == 0 {
		return nil, nil
	}
	out := make([]Message, 0, len(raws))
	for _, r := range raws {
		m := Message{Room: room, Seq: r.seq}
		if err := parseFrame(r.data, &m); err != nil {
			if errors.Is(err, ErrFormat) {
				return nil, fmt.Errorf("%w: message %d", ErrFormat, r.seq)
			}
			return nil, fmt.Errorf("%w: message %d", err, r.seq)
		}
		if !cutoff.IsZero() && (r.ts.Before(cutoff) || !m.Received.IsZero() && m.Received.Before(cutoff)) {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}
