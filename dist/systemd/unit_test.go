// Package systemd_test checks dist/systemd: the unit parleyd.service and
// the sysusers.d entry of its user, with systemd's own tools
// (systemd-analyze verify and security, systemd-sysusers --dry-run; Debian
// package systemd), and the production configuration of
// docs/OPERATIONS.md against parleyd's configuration and the unit.
//
// Without systemd-analyze these tests fail when CI is set (.ci/run
// installs the package) and are skipped elsewhere.
package systemd_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/config"
)

const (
	unitFile     = "parleyd.service"
	sysusersFile = "parleyd.sysusers.conf"
	installedBin = "/usr/local/bin/parleyd"     // where the unit expects the binary
	installedCfg = "/etc/parleyd/parleyd.toml"  // and its configuration
	opsDoc       = "../../docs/OPERATIONS.md"   // relative to this directory
	prodMarker   = "<!-- production-config -->" // precedes the checked example in opsDoc
	maxExposure  = 20                           // systemd-analyze security, 0–100 (shown as 0.0–10.0)
	stopMargin   = 10 * time.Second             // TimeoutStopSec over shutdown_timeout, for the store's close
)

// needTool finds a tool of the systemd package, failing in CI and
// skipping elsewhere.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; .ci/run must install the Debian package systemd", name)
		}
		t.Skipf("%s not installed (apt-get install systemd); CI runs this test", name)
	}
	return p
}

// unit is a unit file's assignments, in order, by section.
type unit struct {
	raw  string
	keys map[string][][2]string // section → (key, value) pairs
}

func (u unit) all(section, key string) []string {
	var vs []string
	for _, kv := range u.keys[section] {
		if kv[0] == key {
			vs = append(vs, kv[1])
		}
	}
	return vs
}

// one is the value of a key that must be set exactly once.
func (u unit) one(t *testing.T, section, key string) string {
	t.Helper()
	vs := u.all(section, key)
	if len(vs) != 1 {
		t.Fatalf("%s: [%s] %s is set %d times, want once", unitFile, section, key, len(vs))
	}
	return vs[0]
}

// readUnit parses parleyd.service: sections, key=value lines, comments.
// The unit uses no line continuations.
func readUnit(t *testing.T) unit {
	t.Helper()
	data, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	u := unit{raw: string(data), keys: map[string][][2]string{}}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case strings.HasSuffix(line, "\\"):
			t.Fatalf("%s:%d: a line continuation; readUnit does not handle them", unitFile, n)
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not an assignment in a section: %q", unitFile, n, line)
			}
			u.keys[section] = append(u.keys[section], [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
		}
	}
	return u
}

// moduleRoot is the repository root, two levels up.
func moduleRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(filepath.Dir(wd))
}

// buildParleyd compiles cmd/parleyd once for every test of the package,
// into a directory TestMain removes.
func buildParleyd(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "parleyd-unit-test-")
		if err != nil {
			build.err = err
			return
		}
		build.dir, build.bin = dir, filepath.Join(dir, "parleyd")
		cmd := exec.Command("go", "build", "-o", build.bin, "./cmd/parleyd")
		cmd.Dir = moduleRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

var build struct {
	once     sync.Once
	dir, bin string
	err      error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// localUnit writes text as parleyd.service in a new temporary directory,
// with the installed binary's path replaced by bin (verify checks that
// every command is executable), and returns its path.
func localUnit(t *testing.T, text, bin string) string {
	t.Helper()
	if !strings.Contains(text, installedBin) {
		t.Fatalf("%s does not run %s", unitFile, installedBin)
	}
	path := filepath.Join(t.TempDir(), unitFile)
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(text, installedBin, bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// otherUnit matches a line about another unit (a dependency such as
// network-online.target, or a unit file of this machine): systemd-analyze
// may complain about those, which is not this unit's fault.
var otherUnit = regexp.MustCompile(`(^|[\s/'"])[\w@.\\:-]+\.(service|socket|target|slice|mount|automount|swap|path|timer|scope|device)(:|\s|'|"|$)`)

// verify runs systemd-analyze verify on the unit at path and returns the
// problems it reports about it: a non-zero exit (with --recursive-errors=no,
// any warning about the unit itself), every line that names the unit, and
// every line that names no other unit (some warnings about the unit's
// contents name nothing, e.g. an unusual User=). Lines about other units
// are logged only.
func verify(t *testing.T, analyze, path string) []string {
	t.Helper()
	cmd := exec.Command(analyze, "verify", "--recursive-errors=no", path)
	cmd.Dir = filepath.Dir(path)
	out, err := cmd.CombinedOutput()
	var problems []string
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.Contains(line, path), strings.Contains(line, unitFile):
			problems = append(problems, line)
		case otherUnit.MatchString(line):
			t.Logf("systemd-analyze verify, about another unit (ignored): %s", line)
		default:
			problems = append(problems, line)
		}
	}
	if err != nil {
		problems = append(problems, fmt.Sprintf("systemd-analyze verify: %v", err))
	}
	return problems
}

// TestUnitVerifies: systemd-analyze verify accepts parleyd.service without
// a warning, and its security review rates it at most maxExposure.
func TestUnitVerifies(t *testing.T) {
	analyze := needTool(t, "systemd-analyze")
	u := readUnit(t)
	path := localUnit(t, u.raw, buildParleyd(t))
	if problems := verify(t, analyze, path); len(problems) > 0 {
		t.Errorf("systemd-analyze verify %s:\n%s", unitFile, strings.Join(problems, "\n"))
	}
	cmd := exec.Command(analyze, "security", "--offline=yes", "--no-pager", fmt.Sprintf("--threshold=%d", maxExposure), path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze security: %v: the unit's exposure is over %d.%d\n%s", err, maxExposure/10, maxExposure%10, out)
	} else {
		last := strings.TrimSpace(string(out))
		if i := strings.LastIndexByte(last, '\n'); i >= 0 {
			last = last[i+1:]
		}
		t.Log(last)
	}
}

// TestVerifyCatchesMistakes: the check of TestUnitVerifies fails on a unit
// with a mistake, whether systemd-analyze names the unit, names nothing, or
// only exits non-zero.
func TestVerifyCatchesMistakes(t *testing.T) {
	analyze := needTool(t, "systemd-analyze")
	u := readUnit(t)
	bin := filepath.Join(t.TempDir(), "parleyd")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	mistakes := []struct{ name, old, new string }{
		{"unknown key", "\nNoNewPrivileges=yes\n", "\nNoNewPrivileges=yes\nProtectSytem=strict\n"},
		{"bad value", "\nRestart=on-failure\n", "\nRestart=sometimes\n"},
		{"bad time", "\nTimeoutStopSec=", "\nTimeoutStopSec=forty\nTimeoutStopSec="},
		{"unknown section", "\n[Install]\n", "\n[Instal]\n"},
		{"unknown syscall group", "\nSystemCallFilter=@system-service\n", "\nSystemCallFilter=@sytem-service\n"},
		{"odd user name", "\nUser=parleyd\n", "\nUser=parl eyd\n"},
		{"missing binary", "\nExecStart=" + installedBin, "\nExecStart=/nonexistent/parleyd"},
	}
	for _, m := range mistakes {
		t.Run(m.name, func(t *testing.T) {
			if !strings.Contains(u.raw, m.old) {
				t.Fatalf("%s has no %q to break", unitFile, m.old)
			}
			path := localUnit(t, strings.Replace(u.raw, m.old, m.new, 1), bin)
			if problems := verify(t, analyze, path); len(problems) == 0 {
				t.Errorf("no problem reported for a unit with %s (%q)", m.name, strings.TrimSpace(m.new))
			} else {
				t.Logf("reported: %s", strings.Join(problems, " | "))
			}
		})
	}
}

// TestSysusers: systemd-sysusers accepts parleyd.sysusers.conf and would
// create the user and group the unit runs as.
func TestSysusers(t *testing.T) {
	sysusers := needTool(t, "systemd-sysusers")
	u := readUnit(t)
	abs, err := filepath.Abs(sysusersFile)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	out, err := exec.Command(sysusers, "--root="+root, "--dry-run", abs).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-sysusers --dry-run %s: %v\n%s", sysusersFile, err, out)
	}
	user, group := u.one(t, "Service", "User"), u.one(t, "Service", "Group")
	for _, want := range []string{"Creating user '" + user + "'", "Creating group '" + group + "'"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("systemd-sysusers --dry-run %s does not say %q:\n%s", sysusersFile, want, out)
		}
	}
}

// TestUnitMatchesParleyd: what the unit assumes about parleyd holds. Every
// command that runs parleyd is accepted by it (flags that exist), given the
// production configuration of docs/OPERATIONS.md; that configuration keeps
// its data in the unit's state directory; the unit waits longer for a stop
// than parleyd's shutdown may take.
func TestUnitMatchesParleyd(t *testing.T) {
	u := readUnit(t)
	prod, path := productionConfig(t)

	state := u.one(t, "Service", "StateDirectory")
	if want := "/var/lib/" + state; prod.Server.DataDir != want {
		t.Errorf("the production configuration's server.data_dir is %q, want the unit's StateDirectory %q", prod.Server.DataDir, want)
	}
	if wd := u.one(t, "Service", "WorkingDirectory"); wd != "/var/lib/"+state {
		t.Errorf("WorkingDirectory=%s is not the state directory /var/lib/%s", wd, state)
	}
	if u.one(t, "Service", "Type") == "notify" {
		t.Error("Type=notify: parleyd does not send sd_notify")
	}

	stop, err := time.ParseDuration(u.one(t, "Service", "TimeoutStopSec"))
	if err != nil {
		t.Fatalf("TimeoutStopSec: %v", err)
	}
	for name, c := range map[string]*config.Config{"the default": config.Default(), "the production configuration's": prod} {
		if need := c.Server.ShutdownTimeout.Std() + stopMargin; stop < need {
			t.Errorf("TimeoutStopSec=%v: under %s server.shutdown_timeout (%v) + %v for the store", stop, name, c.Server.ShutdownTimeout.Std(), stopMargin)
		}
	}

	bin := buildParleyd(t)
	var ran int
	for _, key := range []string{"ExecStartPre", "ExecStart", "ExecReload"} {
		for _, line := range u.all("Service", key) {
			args := strings.Fields(line)
			if args[0] != installedBin {
				continue
			}
			if !slices.Contains(args, "-config") || !slices.Contains(args, installedCfg) {
				t.Errorf("%s=%s does not read %s", key, line, installedCfg)
			}
			for i, a := range args {
				if a == installedCfg {
					args[i] = path
				}
			}
			if !slices.Contains(args, "-t") {
				args = append(args, "-t") // check the flags and the file, do not start
			}
			out, err := exec.Command(bin, args[1:]...).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "configuration OK") {
				t.Errorf("%s=%s: parleyd %s: %v\n%s", key, line, strings.Join(args[1:], " "), err, out)
			}
			ran++
		}
	}
	if ran == 0 {
		t.Errorf("no Exec line of %s runs %s", unitFile, installedBin)
	}
	if got := u.all("Service", "ExecReload"); !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "-HUP $MAINPID") }) {
		t.Errorf("ExecReload does not send SIGHUP to $MAINPID: %q", got)
	}
}

// tomlBlocks returns the ```toml blocks of a Markdown document, each with
// the line it starts on, and the index of the one right after marker (-1
// if none).
func tomlBlocks(t *testing.T, doc string, marker string) (blocks []string, lines []int, marked int) {
	t.Helper()
	marked = -1
	var cur *strings.Builder
	afterMarker := false
	n := 0
	for line := range strings.Lines(doc) {
		n++
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && trimmed == "```toml":
			cur = &strings.Builder{}
			lines = append(lines, n+1)
			if afterMarker {
				marked = len(blocks)
			}
		case cur != nil && trimmed == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line)
		}
		if trimmed != "" && cur == nil && trimmed != "```" {
			afterMarker = trimmed == marker
		}
	}
	if cur != nil {
		t.Fatalf("%s: a ```toml block is not closed", opsDoc)
	}
	return blocks, lines, marked
}

// productionConfig parses every ```toml example of docs/OPERATIONS.md as a
// configuration file (so that the guide names no key parleyd does not
// have), and returns the one after the production-config marker, also
// written to a temporary file whose path it returns.
func productionConfig(t *testing.T) (*config.Config, string) {
	t.Helper()
	data, err := os.ReadFile(opsDoc)
	if err != nil {
		t.Fatal(err)
	}
	blocks, lines, marked := tomlBlocks(t, string(data), prodMarker)
	if marked < 0 {
		t.Fatalf("%s: no ```toml block right after %s", opsDoc, prodMarker)
	}
	var prod *config.Config
	for i, b := range blocks {
		// Blank lines before the block: the errors' line numbers are the
		// document's.
		padded := strings.Repeat("\n", lines[i]-1) + b
		c, err := config.Parse("docs/OPERATIONS.md", []byte(padded))
		if err != nil {
			t.Errorf("the example at docs/OPERATIONS.md:%d is not a valid configuration: %v", lines[i], err)
			continue
		}
		if i == marked {
			prod = c
		}
	}
	if prod == nil {
		t.FailNow()
	}
	path := filepath.Join(t.TempDir(), "parleyd.toml")
	if err := os.WriteFile(path, []byte(blocks[marked]), 0o600); err != nil {
		t.Fatal(err)
	}
	return prod, path
}
