package store

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
)

// With a linger longer than any test, only the bounds on what is held
// (maxHeld frames, maxHeldBytes octets) can publish the appends: each
// subtest would wait an hour (and fail at appendAll's 30 s) if they did not.
func TestLingerBoundsPublish(t *testing.T) {
	t.Run("count", func(t *testing.T) {
		s := open(t, Config{Mode: ModeMemory, Linger: time.Hour})
		msgs := make([]Message, maxHeld)
		frames := 0
		for i := range msgs {
			msgs[i] = Message{Room: "sip:count@example.com", Sender: "sip:a@example.com", Body: fmt.Appendf(nil, "m%d", i)}
			frames += len(appendFrame(nil, &msgs[i]))
		}
		if frames >= maxHeldBytes {
			t.Fatalf("%d octets would reach the bytes bound", frames)
		}
		checkIncreasing(t, appendAll(t, s, msgs))
	})
	t.Run("bytes", func(t *testing.T) {
		s := open(t, Config{Mode: ModeMemory, Linger: time.Hour})
		var msgs []Message
		for size := 0; size < maxHeldBytes; size += 8 << 10 {
			m := msg("sip:bytes@example.com", len(msgs))
			m.Body = append(m.Body, bytes.Repeat([]byte{'x'}, 8<<10)...)
			msgs = append(msgs, m)
		}
		if len(msgs) >= maxHeld {
			t.Fatalf("%d messages would reach the count bound", len(msgs))
		}
		checkIncreasing(t, appendAll(t, s, msgs))
	})
}

// Close publishes what the linger still holds: the append is answered with
// its sequence and the message is there after a reopen.
func TestLingerCloseFlushes(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(ctxT(t), Config{DataDir: dir, Linger: time.Hour, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	room := "sip:held@example.com"
	res := make(chan result, 1)
	s.Append(msg(room, 1), func(seq uint64, err error) { res <- result{seq, err} })
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	r := <-res
	if r.err != nil || r.seq == 0 {
		t.Fatalf("held append: seq %d, err %v", r.seq, r.err)
	}
	s = fileStore(t, dir)
	got, err := s.Last(ctxT(t), room, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Seq != r.seq || !bytes.Equal(got[0].Body, msg(room, 1).Body) {
		t.Fatalf("after reopen: %+v, want the held message at seq %d", got, r.seq)
	}
}

// A negative linger publishes each append at once.
func TestLingerOff(t *testing.T) {
	s := open(t, Config{Mode: ModeMemory, Linger: -1})
	if s.pub.linger != 0 {
		t.Fatalf("linger %v, want off", s.pub.linger)
	}
	msgs := make([]Message, 100)
	for i := range msgs {
		msgs[i] = msg("sip:off@example.com", i)
	}
	checkIncreasing(t, appendAll(t, s, msgs))
}

func checkIncreasing(t *testing.T, seqs []uint64) {
	t.Helper()
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("seq %d after %d: appends out of order", seqs[i], seqs[i-1])
		}
	}
}
