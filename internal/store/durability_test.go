package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// crashEnv names the data directory of the crash helper: when it is set,
// the test binary is the helper (TestMain), not the tests.
const crashEnv = "PARLEY_STORE_CRASH_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashHelper(dir)
		return
	}
	code := m.Run()
	if code == 0 {
		// Every goroutine of the stores, their connections and embedded
		// servers is gone once they are closed.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left behind:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// crashRooms rooms keep up to crashHistory messages each: more than the
// crash tests append, so that every acknowledged message must be there.
const (
	crashRooms   = 10
	crashHistory = 1_000_000
)

func crashBody(i int) []byte {
	return fmt.Appendf(nil, "From: <sip:u@x>\r\n\r\nContent-Type: text/plain\r\n\r\nmessage %d\r\n%s", i, bytes.Repeat([]byte{byte(i)}, i%200))
}

// crashHelper appends to a file store as fast as it can, printing
// "<index> <seq>" for each append acknowledged, until it is killed (or
// after a bound, so that it never outlives a broken test).
func crashHelper(dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Open(ctx, Config{DataDir: dir, MaxHistory: crashHistory})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	fmt.Println("ready")
	first, _ := strconv.Atoi(os.Getenv(crashEnv + "_FIRST"))
	for i := first; i < first+2_000_000 && ctx.Err() == nil; i++ {
		s.Append(Message{Room: fmt.Sprintf("sip:crash%d@x", i%crashRooms), Sender: "sip:u@x", Body: crashBody(i)}, func(seq uint64, err error) {
			if err != nil {
				return
			}
			mu.Lock()
			fmt.Fprintf(out, "%d %d\n", i, seq)
			if out.Buffered() > 2048 {
				out.Flush()
			}
			mu.Unlock()
		})
	}
	os.Exit(3)
}

// checkRecovered opens dir and checks that every acknowledged append
// (index → seq) is there with its body, once, and that each room's
// messages are in append order with nothing but appended messages.
func checkRecovered(t *testing.T, dir string, acked map[int]uint64) {
	t.Helper()
	s := open(t, Config{DataDir: dir, MaxHistory: crashHistory})
	ctx := ctxT(t)
	found := 0
	for r := range crashRooms {
		room := fmt.Sprintf("sip:crash%d@x", r)
		last := -1
		var after uint64
		for {
			page, more, err := s.After(ctx, room, after, 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page {
				body := string(m.Body)
				k := strings.Index(body, "message ")
				e := strings.Index(body[k:], "\r\n")
				i, err := strconv.Atoi(body[k+len("message ") : k+e])
				if k < 0 || err != nil || !bytes.Equal(m.Body, crashBody(i)) || i%crashRooms != r {
					t.Fatalf("%s: a message never appended: seq %d %q", room, m.Seq, body[:min(len(body), 80)])
				}
				if i <= last {
					t.Fatalf("%s: message %d after %d: out of order or twice", room, i, last)
				}
				last = i
				if seq, ok := acked[i]; ok {
					if seq != m.Seq {
						t.Fatalf("message %d acknowledged with seq %d, stored at %d", i, seq, m.Seq)
					}
					found++
				}
				after = m.Seq
			}
			if !more {
				break
			}
		}
	}
	if found != len(acked) {
		t.Fatalf("%d of %d acknowledged messages recovered", found, len(acked))
	}
}

// TestCrashKill runs the helper in a child process and kills it with
// SIGKILL while appends are in flight, twice on the same directory (the
// second run recovers from the first kill, then appends more): everything
// the helper saw acknowledged is in the store, once and in order.
func TestCrashKill(t *testing.T) {
	dir := t.TempDir()
	acked := map[int]uint64{}
	crashRun(t, dir, 0, 10000, acked)
	crashRun(t, dir, 1_000_000_000, 3000, acked)
	checkRecovered(t, dir, acked)
}

// crashRun runs the helper with appends numbered from first and kills it
// after killAfter acknowledgements, adding them to acked.
func crashRun(t *testing.T, dir string, first, killAfter int, acked map[int]uint64) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir, crashEnv+"_FIRST="+strconv.Itoa(first))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	lines := bufio.NewScanner(stdout)
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("helper: %q %v", lines.Text(), lines.Err())
	}
	n := 0
	for lines.Scan() {
		var i int
		var seq uint64
		if _, err := fmt.Sscanf(lines.Text(), "%d %d", &i, &seq); err != nil {
			break // the line the kill cut
		}
		acked[i] = seq
		if n++; n == killAfter && !killed {
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
	}
	io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	if !killed {
		t.Fatalf("helper ended before the kill after %d acks: %v", n, err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("helper not killed: %v", err)
	}
	t.Logf("%d appends acknowledged before and around the kill", n)
}

// TestCrashCopy is the same proof in-process: while the embedded server
// runs and appends keep coming, the data directory is copied as it is on
// disk (what a kill -9 at that moment would leave: the files as the
// operating system has them); the copy, opened as a store, has every
// append acknowledged before the copy began.
func TestCrashCopy(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Config{DataDir: dir, MaxHistory: crashHistory})
	var mu sync.Mutex
	acked := map[int]uint64{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			s.Append(Message{Room: fmt.Sprintf("sip:crash%d@x", i%crashRooms), Sender: "sip:u@x", Body: crashBody(i)}, func(seq uint64, err error) {
				if err == nil {
					mu.Lock()
					acked[i] = seq
					mu.Unlock()
				}
			})
		}
	}()
	waitFor(t, 20*time.Second, "5000 acknowledgements", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 5000
	})
	mu.Lock()
	before := make(map[int]uint64, len(acked))
	for i, seq := range acked {
		before[i] = seq
	}
	mu.Unlock()
	cp := t.TempDir()
	if err := copyDir(dir, cp); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d appends acknowledged before the copy", len(before))
	checkRecovered(t, cp, before)
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			if os.IsNotExist(err) {
				return nil // removed meanwhile (a compacted block)
			}
			return err
		}
		return os.WriteFile(to, data, 0o600)
	})
}
