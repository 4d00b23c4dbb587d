package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// maxKnownCursors bounds the cursors remembered as written; past it the
// memory is dropped (the next write of a forgotten cursor reads the stored
// value first, so cursors stay monotonic).
const maxKnownCursors = 100_000

type curKey struct{ room, participant string }

// cursors coalesces cursor updates in memory and writes the latest value
// of each changed cursor every flush interval, pipelined through the
// publisher to the cursors bucket.
type cursors struct {
	s       *Store
	mu      sync.Mutex
	pending map[curKey]uint64 // waiting to be written
	known   map[curKey]uint64 // written or in flight (a floor), or read from the bucket
	closed  bool

	flushMu sync.Mutex // held by a flush, and by DeleteRoom
	sig     chan struct{}
	stopCh  chan struct{}
	exited  chan struct{}

	flushing         atomic.Int64 // cursors taken by the flush under way, not yet published
	writes, failures atomic.Uint64
}

func (c *cursors) init(s *Store) {
	c.s = s
	c.pending = make(map[curKey]uint64)
	c.known = make(map[curKey]uint64)
	c.sig = make(chan struct{}, 1)
	c.stopCh = make(chan struct{})
	c.exited = make(chan struct{})
}

// SetCursor records that the room's messages up to seq were delivered to
// participant (a URI). It never blocks: the value is written to the
// cursors bucket asynchronously, within Config.CursorInterval (1 s by
// default), and only the latest value of a cursor that changed several
// times in between is written. A cursor never moves back: a seq not above the cursor's value (in memory
// or stored) is ignored, as are empty or overlong URIs and calls after
// Close began. A write that fails is retried at the next flush.
func (s *Store) SetCursor(room, participant string, seq uint64) {
	if seq == 0 || room == "" || participant == "" {
		return
	}
	s.cur.set(curKey{room, participant}, seq, false)
}

func (c *cursors) set(k curKey, seq uint64, retry bool) {
	c.mu.Lock()
	if c.closed || (!retry && seq <= c.known[k]) || seq <= c.pending[k] {
		c.mu.Unlock()
		return
	}
	c.pending[k] = seq
	c.mu.Unlock()
	select {
	case c.sig <- struct{}{}:
	default:
	}
}

// Cursor returns the last sequence delivered to participant in room, and
// whether the store has one (set in this run, or stored and not expired:
// a cursor not updated for Config.MaxAge is dropped with the messages it
// pointed to).
func (s *Store) Cursor(ctx context.Context, room, participant string) (uint64, bool, error) {
	k := curKey{room, participant}
	s.cur.mu.Lock()
	mem := max(s.cur.pending[k], s.cur.known[k])
	s.cur.mu.Unlock()
	if err := s.check(); err != nil {
		return 0, false, err
	}
	ctx, cancel := ctxTimeout(ctx)
	defer cancel()
	v, ok, err := s.cur.get(ctx, k)
	if err != nil {
		return 0, false, err
	}
	return max(v, mem), ok || mem > 0, nil
}

// cursorKey is the bucket key of a cursor: <escaped room>.<escaped
// participant> (neither escaped form holds a '.').
func cursorKey(k curKey) (string, error) {
	rk, err := escapeKey(k.room)
	if err != nil {
		return "", fmt.Errorf("store: room: %w", err)
	}
	pk, err := escapeKey(k.participant)
	if err != nil {
		return "", fmt.Errorf("store: participant: %w", err)
	}
	return rk + "." + pk, nil
}

// get reads a cursor from the bucket.
func (c *cursors) get(ctx context.Context, k curKey) (uint64, bool, error) {
	key, err := cursorKey(k)
	if err != nil {
		return 0, false, err
	}
	if !c.s.available.Load() {
		return 0, false, ErrUnavailable
	}
	e, err := c.s.cursorsKV.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: reading cursor: %w", err)
	}
	v, err := strconv.ParseUint(string(e.Value()), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%w: cursor %s holds %q", ErrFormat, key, e.Value())
	}
	return v, true, nil
}

func (c *cursors) pendingCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) + int(c.flushing.Load())
}

// flusher is the goroutine that writes pending cursors, at most once per
// flush interval, and once more when the store closes.
func (c *cursors) flusher() {
	defer c.s.wg.Done()
	defer close(c.exited)
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		select {
		case <-c.sig:
		case <-c.stopCh:
			c.flush()
			return
		}
		c.flush()
		t.Reset(c.s.flushEvery)
		select {
		case <-t.C:
		case <-c.stopCh:
			t.Stop()
			c.flush()
			return
		}
	}
}

// flush publishes every pending cursor. A cursor not known in memory is
// read from the bucket first, so that a restart cannot move it back.
func (c *cursors) flush() {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.mu.Lock()
	batch := c.pending
	if len(batch) == 0 {
		c.mu.Unlock()
		return
	}
	c.pending = make(map[curKey]uint64, len(batch))
	c.flushing.Store(int64(len(batch)))
	c.mu.Unlock()
	defer c.flushing.Store(0)
	for k, seq := range batch {
		c.flushOne(k, seq)
		c.flushing.Add(-1)
	}
}

// flushOne publishes one cursor.
func (c *cursors) flushOne(k curKey, seq uint64) {
	key, err := cursorKey(k)
	if err != nil {
		c.s.log.Debug("store: cursor dropped", "room", k.room, "participant", k.participant, "err", err)
		return
	}
	c.mu.Lock()
	floor, ok := c.known[k]
	c.mu.Unlock()
	if !ok {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		v, found, err := c.get(ctx, k)
		cancel()
		if err != nil {
			c.failures.Add(1)
			c.set(k, seq, true)
			return
		}
		if found {
			floor = v
		}
	}
	c.mu.Lock()
	if seq <= floor {
		c.known[k] = max(c.known[k], floor)
		c.mu.Unlock()
		return
	}
	if len(c.known) >= maxKnownCursors {
		clear(c.known)
	}
	c.known[k] = seq
	c.mu.Unlock()
	data := strconv.AppendUint(make([]byte, 0, 20), seq, 10)
	c.s.pub.publish("$KV."+cursorsBucket+"."+key, nil, data, func(_ uint64, err error) {
		if err != nil {
			c.failures.Add(1)
			c.set(k, seq, true)
			return
		}
		c.writes.Add(1)
	}, true)
}

// stop makes the flusher write what is pending and exit; later SetCursor
// calls are ignored.
func (c *cursors) stop(ctx context.Context) {
	if c.stopCh == nil {
		return
	}
	close(c.stopCh)
	select {
	case <-c.exited:
	case <-ctx.Done():
	}
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}

// forgetRoom drops the room's cursors from memory (DeleteRoom holds
// flushMu).
func (c *cursors) forgetRoom(room string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.pending {
		if k.room == room {
			delete(c.pending, k)
		}
	}
	for k := range c.known {
		if k.room == room {
			delete(c.known, k)
		}
	}
}
