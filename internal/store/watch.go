package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// watched is an in-memory copy of a KV bucket (the accounts, the
// registered nicknames), kept current with a JetStream KV watcher (an
// ordered consumer): its goroutine (run) applies the changes, and starts a
// new watch, reading the whole bucket again, after a reconnection or when
// the watch breaks. T is a record as decoded; a record in the copy is
// never modified (readers copy out what they keep).
type watched[T any] struct {
	s      *Store
	what   string              // the records, plural, for logs and errors: "accounts"
	kv     *jetstream.KeyValue // the store's field holding the bucket (set before init)
	decode func(key string, data []byte) (*T, error)
	id     func(*T) string // a record's identity: the index of get (one per key)
	ctx    context.Context // canceled by Close: ends the watches
	cancel context.CancelFunc
	resync chan struct{} // the connection is back: read everything again

	mu  sync.RWMutex
	set watchSet[T]

	loads atomic.Uint64 // complete reads of the bucket (for tests)
}

// watchSet is a copy of a bucket.
type watchSet[T any] struct {
	byKey map[string]watchEntry[T] // bucket key → its latest revision seen
	byID  map[string]*T            // identity → record (never modified)
}

// watchEntry is a key's latest revision seen, and its record (nil: the
// key is deleted, or its record unreadable).
type watchEntry[T any] struct {
	rev uint64
	val *T
}

func newWatchSet[T any]() watchSet[T] {
	return watchSet[T]{byKey: make(map[string]watchEntry[T]), byID: make(map[string]*T)}
}

// put records revision rev of key unless a later one is known.
func (w *watched[T]) put(set watchSet[T], key string, rev uint64, val *T) {
	old, ok := set.byKey[key]
	if ok && rev <= old.rev {
		return
	}
	if ok && old.val != nil {
		delete(set.byID, w.id(old.val))
	}
	set.byKey[key] = watchEntry[T]{rev, val}
	if val != nil {
		set.byID[w.id(val)] = val
	}
}

// get is the record of that identity in memory (nil: none); the caller
// copies what it keeps.
func (w *watched[T]) get(id string) *T {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.set.byID[id]
}

// len is the number of records in memory.
func (w *watched[T]) len() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return len(w.set.byID)
}

// watch is one KV watch of a bucket.
type watch struct {
	kw     jetstream.KeyWatcher
	cancel context.CancelFunc // ends the watch (nats.go unsubscribes)
}

// drainBound bounds the wait for a stopped watch's channel to close.
const drainBound = 2 * time.Second

// stop ends the watch and waits (bounded) for its channel to close, taking
// what is still in it: nats.go's delivery goroutine may be blocked on the
// channel, and must reach its end.
func (w *watch) stop() {
	w.cancel()
	t := time.NewTimer(drainBound)
	defer t.Stop()
	for {
		select {
		case _, ok := <-w.kw.Updates():
			if !ok {
				return
			}
		case <-t.C:
			return
		}
	}
}

// prepare readies w, before the store connects (the reconnect handler
// may call reconnected from then on). kv is the store's field that will
// hold the bucket.
func (w *watched[T]) prepare(s *Store, what string, kv *jetstream.KeyValue, decode func(string, []byte) (*T, error), id func(*T) string) {
	w.s, w.what, w.kv, w.decode, w.id = s, what, kv, decode, id
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.resync = make(chan struct{}, 1)
	w.set = newWatchSet[T]()
}

// init reads the whole bucket into memory (bounded by ctx) and returns the
// watch that run then follows.
func (w *watched[T]) init(ctx context.Context) (*watch, error) {
	ctx, cancel := ctxTimeout(ctx)
	defer cancel()
	return w.load(ctx)
}

// load starts a watch and reads every current entry (until ctx ends) into
// a new copy that then replaces the store's.
func (w *watched[T]) load(ctx context.Context) (*watch, error) {
	wctx, wcancel := context.WithCancel(w.ctx)
	// The watch lives as long as wctx (nats.go unsubscribes when it
	// ends); ctx only bounds its start and the initial values.
	unbound := context.AfterFunc(ctx, wcancel)
	kw, err := (*w.kv).WatchAll(wctx)
	if err != nil {
		unbound()
		wcancel()
		return nil, fmt.Errorf("store: watching %s: %w", w.what, err)
	}
	wa := &watch{kw: kw, cancel: wcancel}
	set := newWatchSet[T]()
	n := 0
	for done := false; !done; {
		select {
		case e, ok := <-kw.Updates():
			switch {
			case !ok:
				unbound()
				wa.stop()
				return nil, fmt.Errorf("store: reading %s: %w (%d read)", w.what, w.ended(ctx), n)
			case e == nil: // every current entry has come
				done = true
			default:
				n++
				w.put(set, e.Key(), e.Revision(), w.entry(e))
			}
		case <-ctx.Done():
			unbound()
			wa.stop()
			return nil, fmt.Errorf("store: reading %s: %w (%d read)", w.what, w.ended(ctx), n)
		}
	}
	if !unbound() {
		wa.stop() // ctx ended just now: the watch is ending
		return nil, fmt.Errorf("store: reading %s: %w", w.what, w.ended(ctx))
	}
	w.mu.Lock()
	w.set = set
	w.mu.Unlock()
	w.loads.Add(1)
	return wa, nil
}

// ended is the error of a watch that stopped before its initial values.
func (w *watched[T]) ended(ctx context.Context) error {
	switch {
	case w.ctx.Err() != nil:
		return ErrClosed
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
	return fmt.Errorf("%w: the watch ended", ErrUnavailable)
}

// entry is the record of a watched entry: nil for a deletion, and for a
// record that cannot be read (logged, and treated as absent).
func (w *watched[T]) entry(e jetstream.KeyValueEntry) *T {
	if e.Operation() != jetstream.KeyValuePut {
		return nil
	}
	val, err := w.decode(e.Key(), e.Value())
	if err != nil {
		w.s.log.Warn("store: unreadable record ignored", "bucket", e.Bucket(), "key", e.Key(), "revision", e.Revision(), "err", err)
		return nil
	}
	return val
}

// apply records this store's own write in memory at once (the watch
// brings it again; the revision tells it is known).
func (w *watched[T]) apply(key string, rev uint64, val *T) {
	w.mu.Lock()
	w.put(w.set, key, rev, val)
	w.mu.Unlock()
}

// deleted records this store's deletion of key's revision rev: the
// deletion marker's own revision is unknown, but it is after rev.
func (w *watched[T]) deleted(key string, rev uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	old, ok := w.set.byKey[key]
	if ok && old.rev > rev {
		return
	}
	if old.val != nil {
		delete(w.set.byID, w.id(old.val))
	}
	w.set.byKey[key] = watchEntry[T]{rev, nil}
}

// reconnected asks run to read the bucket again (the server may have come
// back with other contents, or none).
func (w *watched[T]) reconnected() {
	select {
	case w.resync <- struct{}{}:
	default:
	}
}

// run is the watcher goroutine: it follows wa, and starts a new watch
// when one ends (with a backoff while that fails), until Close.
func (w *watched[T]) run(wa *watch) {
	defer w.s.wg.Done()
	fails := 0
	for {
		if wa != nil {
			w.follow(wa)
			wa = nil
		}
		if w.ctx.Err() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
		nw, err := w.load(ctx)
		cancel()
		if err == nil {
			if fails > 0 {
				w.s.log.Info("store: watching " + w.what + " again")
			}
			wa, fails = nw, 0
			continue
		}
		if w.ctx.Err() != nil {
			return
		}
		fails++
		delay := min(100*time.Millisecond<<min(fails-1, 6), 5*time.Second)
		w.s.log.Warn("store: watching "+w.what, "err", err, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-w.resync:
			t.Stop()
		case <-w.ctx.Done():
			t.Stop()
			return
		}
	}
}

// follow applies wa's changes until it ends: at Close, when the connection
// came back (the bucket is read again), or when the watch broke.
func (w *watched[T]) follow(wa *watch) {
	for {
		select {
		case e, ok := <-wa.kw.Updates():
			if !ok {
				wa.cancel()
				if w.ctx.Err() == nil {
					w.s.log.Warn("store: the " + w.what + " watch ended; reading the " + w.what + " again")
				}
				return
			}
			if e == nil {
				continue
			}
			val := w.entry(e)
			w.mu.Lock()
			w.put(w.set, e.Key(), e.Revision(), val)
			w.mu.Unlock()
		case <-w.resync:
			wa.stop()
			return
		}
	}
}

// stop ends the watch; run returns.
func (w *watched[T]) stop() {
	w.cancel()
}
