package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// filledStore makes a closed file store in a new directory holding n
// messages of one room, and returns the directory.
func filledStore(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(ctxT(t), Config{DataDir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []Message
	for i := range n {
		msgs = append(msgs, msg("sip:r@x", i))
	}
	appendAll(t, s, msgs)
	if err := s.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func streamDir(dir, stream string) string {
	return filepath.Join(dir, "nats", "jetstream", "$G", "streams", stream)
}

// TestFormat: a store whose format version is newer or unknown is refused
// with ErrFormat, and left as it is.
func TestFormat(t *testing.T) {
	for _, v := range []string{"2", "", "one"} {
		dir := filledStore(t, 1)
		s := fileStore(t, dir)
		if _, err := s.metaKV.Put(ctxT(t), formatKey, []byte(v)); err != nil {
			t.Fatal(err)
		}
		s.Close(ctxT(t))
		_, err := Open(ctxT(t), Config{DataDir: dir, Logger: testLogger(t)})
		if !errors.Is(err, ErrFormat) {
			t.Fatalf("format %q: Open: %v", v, err)
		}
		t.Logf("format %q: %v", v, err)
		// Still refused: Open changed nothing.
		if _, err := Open(ctxT(t), Config{DataDir: dir, Logger: testLogger(t)}); !errors.Is(err, ErrFormat) {
			t.Fatalf("format %q, again: %v", v, err)
		}
	}
	// A stored message in another frame version is refused on reading.
	s := memStore(t)
	appendAll(t, s, []Message{msg("sip:r@x", 1)})
	raw := []byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if _, err := s.nc.Request(msgSubjectPfx+"sip_3Ar_40x"+msgSubjectSfx, raw, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Last(ctxT(t), "sip:r@x", 2, 0); !errors.Is(err, ErrFormat) {
		t.Fatalf("a message in frame version 2: %v", err)
	}
}

// TestCorruption records what a damaged file store does on Open:
//   - a damaged record in a message block: JetStream recovers, keeping
//     the block's messages before the damage (later blocks are intact);
//     Open succeeds, the loss is logged as a warning;
//   - a truncated block: the same;
//   - a damaged stream state file (index.db): rebuilt from the blocks,
//     nothing lost;
//   - a damaged or missing stream metafile: the server cannot load the
//     stream and skips it; Open fails with ErrCorrupt naming the stream,
//     and changes nothing (the operator repairs or removes the directory).
func TestCorruption(t *testing.T) {
	const n = 1000
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		lossy  bool
		fails  bool
	}{
		{"garbled record", func(t *testing.T, dir string) {
			f, err := os.OpenFile(filepath.Join(streamDir(dir, msgStream), "msgs", "1.blk"), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteAt([]byte("GARBAGE GARBAGE GARBAGE"), 50000)
			f.Close()
		}, true, false},
		{"truncated block", func(t *testing.T, dir string) {
			if err := os.Truncate(filepath.Join(streamDir(dir, msgStream), "msgs", "1.blk"), 50000); err != nil {
				t.Fatal(err)
			}
		}, true, false},
		{"garbled index", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(streamDir(dir, msgStream), "msgs", "index.db"), []byte("garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, false, false},
		{"garbled metafile", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(streamDir(dir, msgStream), "meta.inf"), []byte("{not json"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, false, true},
		{"missing rooms bucket", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(streamDir(dir, "KV_"+roomsBucket), "meta.inf")); err != nil {
				t.Fatal(err)
			}
		}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filledStore(t, n)
			tc.damage(t, dir)
			s, err := Open(ctxT(t), Config{DataDir: dir, Logger: testLogger(t)})
			if tc.fails {
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "is missing") {
					t.Fatalf("Open: %v", err)
				}
				t.Logf("Open: %v", err)
				if _, err := Open(ctxT(t), Config{DataDir: dir, Logger: testLogger(t)}); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Open again: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close(context.Background())
			got, err := s.Last(ctxT(t), "sip:r@x", 2*n, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.lossy && len(got) != n || tc.lossy && (len(got) == 0 || len(got) >= n) {
				t.Fatalf("%d of %d messages recovered", len(got), n)
			}
			for i, m := range got {
				if string(m.Body) != string(msg("sip:r@x", i).Body) {
					t.Fatalf("message %d differs", i)
				}
			}
			t.Logf("%d of %d messages recovered", len(got), n)
			appendAll(t, s, []Message{msg("sip:r@x", n)}) // and it goes on
		})
	}
}
