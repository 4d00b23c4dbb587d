package interop

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/servertest"
)

// needTool finds a third-party tool, failing in CI and skipping elsewhere.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; .ci/run must install the Debian package %s", name, pkg)
		}
		t.Skipf("%s not installed (apt-get install %s); CI runs this test", name, pkg)
	}
	return p
}

// moduleRoot is the repository root (two levels up from test/interop).
func moduleRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(filepath.Dir(wd))
}

// buildParleyd compiles cmd/parleyd into a temporary directory.
func buildParleyd(t *testing.T) string {
	t.Helper()
	return buildCommand(t, "parleyd")
}

// buildCommand compiles cmd/<name> into a temporary directory.
func buildCommand(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/"+name)
	cmd.Dir = moduleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// daemon is a running parleyd.
type daemon struct {
	cmd    *exec.Cmd
	log    *servertest.LogBuffer
	sipUDP string
	sipTCP string
	msrp   string
	done   chan error
}

var listening = regexp.MustCompile(`msg="parleyd listening" sip_udp=(\S+) sip_tcp=(\S+) msrp=(\S+)`)

// startParleyd starts bin on random loopback ports and waits for the line
// that says where it listens.
func startParleyd(t *testing.T, bin string, extra ...string) *daemon {
	t.Helper()
	// No TLS (no certificate) and history in memory: nothing written to
	// the working directory. extra may turn either back on.
	args := append([]string{"-sip-udp", "127.0.0.1:0", "-sip-tcp", "127.0.0.1:0", "-msrp", "127.0.0.1:0", "-sip-tls=", "-msrp-tls=", "-https=", "-store", "memory"}, extra...)
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, log: &servertest.LogBuffer{}, done: make(chan error, 1)}
	found := make(chan []string, 1)
	go func() { // reads parleyd's log until it exits
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(d.log, line)
			if m := listening.FindStringSubmatch(line); m != nil {
				found <- m
			}
		}
		io.Copy(io.Discard, stderr)
		d.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	select {
	case m := <-found:
		d.sipUDP, d.sipTCP, d.msrp = m[1], m[2], m[3]
	case err := <-d.done:
		t.Fatalf("parleyd exited before listening: %v\n%s", err, d.log.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("parleyd did not report its addresses:\n%s", d.log.String())
	}
	return d
}

// stop sends SIGTERM and expects a clean exit within the shutdown timeout.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("parleyd exited with %v\n%s", err, d.log.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("parleyd did not stop on SIGTERM\n%s", d.log.String())
	}
	if !strings.Contains(d.log.String(), `msg=stopped`) {
		t.Errorf("parleyd did not log a clean stop:\n%s", d.log.String())
	}
}

// runSipp runs a scenario of test/sipp against addr and requires every call
// to succeed (sipp exits 0 only then).
func runSipp(t *testing.T, sipp, scenarioFile, transport, addr string, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	scenario := filepath.Join(moduleRoot(t), "test", "sipp", scenarioFile)
	full := append([]string{"-sf", scenario, "-t", transport, "-i", "127.0.0.1", "-nostdin",
		"-timeout", "60s", "-timeout_error", "-trace_err", "-error_file", filepath.Join(dir, "errors.log")}, args...)
	full = append(full, addr)
	cmd := exec.CommandContext(ctx, sipp, full...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		errs, _ := os.ReadFile(filepath.Join(dir, "errors.log"))
		t.Fatalf("sipp %s failed: %v\n%s\nerrors:\n%.4000s", transport, err, lastLines(string(out), 30), errs)
	}
	return string(out)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// sippBothTransports runs scenario against d over UDP and then TCP, calls
// calls at rate per second each, with -s room (suffixed with the transport,
// u1 or t1, when it ends in "-"), and requires every call to succeed.
func sippBothTransports(t *testing.T, sipp string, d *daemon, scenario, room string, calls, rate int) {
	t.Helper()
	sippTransports(t, sipp, d, scenario, scenario, room, calls, rate)
}

// sippTransports is sippBothTransports with a scenario of its own for each
// transport.
func sippTransports(t *testing.T, sipp string, d *daemon, udpScenario, tcpScenario, room string, calls, rate int) {
	t.Helper()
	for _, tc := range []struct{ transport, addr, scenario string }{{"u1", d.sipUDP, udpScenario}, {"t1", d.sipTCP, tcpScenario}} {
		scenario := tc.scenario
		service := room
		if strings.HasSuffix(room, "-") {
			service += tc.transport
		}
		out := runSipp(t, sipp, scenario, tc.transport, tc.addr, "-s", service, "-m", strconv.Itoa(calls), "-r", strconv.Itoa(rate))
		m := successfulRe.FindAllStringSubmatch(out, -1)
		if len(m) == 0 || m[len(m)-1][1] != strconv.Itoa(calls) {
			t.Errorf("sipp over %s: want %d successful calls:\n%s", tc.transport, calls, lastLines(out, 30))
		}
	}
}

// successful extracts sipp's cumulative successful-call count.
var successfulRe = regexp.MustCompile(`Successful call\s+\|\s+\d+\s+\|\s+(\d+)`)

// TestSippJoinLeave: sipp joins a room of the real parleyd binary over UDP
// and over TCP (INVITE with an MSRP offer → 200 from a focus with a=path and
// a=chatroom → ACK → BYE), and parleyd then stops cleanly on SIGTERM.
func TestSippJoinLeave(t *testing.T) {
	sipp := needTool(t, "sipp", "sip-tester")
	d := startParleyd(t, buildParleyd(t))
	sippBothTransports(t, sipp, d, "join.xml", "chatroom22", 25, 50)
	if strings.Contains(d.log.String(), "level=ERROR") {
		t.Errorf("parleyd logged errors:\n%s", d.log.String())
	}
	d.stop(t)
}

// TestSippUnboundSessionTimesOut: sipp joins but never connects to the MSRP
// switch; when the bind timer (here 300 ms) expires the focus ends each
// dialog with BYE, which the scenario requires and answers.
func TestSippUnboundSessionTimesOut(t *testing.T) {
	sipp := needTool(t, "sipp", "sip-tester")
	conf := filepath.Join(t.TempDir(), "parleyd.toml")
	if err := os.WriteFile(conf, []byte("[msrp]\nbind_timeout = \"300ms\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startParleyd(t, buildParleyd(t), "-config", conf)
	sippBothTransports(t, sipp, d, "join-unbound.xml", "quiet", 5, 20)
	if n := strings.Count(d.log.String(), "reason=bind-timeout"); n != 10 {
		t.Errorf("parleyd logged %d bind timeouts, want 10:\n%s", n, d.log.String())
	}
	d.stop(t)
}

// TestSippSubscribe: sipp watches a configured room through the conference
// event package over UDP and TCP, outside any INVITE dialog (SUBSCRIBE →
// 200 → NOTIFY whose conference-info body the scenario checks → 200 →
// unsubscribe → final NOTIFY). Over UDP a pending NOTIFY without a body
// comes first, until sipp has answered one (subscribe-udp.xml).
func TestSippSubscribe(t *testing.T) {
	sipp := needTool(t, "sipp", "sip-tester")
	conf := filepath.Join(t.TempDir(), "parleyd.toml")
	toml := "[[room]]\nname = \"lobby\"\nsubject = \"Welcome to parley\"\n"
	if err := os.WriteFile(conf, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startParleyd(t, buildParleyd(t), "-config", conf)
	sippTransports(t, sipp, d, "subscribe-udp.xml", "subscribe.xml", "lobby", 10, 20)
	if strings.Contains(d.log.String(), "level=ERROR") {
		t.Errorf("parleyd logged errors:\n%s", d.log.String())
	}
	d.stop(t)
}

// TestSippJoinSubscribe: sipp joins a room of its own and subscribes inside
// its INVITE dialog; the NOTIFY must list it (user, display text, endpoint).
func TestSippJoinSubscribe(t *testing.T) {
	sipp := needTool(t, "sipp", "sip-tester")
	d := startParleyd(t, buildParleyd(t))
	sippBothTransports(t, sipp, d, "join-subscribe.xml", "watch-", 10, 20)
	if strings.Contains(d.log.String(), "level=ERROR") {
		t.Errorf("parleyd logged errors:\n%s", d.log.String())
	}
	d.stop(t)
}

// TestSippDigestAuth: an account made by parleyd user add joins with
// sipp's digest authentication (-au/-ap: a 401, then the INVITE again
// with credentials, RFC 3261 §22.2) over UDP and TCP; the same account's
// URI without credentials is challenged and never admitted (issue 17).
func TestSippDigestAuth(t *testing.T) {
	sipp := needTool(t, "sipp", "sip-tester")
	bin := buildParleyd(t)
	data := t.TempDir()
	add := exec.Command(bin, "user", "add", "alice", "-data-dir", data)
	add.Stdin = strings.NewReader("wonderland\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("parleyd user add: %v\n%s", err, out)
	}
	// sipp 3.6 computes only MD5 and answers the first challenge: offer
	// MD5 alone (sip.digest_algorithms; the default offers SHA-256 first).
	conf := filepath.Join(t.TempDir(), "parleyd.toml")
	if err := os.WriteFile(conf, []byte("[sip]\ndigest_algorithms = [\"MD5\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startParleyd(t, bin, "-store", "file", "-data-dir", data, "-config", conf)
	inf := filepath.Join(t.TempDir(), "accounts.csv")
	if err := os.WriteFile(inf, []byte("SEQUENTIAL\nalice;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ transport, addr string }{{"u1", d.sipUDP}, {"t1", d.sipTCP}} {
		out := runSipp(t, sipp, "join-auth.xml", tc.transport, tc.addr, "-inf", inf, "-au", "alice", "-ap", "wonderland", "-s", "authed", "-m", "5", "-r", "20")
		if n := successful(out); n != 5 {
			t.Errorf("sipp over %s with credentials: %d successful calls, want 5:\n%s", tc.transport, n, lastLines(out, 30))
		}
		out = runSipp(t, sipp, "join-noauth.xml", tc.transport, tc.addr, "-inf", inf, "-s", "authed", "-m", "3", "-r", "20")
		if n := successful(out); n != 3 {
			t.Errorf("sipp over %s without credentials: %d calls challenged, want 3:\n%s", tc.transport, n, lastLines(out, 30))
		}
	}
	if strings.Contains(d.log.String(), "level=ERROR") {
		t.Errorf("parleyd logged errors:\n%s", d.log.String())
	}
	d.stop(t)
}

// successful is sipp's last cumulative successful-call count in out.
func successful(out string) int {
	m := successfulRe.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}
