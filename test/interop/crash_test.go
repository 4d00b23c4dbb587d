package interop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/cpim"
	"github.com/parley-im/parley/internal/store"
)

// TestCrashLosesNothingAnswered: four clients send numbered messages to a
// room of a parleyd process keeping history on disk (its embedded NATS
// JetStream in the data directory), each waiting for the 200 of one
// before sending the next; parleyd is killed with SIGKILL in the middle of
// the load. Every message that was answered 200 must then be in the
// room's stored history exactly once and in its sender's order (issue 16:
// a 200 means the message is stored), and parleyd must start again on
// that data directory and replay the latest of them to a newcomer.
func TestCrashLosesNothingAnswered(t *testing.T) {
	const senders, perSender = 4, 400
	bin := buildParleyd(t)
	dir := t.TempDir()
	conf := filepath.Join(t.TempDir(), "parleyd.toml")
	if err := os.WriteFile(conf, []byte("[rooms]\nhistory = 10000\nsystem_messages = false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startParleyd(t, bin, "-config", conf, "-data-dir", dir, "-store", "file")
	roomURI := "sip:crash@" + d.sipTCP

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	acked := make([][]int, senders) // the numbers each sender got a 200 for
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	enough := make(chan struct{})
	var once sync.Once
	for k := range senders {
		s, err := client.Join(ctx, roomURI, client.Options{From: fmt.Sprintf("sip:s%d@example.com", k), Transport: "tcp", Timeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("sender %d: %v\n%s", k, err, d.log.String())
		}
		wg.Go(func() {
			defer func() { // the server is gone: do not wait long for its answer
				lctx, lcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				s.Leave(lctx)
				lcancel()
			}()
			for i := range perSender {
				if err := s.Send(ctx, fmt.Sprintf("s%d-%d", k, i)); err != nil {
					return // parleyd was killed
				}
				mu.Lock()
				acked[k] = append(acked[k], i)
				total++
				if total >= senders*perSender/2 {
					once.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-enough:
	case <-ctx.Done():
		t.Fatal("the load never got halfway")
	}
	if err := d.cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, no flush
		t.Fatal(err)
	}
	<-d.done
	wg.Wait()
	mu.Lock()
	t.Logf("killed parleyd with %d messages answered 200 (of %d attempted at most)", total, senders*perSender)
	mu.Unlock()

	// What the data directory holds, read with the store itself.
	st, err := store.Open(ctx, store.Config{Mode: store.ModeFile, DataDir: dir, MaxHistory: 10000})
	if err != nil {
		t.Fatalf("reopening the store after the crash: %v", err)
	}
	msgs, more, err := st.After(ctx, "sip:crash@127.0.0.1", 0, 100000)
	st.Close(ctx)
	if err != nil || more {
		t.Fatalf("reading the room's history: %v (more: %v)", err, more)
	}
	seen := make([]map[int]int, senders) // number → count, per sender
	last := make([]int, senders)
	for k := range senders {
		seen[k], last[k] = map[int]int{}, -1
	}
	for _, m := range msgs {
		cm, err := cpim.Parse(m.Body)
		if err != nil {
			t.Fatalf("stored message %d: %v", m.Seq, err)
		}
		var k, i int
		if _, err := fmt.Sscanf(string(cm.Body), "s%d-%d", &k, &i); err != nil || k < 0 || k >= senders {
			t.Fatalf("stored message %d: %q", m.Seq, cm.Body)
		}
		seen[k][i]++
		if i <= last[k] {
			t.Errorf("sender %d: message %d stored after %d (out of order or twice)", k, i, last[k])
		}
		last[k] = i
	}
	lost := 0
	for k := range senders {
		for _, i := range acked[k] {
			if seen[k][i] != 1 {
				lost++
				if lost <= 10 {
					t.Errorf("sender %d: message %d was answered 200 and is stored %d times", k, i, seen[k][i])
				}
			}
		}
	}
	t.Logf("%d messages in the store after the crash; %d answered 200 missing or doubled", len(msgs), lost)

	// parleyd starts again on the data directory and replays the latest.
	d = startParleyd(t, bin, "-config", conf, "-data-dir", dir, "-store", "file")
	roomURI = "sip:crash@" + d.sipTCP
	late, err := client.Join(ctx, roomURI, client.Options{From: "sip:late@example.com", Transport: "tcp", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("joining the restarted parleyd: %v\n%s", err, d.log.String())
	}
	want := msgs[len(msgs)-1]
	wantBody, _ := cpim.Parse(want.Body)
	timeout := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case m := <-late.Messages():
			if m.History.IsZero() {
				t.Fatalf("a live message before the history was over: %q", m.Body)
			}
			done = string(m.Body) == string(wantBody.Body)
		case <-timeout:
			t.Fatalf("the newcomer never got the last stored message %q as history", wantBody.Body)
		}
	}
	late.Leave(ctx)
	d.stop(t)
	if strings.Contains(d.log.String(), "level=ERROR") {
		t.Errorf("the restarted parleyd logged errors:\n%s", d.log.String())
	}
}
