package store

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// benchBody is a typical small message/cpim document (~250 octets).
var benchBody = []byte("From: <sip:alice@example.com>\r\nTo: <sip:lobby@example.com>\r\nDateTime: 2025-01-01T12:00:00Z\r\nNS: MyFeatures <mid:MessageFeatures@id.example.com>\r\n\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello, everyone in the lobby: this is a message of ordinary length.\r\n")

func benchRooms(n int) []string {
	rooms := make([]string, n)
	for i := range rooms {
		rooms[i] = fmt.Sprintf("sip:room%d@example.com", i)
	}
	return rooms
}

// appendN appends n messages round-robin over rooms and waits for every
// done.
func appendN(b testing.TB, s *Store, rooms []string, n int) {
	var wg sync.WaitGroup
	wg.Add(n)
	var failed sync.Once
	now := time.Now()
	for i := range n {
		s.Append(Message{Room: rooms[i%len(rooms)], Received: now, Sender: "sip:alice@example.com", Body: benchBody}, func(_ uint64, err error) {
			if err != nil {
				failed.Do(func() { b.Errorf("append: %v", err) })
			}
			wg.Done()
		})
	}
	wg.Wait()
}

// BenchmarkAppend: pipelined appends to 100 rooms, in each mode; msgs/s is
// the throughput with every acknowledgement awaited. "nolinger" publishes
// each append at once (Config.Linger < 0).
func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"file", Config{}},
		{"file-nolinger", Config{Linger: -1}},
		{"file-syncalways", Config{SyncAlways: true}},
		{"memory", Config{Mode: ModeMemory}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := bc.cfg
			if cfg.Mode == "" {
				cfg.DataDir = b.TempDir()
			}
			cfg.Logger = testLogger(b)
			s, err := Open(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close(context.Background())
			// Measure what the server sustains, not the stall bound.
			s.stallTimeout = time.Minute
			rooms := benchRooms(100)
			b.ReportAllocs()
			b.SetBytes(int64(len(benchBody)))
			b.ResetTimer()
			start, cpu := time.Now(), cpuTime()
			appendN(b, s, rooms, b.N)
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			// CPU per message (store, client and embedded server alike): a
			// figure a busy machine disturbs less than the throughput.
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/msg")
		})
	}
}

// BenchmarkLast: Last(n) of the rooms of a file store where every room
// holds 1,000 messages, interleaved (20 rooms: 20,000 messages; 1,000
// rooms: 1 M messages) — a join's history. "jetstream" reads JetStream
// (the cache off: JetStream scans every message stored between two of the
// room's), "cached" answers from the tail cache (each room read once
// before).
func BenchmarkLast(b *testing.B) {
	for _, nrooms := range []int{20, 1000} {
		b.Run(fmt.Sprintf("rooms=%d", nrooms), func(b *testing.B) {
			s := open(b, Config{DataDir: b.TempDir()})
			s.stallTimeout = time.Minute
			rooms := benchRooms(nrooms)
			appendN(b, s, rooms, nrooms*1000)
			k := s.cache.k
			ctx := context.Background()
			for _, bc := range []struct {
				n      int
				cached bool
			}{{50, false}, {50, true}, {1000, false}} {
				name := fmt.Sprintf("n=%d/jetstream", bc.n)
				if bc.cached {
					name = fmt.Sprintf("n=%d/cached", bc.n)
				}
				b.Run(name, func(b *testing.B) {
					s.cache.k = 0 // off
					if bc.cached {
						s.cache.k = k
						for _, room := range rooms {
							if _, err := s.Last(ctx, room, bc.n, 0); err != nil {
								b.Fatal(err)
							}
						}
					}
					b.ReportAllocs()
					for i := 0; b.Loop(); i++ {
						msgs, err := s.Last(ctx, rooms[i%len(rooms)], bc.n, 0)
						if err != nil || len(msgs) != bc.n {
							b.Fatalf("Last: %d, %v", len(msgs), err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkReopen: Open of a file store holding 1,000 rooms of 1,000
// messages (~1 M messages, ~330 MB), after a clean Close and after a crash
// (a copy of the data directory taken while the store was running, as a
// kill -9 leaves it, so that JetStream rebuilds its state from the message
// blocks). ns/op is the time Open takes to return a ready store; also
// reported: the first Last(50) after it.
func BenchmarkReopen(b *testing.B) {
	dir := b.TempDir()
	ctx := context.Background()
	s, err := Open(ctx, Config{DataDir: dir, Logger: testLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	s.stallTimeout = time.Minute
	rooms := benchRooms(1000)
	appendN(b, s, rooms, 1000*1000)
	crashed := b.TempDir()
	if err := copyDir(dir, crashed); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		crash bool
	}{{"clean", false}, {"crash", true}} {
		b.Run(bc.name, func(b *testing.B) {
			var lastTook, openCPU time.Duration
			for i := 0; i < b.N; i++ {
				d := dir
				if bc.crash {
					b.StopTimer()
					d = b.TempDir()
					if err := copyDir(crashed, d); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				cpu := cpuTime()
				s, err := Open(ctx, Config{DataDir: d, Logger: testLogger(b)})
				if err != nil {
					b.Fatal(err)
				}
				openCPU += cpuTime() - cpu
				b.StopTimer()
				start := time.Now()
				msgs, err := s.Last(ctx, rooms[i%len(rooms)], 50, 0)
				lastTook += time.Since(start)
				if err != nil || len(msgs) != 50 {
					b.Fatalf("Last: %d, %v", len(msgs), err)
				}
				if err := s.Close(ctx); err != nil {
					b.Fatal(err)
				}
				if bc.crash {
					os.RemoveAll(d)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(lastTook.Microseconds())/float64(b.N), "µs/first-Last")
			b.ReportMetric(float64(openCPU.Milliseconds())/float64(b.N), "cpu-ms/open")
		})
	}
}
