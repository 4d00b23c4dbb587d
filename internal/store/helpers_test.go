package store

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"
)

// testLogger sends the store's warnings and errors to the test log.
func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("STORE_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: level}))
}

type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(b))
	return len(b), nil
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// open opens a store for a test and closes it at its end.
func open(t testing.TB, cfg Config) *Store {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	s, err := Open(ctxT(t), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func memStore(t testing.TB) *Store {
	return open(t, Config{Mode: ModeMemory})
}

func fileStore(t testing.TB, dir string) *Store {
	return open(t, Config{DataDir: dir})
}

// result is what a done call got.
type result struct {
	seq uint64
	err error
}

// appendAll appends msgs and waits for every done; it fails the test on
// any error.
func appendAll(t testing.TB, s *Store, msgs []Message) []uint64 {
	t.Helper()
	res := appendWait(t, s, msgs)
	seqs := make([]uint64, len(res))
	for i, r := range res {
		if r.err != nil {
			t.Fatalf("append %d: %v", i, r.err)
		}
		seqs[i] = r.seq
	}
	return seqs
}

func appendWait(t testing.TB, s *Store, msgs []Message) []result {
	t.Helper()
	res := make([]result, len(msgs))
	var wg sync.WaitGroup
	wg.Add(len(msgs))
	for i, m := range msgs {
		s.Append(m, func(seq uint64, err error) {
			res[i] = result{seq, err}
			wg.Done()
		})
	}
	waitGroup(t, &wg, 30*time.Second)
	return res
}

func waitGroup(t testing.TB, wg *sync.WaitGroup, d time.Duration) {
	t.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("done calls missing after %v", d)
	}
}

func msg(room string, i int) Message {
	return Message{
		Room:     room,
		Received: time.Unix(1700000000, int64(i)),
		Sender:   fmt.Sprintf("sip:user%d@example.com", i%7),
		Body:     fmt.Appendf(nil, "From: <sip:user@example.com>\r\nTo: <%s>\r\n\r\nContent-Type: text/plain\r\n\r\nmessage %d", room, i),
	}
}

// waitFor polls cond every few milliseconds for at most d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
