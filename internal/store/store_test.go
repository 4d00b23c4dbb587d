package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEscapeKey(t *testing.T) {
	for uri, want := range map[string]string{
		"sip:lobby@example.com":        "sip_3Alobby_40example_2Ecom",
		"sips:a_b@h;transport=tls":     "sips_3Aa_5Fb_40h_3Btransport_3Dtls",
		"plain-Token-09":               "plain-Token-09",
		"x.*>y z\x00\xff":              "x_2E_2A_3Ey_20z_00_FF",
		"sip:%41@h":                    "sip_3A_2541_40h",
		"sip:\u00e9t\u00e9@example.fr": "sip_3A_C3_A9t_C3_A9_40example_2Efr",
	} {
		got, err := escapeKey(uri)
		if err != nil || got != want {
			t.Errorf("escapeKey(%q) = %q, %v; want %q", uri, got, err, want)
		}
		back, err := unescapeKey(got)
		if err != nil || back != uri {
			t.Errorf("unescapeKey(%q) = %q, %v", got, back, err)
		}
	}
	if _, err := escapeKey(""); err == nil {
		t.Error("empty URI accepted")
	}
	if _, err := escapeKey(string(bytes.Repeat([]byte{'.'}, maxKey))); err == nil {
		t.Error("overlong URI accepted")
	}
	for _, bad := range []string{"_2", "_2e", "_41", "a.b", "_", "a_ZZ"} {
		if _, err := unescapeKey(bad); err == nil {
			t.Errorf("unescapeKey(%q) accepted", bad)
		}
	}
	// Injective: random URIs over a small alphabet never collide, and every
	// escaped form is one subject token of allowed characters.
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("aZ09-_.:@;=%*> \x00\xfe")
	seen := map[string]string{}
	for range 20000 {
		b := make([]byte, 1+rng.IntN(6))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		uri := string(b)
		k, err := escapeKey(uri)
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := seen[k]; ok && prev != uri {
			t.Fatalf("%q and %q both escape to %q", prev, uri, k)
		}
		seen[k] = uri
		for i := 0; i < len(k); i++ {
			if !plainKeyByte(k[i]) && k[i] != '_' {
				t.Fatalf("escapeKey(%q) = %q holds %q", uri, k, k[i])
			}
		}
		if back, err := unescapeKey(k); err != nil || back != uri {
			t.Fatalf("round trip of %q: %q, %v", uri, back, err)
		}
	}
}

func TestFrame(t *testing.T) {
	for _, m := range []Message{
		{Received: time.Unix(1, 2), Sender: "sip:a@b", Body: []byte("x")},
		{Sender: "", Body: nil},
		{Received: time.Unix(0, 0).Add(time.Nanosecond), Sender: "s", Body: []byte{0, 0xff, '\r', '\n'}},
	} {
		var got Message
		if err := parseFrame(appendFrame(nil, &m), &got); err != nil {
			t.Fatal(err)
		}
		if !got.Received.Equal(m.Received) || got.Received.IsZero() != m.Received.IsZero() || got.Sender != m.Sender || !bytes.Equal(got.Body, m.Body) {
			t.Errorf("frame round trip: %+v became %+v", m, got)
		}
	}
	for _, bad := range [][]byte{nil, {1}, {2, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {1, 0, 0, 0, 0, 0, 0, 0, 0, 5, 'a'}} {
		var m Message
		if err := parseFrame(bad, &m); err == nil {
			t.Errorf("parseFrame(%v) accepted", bad)
		}
	}
}

func TestLastOrderAndLimit(t *testing.T) { bothCaches(t, testLastOrderAndLimit) }

func testLastOrderAndLimit(t *testing.T, cache int) {
	s := open(t, Config{Mode: ModeMemory, CacheMessages: cache})
	const room, other = "sip:lobby@example.com", "sip:other@example.com"
	var msgs []Message
	for i := range 30 {
		msgs = append(msgs, msg(room, i), msg(other, 1000+i))
	}
	seqs := appendAll(t, s, msgs)
	ctx := ctxT(t)
	for _, n := range []int{1, 2, 10, 29, 30, 31, 1000} {
		got, err := s.Last(ctx, room, n, 0)
		if err != nil {
			t.Fatal(err)
		}
		k := min(n, 30)
		if len(got) != k {
			t.Fatalf("Last(%d): %d messages", n, len(got))
		}
		for j, m := range got {
			i := 30 - k + j
			want := msgs[2*i]
			if m.Room != room || m.Seq != seqs[2*i] || m.Sender != want.Sender || !m.Received.Equal(want.Received) || !bytes.Equal(m.Body, want.Body) {
				t.Fatalf("Last(%d)[%d] = %+v, want %+v seq %d", n, j, m, want, seqs[2*i])
			}
		}
	}
	if got, err := s.Last(ctx, "sip:nobody@example.com", 10, 0); err != nil || len(got) != 0 {
		t.Fatalf("Last of an unknown room: %v, %v", got, err)
	}
	if got, err := s.Last(ctx, room, 0, 0); err != nil || got != nil {
		t.Fatalf("Last(0): %v, %v", got, err)
	}
	if _, err := s.Last(ctx, "", 1, 0); err == nil {
		t.Fatal("Last of an empty room URI: no error")
	}
}

func TestLastMaxAge(t *testing.T) { bothCaches(t, testLastMaxAge) }

func testLastMaxAge(t *testing.T, cache int) {
	s := open(t, Config{Mode: ModeMemory, CacheMessages: cache})
	const room = "sip:age@example.com"
	ctx := ctxT(t)
	now := time.Now()
	// Received decides for messages that carry it...
	var msgs []Message
	for i := range 10 {
		m := msg(room, i)
		m.Received = now.Add(-time.Duration(10-i) * time.Hour) // 10h ago … 1h ago
		msgs = append(msgs, m)
	}
	appendAll(t, s, msgs)
	for range 2 { // (with the cache: filled, then from memory)
		got, err := s.Last(ctx, room, 100, 150*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || !bytes.Equal(got[0].Body, msgs[8].Body) || !bytes.Equal(got[1].Body, msgs[9].Body) {
			t.Fatalf("Last with maxAge 2h30: %d messages", len(got))
		}
		if got, _ := s.Last(ctx, room, 1, 150*time.Minute); len(got) != 1 || !bytes.Equal(got[0].Body, msgs[9].Body) {
			t.Fatalf("Last(1) with maxAge 2h30: %d messages", len(got))
		}
	}
	// ...and the time the store got them decides for all.
	const room2 = "sip:age2@example.com"
	old := msg(room2, 1)
	old.Received = time.Time{}
	appendAll(t, s, []Message{old})
	time.Sleep(300 * time.Millisecond)
	fresh := msg(room2, 2)
	fresh.Received = time.Time{}
	freshStart := time.Now()
	appendAll(t, s, []Message{fresh})
	for range 2 {
		// Old enough to leave out the old one (stored before oldDone),
		// young enough for the fresh one (stored after freshStart) with
		// 200 ms to spare for a busy machine.
		// (The sleep keeps the old one 100 ms beyond.)
		maxAge := time.Since(freshStart) + 200*time.Millisecond
		got, err := s.Last(ctx, room2, 10, maxAge)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !bytes.Equal(got[0].Body, fresh.Body) || !got[0].Received.IsZero() {
			t.Fatalf("Last with maxAge %v: %+v", maxAge, got)
		}
	}
	if got, _ := s.Last(ctx, room2, 10, 0); len(got) != 2 {
		t.Fatalf("Last without maxAge: %d messages", len(got))
	}
}

// TestLastLocate checks Last's search for where the last n start against
// the plain answer, on rooms of very different shares of the stream, with
// MaxHistory dropping the oldest.
func TestLastLocate(t *testing.T) { bothCaches(t, testLastLocate) }

func testLastLocate(t *testing.T, cache int) {
	s := open(t, Config{Mode: ModeMemory, MaxHistory: 400, CacheMessages: cache})
	rng := rand.New(rand.NewPCG(3, 4))
	rooms := []string{"sip:big@x", "sip:mid@x", "sip:small@x", "sip:tiny@x"}
	weights := []int{70, 20, 9, 1}
	want := map[string][]int{}
	var msgs []Message
	for i := range 3000 {
		w := rng.IntN(100)
		r := 0
		for ; w >= weights[r]; r++ {
			w -= weights[r]
		}
		msgs = append(msgs, msg(rooms[r], i))
		want[rooms[r]] = append(want[rooms[r]], i)
		if rng.IntN(300) == 0 { // bursts
			for j := range 200 {
				msgs = append(msgs, msg(rooms[2], 100000+i*1000+j))
				want[rooms[2]] = append(want[rooms[2]], 100000+i*1000+j)
			}
		}
	}
	appendAll(t, s, msgs)
	ctx := ctxT(t)
	for _, room := range rooms {
		all := want[room]
		if len(all) > 400 {
			all = all[len(all)-400:]
		}
		for _, n := range []int{1, 2, 3, 7, 50, 99, 100, 101, 333, 399, 400, 401, 5000} {
			got, err := s.Last(ctx, room, n, 0)
			if err != nil {
				t.Fatal(err)
			}
			exp := all[len(all)-min(n, len(all)):]
			if len(got) != len(exp) {
				t.Fatalf("%s Last(%d): %d messages, want %d", room, n, len(got), len(exp))
			}
			for j, m := range got {
				if !bytes.Equal(m.Body, msg(room, exp[j]).Body) {
					t.Fatalf("%s Last(%d)[%d]: %q, want message %d", room, n, j, m.Body, exp[j])
				}
				if j > 0 && m.Seq <= got[j-1].Seq {
					t.Fatalf("%s Last(%d): sequences out of order", room, n)
				}
			}
		}
	}
}

func TestAfter(t *testing.T) { bothCaches(t, testAfter) }

func testAfter(t *testing.T, cache int) {
	s := open(t, Config{Mode: ModeMemory, CacheMessages: cache})
	const room = "sip:after@example.com"
	var msgs []Message
	for i := range 25 {
		msgs = append(msgs, msg(room, i), msg("sip:noise@example.com", i))
	}
	seqs := appendAll(t, s, msgs)
	ctx := ctxT(t)
	if _, err := s.Last(ctx, room, 1, 0); err != nil { // the cache has the room now
		t.Fatal(err)
	}
	var got []Message
	var after uint64
	for range 10 {
		page, more, err := s.After(ctx, room, after, 10)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if len(page) > 0 {
			after = page[len(page)-1].Seq
		}
		if want := len(got) < 25; more != want {
			t.Fatalf("after %d messages: more = %v", len(got), more)
		}
		if !more {
			break
		}
	}
	if len(got) != 25 {
		t.Fatalf("%d messages, want 25", len(got))
	}
	for i, m := range got {
		if m.Seq != seqs[2*i] || !bytes.Equal(m.Body, msgs[2*i].Body) {
			t.Fatalf("message %d: seq %d, want %d", i, m.Seq, seqs[2*i])
		}
	}
	// From the middle, exactly to the end, and past it.
	page, more, err := s.After(ctx, room, seqs[2*19], 6)
	if err != nil || len(page) != 5 || more || page[0].Seq != seqs[2*20] {
		t.Fatalf("After the 20th: %d messages, more %v, %v", len(page), more, err)
	}
	page, more, err = s.After(ctx, room, seqs[2*19], 5)
	if err != nil || len(page) != 5 || more {
		t.Fatalf("After the 20th, 5: %d messages, more %v, %v", len(page), more, err)
	}
	page, more, err = s.After(ctx, room, seqs[len(seqs)-1], 5)
	if err != nil || len(page) != 0 || more {
		t.Fatalf("After the last: %d messages, more %v, %v", len(page), more, err)
	}
	if page, more, err := s.After(ctx, room, 0, 0); page != nil || more || err != nil {
		t.Fatal("After with n = 0")
	}
}

func TestBodyByteIdentical(t *testing.T) { bothCaches(t, testBodyByteIdentical) }

func testBodyByteIdentical(t *testing.T, cache int) {
	s := open(t, Config{Mode: ModeMemory, MaxMessageBytes: 1 << 20, CacheMessages: cache})
	const room = "sip:bytes@example.com"
	rng := rand.New(rand.NewPCG(5, 6))
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := make([]byte, 1<<20-100)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	bodies := [][]byte{
		[]byte("From: <sip:a@example.com>\r\nTo: <sip:b@example.com>\r\nDateTime: 2024-01-01T00:00:00Z\r\n\r\nContent-Type: text/plain\r\n\r\nhello\r\n"),
		[]byte("lf only\nNATS/1.0\r\n\r\nPUB x 1\r\n"),
		all,
		{},
		{'\r'},
		{'\n', '\r'},
		bytes.Repeat([]byte("\r\n"), 1000),
		big,
	}
	var msgs []Message
	for i, b := range bodies {
		msgs = append(msgs, Message{Room: room, Sender: fmt.Sprintf("sip:anonymous-%d@anonymous.invalid", i), Body: b})
	}
	appendAll(t, s, msgs)
	got, err := s.Last(ctxT(t), room, len(bodies), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(bodies) {
		t.Fatalf("%d messages", len(got))
	}
	for i, m := range got {
		if !bytes.Equal(m.Body, bodies[i]) || m.Sender != msgs[i].Sender || !m.Received.IsZero() {
			t.Errorf("message %d differs (%d octets, want %d)", i, len(m.Body), len(bodies[i]))
		}
	}
}

func TestAppendRefused(t *testing.T) {
	s := open(t, Config{Mode: ModeMemory, MaxMessageBytes: 1000})
	res := appendWait(t, s, []Message{
		{Room: "", Body: []byte("x")},
		{Room: "sip:r@x", Sender: "s", Body: make([]byte, 1000)},
		{Room: "sip:r@x", Body: make([]byte, 1000)},
	})
	if res[0].err == nil || errors.Is(res[0].err, ErrUnavailable) {
		t.Errorf("empty room: %v", res[0].err)
	}
	if !errors.Is(res[1].err, ErrTooLarge) {
		t.Errorf("1001 octets: %v", res[1].err)
	}
	if res[2].err != nil || res[2].seq == 0 {
		t.Errorf("1000 octets: %v", res[2].err)
	}
	st := s.Stats()
	if st.Appended != 1 || st.Failed != 2 {
		t.Errorf("stats %+v", st)
	}
	s.Append(Message{Room: "sip:r@x"}, nil) // a nil done is allowed
}

// TestDoneOrder: done calls follow Append order, across rooms, with
// refused appends among them.
func TestDoneOrder(t *testing.T) {
	s := open(t, Config{Mode: ModeMemory, MaxMessageBytes: 100})
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	const n = 5000
	wg.Add(n)
	for i := range n {
		m := msg(fmt.Sprintf("sip:r%d@x", i%13), i)
		m.Body = m.Body[:min(len(m.Body), 50)]
		if i%97 == 0 {
			m.Body = make([]byte, 200) // refused at once
		}
		s.Append(m, func(seq uint64, err error) {
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			wg.Done()
		})
	}
	waitGroup(t, &wg, 30*time.Second)
	if !slices.IsSorted(order) {
		t.Fatal("done calls out of Append order")
	}
}

// TestAppendStall: with every slot held by a done call that does not
// return, Append gives up after the stall bound with ErrUnavailable.
func TestAppendStall(t *testing.T) {
	s := open(t, Config{Mode: ModeMemory, MaxPending: 2})
	s.stallTimeout = 30 * time.Millisecond
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(3)
	s.Append(msg("sip:r@x", 1), func(uint64, error) { <-release; wg.Done() })
	s.Append(msg("sip:r@x", 2), func(uint64, error) { wg.Done() })
	errc := make(chan error, 1)
	start := time.Now()
	s.Append(msg("sip:r@x", 3), func(_ uint64, err error) { errc <- err; wg.Done() })
	if d := time.Since(start); d < 25*time.Millisecond || d > 2*time.Second {
		t.Errorf("Append waited %v", d)
	}
	close(release)
	if err := <-errc; !errors.Is(err, ErrUnavailable) {
		t.Errorf("stalled append: %v", err)
	}
	waitGroup(t, &wg, 10*time.Second)
	if st := s.Stats(); st.Stalled != 1 || st.Failed != 1 || st.Appended != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestCursors(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Config{DataDir: dir})
	const room, alice, bob = "sip:c@example.com", "sip:alice@example.com", "sip:bob@example.com"
	ctx := ctxT(t)
	if _, ok, err := s.Cursor(ctx, room, alice); ok || err != nil {
		t.Fatalf("cursor before any: %v %v", ok, err)
	}
	for seq := uint64(1); seq <= 1000; seq++ {
		s.SetCursor(room, alice, seq)
	}
	s.SetCursor(room, alice, 500) // back: ignored
	s.SetCursor(room, bob, 7)
	s.SetCursor(room, "", 9) // ignored
	if v, ok, err := s.Cursor(ctx, room, alice); v != 1000 || !ok || err != nil {
		t.Fatalf("cursor in memory: %d %v %v", v, ok, err)
	}
	waitFor(t, 5*time.Second, "cursors written", func() bool { return s.Stats().CursorsPending == 0 && s.Stats().Pending == 0 })
	if w := s.Stats().CursorWrites; w < 2 || w > 20 {
		t.Errorf("%d cursor writes for 1001 updates of 2 cursors: not coalesced", w)
	}
	s.SetCursor(room, alice, 999) // back: ignored
	s.SetCursor(room, bob, 8)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Stored: a new store sees them, and a lower value cannot move one back.
	s2 := open(t, Config{DataDir: dir})
	if v, ok, err := s2.Cursor(ctx, room, alice); v != 1000 || !ok || err != nil {
		t.Fatalf("alice after reopen: %d %v %v", v, ok, err)
	}
	if v, ok, err := s2.Cursor(ctx, room, bob); v != 8 || !ok || err != nil {
		t.Fatalf("bob after reopen (written by Close): %d %v %v", v, ok, err)
	}
	s2.SetCursor(room, alice, 10)
	waitFor(t, 5*time.Second, "cursor flushed", func() bool { return s2.Stats().CursorsPending == 0 && s2.Stats().Pending == 0 })
	if err := s2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s3 := open(t, Config{DataDir: dir})
	if v, _, _ := s3.Cursor(ctx, room, alice); v != 1000 {
		t.Fatalf("alice moved back to %d", v)
	}
}

func TestRooms(t *testing.T) {
	s := memStore(t)
	ctx := ctxT(t)
	if rooms, err := s.Rooms(ctx); err != nil || len(rooms) != 0 {
		t.Fatalf("Rooms of an empty store: %v %v", rooms, err)
	}
	empty := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	want := []Room{
		{URI: "sip:a@example.com", Subject: "A", Persistent: true, Data: []byte(`{"history":50}`)},
		{URI: "sip:b.c@example.com", Subject: "", EmptySince: empty, Data: []byte{0, 1, 2}},
		{URI: "sip:z@example.com", Subject: "Zed"},
	}
	for _, r := range []Room{want[2], want[1], {URI: "sip:a@example.com", Subject: "old"}, want[0]} {
		if err := s.PutRoom(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Rooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d rooms", len(got))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.URI != w.URI || g.Subject != w.Subject || g.Persistent != w.Persistent || !g.EmptySince.Equal(w.EmptySince) || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("room %d: %+v, want %+v", i, g, w)
		}
	}
	// DeleteRoom takes the record, the messages and the cursors, and no
	// other room's.
	appendAll(t, s, []Message{msg("sip:a@example.com", 1), msg("sip:b.c@example.com", 2), msg("sip:a@example.com", 3)})
	s.SetCursor("sip:a@example.com", "sip:p@x", 3)
	s.SetCursor("sip:b.c@example.com", "sip:p@x", 2)
	waitFor(t, 5*time.Second, "cursors written", func() bool { return s.Stats().CursorsPending == 0 && s.Stats().Pending == 0 })
	s.SetCursor("sip:a@example.com", "sip:q@x", 3) // pending: dropped
	if err := s.DeleteRoom(ctx, "sip:a@example.com"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Rooms(ctx); len(got) != 2 || got[0].URI != "sip:b.c@example.com" {
		t.Fatalf("after delete: %+v", got)
	}
	if msgs, _ := s.Last(ctx, "sip:a@example.com", 10, 0); len(msgs) != 0 {
		t.Fatalf("deleted room still has %d messages", len(msgs))
	}
	if msgs, _ := s.Last(ctx, "sip:b.c@example.com", 10, 0); len(msgs) != 1 {
		t.Fatalf("other room has %d messages", len(msgs))
	}
	for _, p := range []string{"sip:p@x", "sip:q@x"} {
		if _, ok, _ := s.Cursor(ctx, "sip:a@example.com", p); ok {
			t.Fatalf("deleted room still has %s's cursor", p)
		}
	}
	if v, ok, _ := s.Cursor(ctx, "sip:b.c@example.com", "sip:p@x"); !ok || v != 2 {
		t.Fatal("other room lost its cursor")
	}
	// Deleting what is not there is no error.
	if err := s.DeleteRoom(ctx, "sip:nothing@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRoom(ctx, Room{}); err == nil {
		t.Fatal("a room without URI was put")
	}
}

// TestCloseFlushes: Close waits for every append in flight; the reopened
// file store has them all, once, in order; Close again is harmless, and
// what comes after it fails with ErrClosed.
func TestCloseFlushes(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxT(t)
	s, err := Open(ctx, Config{DataDir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	var mu sync.Mutex
	acked := map[int]uint64{}
	for i := range n {
		s.Append(msg(fmt.Sprintf("sip:r%d@x", i%3), i), func(seq uint64, err error) {
			if err != nil {
				t.Errorf("append %d: %v", i, err)
			}
			mu.Lock()
			acked[i] = seq
			mu.Unlock()
		})
	}
	s.SetCursor("sip:r0@x", "sip:p@x", 42)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(acked) != n {
		t.Fatalf("Close returned with %d of %d done calls", len(acked), n)
	}
	mu.Unlock()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if s.Available() {
		t.Fatal("available after Close")
	}
	errc := make(chan error, 1)
	s.Append(msg("sip:r0@x", 1), func(_ uint64, err error) { errc <- err })
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if _, err := s.Last(ctx, "sip:r0@x", 1, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Last after Close: %v", err)
	}
	if err := s.PutRoom(ctx, Room{URI: "sip:r0@x"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("PutRoom after Close: %v", err)
	}
	s.SetCursor("sip:r0@x", "sip:p@x", 50) // ignored, no panic

	s2 := fileStore(t, dir)
	for r := range 3 {
		room := fmt.Sprintf("sip:r%d@x", r)
		got, err := s2.Last(ctx, room, n, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n/3 {
			t.Fatalf("%s: %d messages after reopen", room, len(got))
		}
		for j, m := range got {
			i := r + 3*j
			if m.Seq != acked[i] || !bytes.Equal(m.Body, msg(room, i).Body) {
				t.Fatalf("%s message %d: seq %d body %q", room, j, m.Seq, m.Body)
			}
		}
	}
	if v, ok, _ := s2.Cursor(ctx, "sip:r0@x", "sip:p@x"); !ok || v != 42 {
		t.Fatalf("cursor set just before Close: %d %v", v, ok)
	}
}

// TestCloseBounded: Close with an expired context fails what is in flight
// with ErrClosed and still closes.
func TestCloseBounded(t *testing.T) {
	s, err := Open(ctxT(t), Config{Mode: ModeMemory, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	const n = 2000
	wg.Add(n)
	var mu sync.Mutex
	errs := map[string]int{}
	for i := range n {
		s.Append(msg("sip:r@x", i), func(_ uint64, err error) {
			mu.Lock()
			switch {
			case err == nil:
				errs["ok"]++
			case errors.Is(err, ErrClosed):
				errs["closed"]++
			default:
				errs[err.Error()]++
			}
			mu.Unlock()
			wg.Done()
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = s.Close(ctx)
	waitGroup(t, &wg, 10*time.Second)
	t.Logf("Close: %v; done calls: %v", err, errs)
	if errs["ok"]+errs["closed"] != n {
		t.Fatalf("done calls: %v", errs)
	}
	if errs["closed"] > 0 && !errors.Is(err, context.Canceled) {
		t.Fatalf("Close with appends cut short: %v", err)
	}
}

func TestMemoryMode(t *testing.T) {
	ctx := ctxT(t)
	s, err := Open(ctx, Config{Mode: ModeMemory, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Available() {
		t.Fatal("not available")
	}
	appendAll(t, s, []Message{msg("sip:m@x", 1)})
	if err := s.PutRoom(ctx, Room{URI: "sip:m@x"}); err != nil {
		t.Fatal(err)
	}
	tmp := s.tmpDir
	if _, err := os.Stat(tmp); err != nil {
		t.Fatal(err)
	}
	var files int
	filepath.WalkDir(tmp, func(_ string, d os.DirEntry, _ error) error {
		if d != nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files != 0 {
		t.Errorf("memory mode wrote %d files", files)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("memory mode's directory left behind: %v", err)
	}
	s2 := memStore(t)
	if got, _ := s2.Last(ctx, "sip:m@x", 10, 0); len(got) != 0 {
		t.Fatal("a memory store kept messages across Close")
	}
	if rooms, _ := s2.Rooms(ctx); len(rooms) != 0 {
		t.Fatal("a memory store kept rooms across Close")
	}
}

func TestConfig(t *testing.T) {
	ctx := ctxT(t)
	for _, cfg := range []Config{
		{Mode: "disk"},
		{Mode: ModeFile},
		{Mode: ModeURL},
		{Mode: ModeMemory, MaxHistory: -1},
		{Mode: ModeMemory, MaxMessageBytes: MaxMessageBytesLimit + 1},
	} {
		if s, err := Open(ctx, cfg); err == nil {
			s.Close(ctx)
			t.Errorf("Open(%+v) succeeded", cfg)
		}
	}
	// An unreachable external server: ErrUnavailable, quickly.
	start := time.Now()
	_, err := Open(ctx, Config{Mode: ModeURL, URL: "nats://127.0.0.1:1"})
	if !errors.Is(err, ErrUnavailable) || time.Since(start) > 5*time.Second {
		t.Fatalf("Open of an unreachable URL: %v after %v", err, time.Since(start))
	}
	// A data directory that cannot be created.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := Open(ctx, Config{DataDir: file}); err == nil {
		t.Fatal("Open under a file succeeded")
	}
}

// TestLimitsChange: Open applies changed limits to the stream already
// there (a lower MaxHistory drops a room's oldest messages at once).
func TestLimitsChange(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxT(t)
	s := open(t, Config{DataDir: dir, MaxHistory: 10})
	var msgs []Message
	for i := range 20 {
		msgs = append(msgs, msg("sip:r@x", i))
	}
	appendAll(t, s, msgs)
	if got, _ := s.Last(ctx, "sip:r@x", 100, 0); len(got) != 10 || !bytes.Equal(got[0].Body, msgs[10].Body) {
		t.Fatalf("MaxHistory 10: %d messages", len(got))
	}
	s.Close(ctx)
	s = open(t, Config{DataDir: dir, MaxHistory: 5, MaxAge: time.Hour})
	if got, _ := s.Last(ctx, "sip:r@x", 100, 0); len(got) != 5 || !bytes.Equal(got[0].Body, msgs[15].Body) {
		t.Fatalf("MaxHistory 5: %d messages", len(got))
	}
	s.Close(ctx)
	s = open(t, Config{DataDir: dir})
	appendAll(t, s, msgs[:10])
	if got, _ := s.Last(ctx, "sip:r@x", 100, 0); len(got) != 15 {
		t.Fatalf("MaxHistory back to 1000: %d messages", len(got))
	}
}

// recordHandler keeps the log records at or above a level.
type recordHandler struct {
	mu    sync.Mutex
	level slog.Level
	recs  []string
}

func (h *recordHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Level.String()+" "+r.Message)
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

// TestQuietLog: a store's ordinary life (Open, appends, reads, Close, in
// both embedded modes) logs nothing at Info or above; the embedded
// server's banner is there at Debug.
func TestQuietLog(t *testing.T) {
	for _, mode := range []string{ModeFile, ModeMemory} {
		h := &recordHandler{level: slog.LevelDebug}
		ctx := ctxT(t)
		s, err := Open(ctx, Config{Mode: mode, DataDir: t.TempDir(), Logger: slog.New(h)})
		if err != nil {
			t.Fatal(err)
		}
		appendAll(t, s, []Message{msg("sip:q@x", 1)})
		s.SetCursor("sip:q@x", "sip:p@x", 1)
		if _, err := s.Last(ctx, "sip:q@x", 1, 0); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		h.mu.Lock()
		debug := 0
		for _, r := range h.recs {
			if strings.HasPrefix(r, "DEBUG") {
				debug++
				continue
			}
			t.Errorf("%s: logged %q", mode, r)
		}
		h.mu.Unlock()
		if debug == 0 {
			t.Errorf("%s: nothing of the server at Debug", mode)
		}
	}
}

// TestAckTimeout: an append whose acknowledgement never comes fails with
// ErrUnavailable after the bound, in its turn.
func TestAckTimeout(t *testing.T) {
	saved := ackTimeout
	ackTimeout = 100 * time.Millisecond
	s := memStore(t)
	ackTimeout = saved
	appendAll(t, s, []Message{msg("sip:r@x", 1)})
	if err := s.pub.sub.Unsubscribe(); err != nil { // acknowledgements are lost from now on
		t.Fatal(err)
	}
	start := time.Now()
	res := appendWait(t, s, []Message{msg("sip:r@x", 2), msg("sip:r@x", 3)})
	d := time.Since(start)
	for _, r := range res {
		if !errors.Is(r.err, ErrUnavailable) || !strings.Contains(r.err.Error(), "no acknowledgement") {
			t.Fatalf("append without acknowledgement: %v", r.err)
		}
	}
	if d < 100*time.Millisecond || d > 2*time.Second {
		t.Fatalf("failed after %v", d)
	}
	// They were stored all the same.
	if got, _ := s.Last(ctxT(t), "sip:r@x", 10, 0); len(got) != 3 {
		t.Fatalf("%d messages", len(got))
	}
}

// bothCaches runs a read test with the cache (the default) and without.
func bothCaches(t *testing.T, f func(*testing.T, int)) {
	t.Run("cache", func(t *testing.T) { f(t, 0) })
	t.Run("nocache", func(t *testing.T) { f(t, -1) })
}

// TestDataDirInUse: a second store on a data directory in use is refused
// with ErrInUse; once the first is closed it opens.
func TestDataDirInUse(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxT(t)
	s := fileStore(t, dir)
	if _, err := Open(ctx, Config{DataDir: dir, Logger: testLogger(t)}); !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	fileStore(t, dir)
}

// TestAckLost: an acknowledgement lost while later ones come fails its
// append after the bound, and the appends after it succeed.
func TestAckLost(t *testing.T) {
	saved := ackTimeout
	ackTimeout = 100 * time.Millisecond
	s := memStore(t)
	ackTimeout = saved
	// Publish one append's message with a reply nobody answers for it:
	// as if its acknowledgement were lost.
	res := make(chan result, 3)
	s.pub.mu.Lock()
	s.pub.pushLocked(pubEntry{done: func(seq uint64, err error) { res <- result{seq, err} }, at: time.Since(s.pub.base), sent: true})
	s.pub.mu.Unlock()
	for i := range 2 {
		s.Append(msg("sip:r@x", i), func(seq uint64, err error) { res <- result{seq, err} })
	}
	start := time.Now()
	lost := <-res
	if !errors.Is(lost.err, ErrUnavailable) || time.Since(start) > 3*time.Second {
		t.Fatalf("lost acknowledgement: %v after %v", lost.err, time.Since(start))
	}
	for range 2 {
		if r := <-res; r.err != nil || r.seq == 0 {
			t.Fatalf("append after the lost one: %v", r.err)
		}
	}
}
