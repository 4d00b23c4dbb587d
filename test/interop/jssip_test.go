package interop

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// jssipDir holds the JsSIP client (package.json, package-lock.json and
// subscribe.js); `npm ci` there installs its node_modules.
func jssipDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(moduleRoot(t), "test", "interop", "jssip")
}

// needJsSIP requires node and the installed JsSIP client, failing in CI and
// skipping elsewhere, and returns node's path.
func needJsSIP(t *testing.T) string {
	t.Helper()
	node := needTool(t, "node", "nodejs")
	for _, pkg := range []string{"jssip", "ws"} {
		if _, err := os.Stat(filepath.Join(jssipDir(t), "node_modules", pkg, "package.json")); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed: run npm ci in test/interop/jssip (.ci/run does)", pkg)
			}
			t.Skipf("%s not installed (cd test/interop/jssip && npm ci); CI runs this test", pkg)
		}
	}
	return node
}

var (
	httpsAddrRe = regexp.MustCompile(`msg="parleyd listening" .*\bhttps=(\S+)`)
	selfCertRe  = regexp.MustCompile(`msg="TLS certificate: self-signed[^"]*" file=("(?:[^"\\]|\\.)*"|\S+)`)
)

// logValue is the first submatch of re in parleyd's log, unquoted.
func logValue(t *testing.T, d *daemon, re *regexp.Regexp, what string) string {
	t.Helper()
	m := re.FindStringSubmatch(d.log.String())
	if m == nil || m[1] == `""` {
		t.Fatalf("parleyd did not log %s:\n%s", what, d.log.String())
	}
	v := m[1]
	if strings.HasPrefix(v, `"`) {
		u, err := strconv.Unquote(v)
		if err != nil {
			t.Fatalf("%s %s: %v", what, v, err)
		}
		v = u
	}
	return v
}

// TestJsSIPOverWSS: JsSIP (npm, under node), a third-party SIP stack,
// connects to parleyd's HTTPS port over WSS with the sip subprotocol (RFC
// 7118), verifying the self-signed certificate parleyd made in its data
// directory. It registers nothing: OPTIONS to a configured room and to the
// server, each answered 200; a SUBSCRIBE to the room's conference events
// (RFC 4575), accepted; a NOTIFY with the room's conference-info document
// over the same WebSocket connection; an unsubscription ended by the final
// NOTIFY. The client's WebSocket messages and parleyd's SIP trace are
// logged with -v and on failure.
func TestJsSIPOverWSS(t *testing.T) {
	node := needJsSIP(t)
	const room = "jssip-lobby"
	tmp := t.TempDir()
	conf := filepath.Join(tmp, "parleyd.toml")
	toml := "[[room]]\nname = \"" + room + "\"\nsubject = \"JsSIP interop\"\n"
	if err := os.WriteFile(conf, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(tmp, "data")
	d := startParleyd(t, buildParleyd(t), "-config", conf, "-data-dir", dataDir, "-https", "127.0.0.1:0", "-trace")
	https := logValue(t, d, httpsAddrRe, "its HTTPS address")
	ca := logValue(t, d, selfCertRe, "its self-signed certificate's file")
	if want := filepath.Join(dataDir, "parley-selfsigned.crt"); ca != want {
		t.Errorf("certificate file %s, want %s in the data directory", ca, want)
	}
	roomURI := "sip:" + room + "@127.0.0.1"
	url := "wss://" + https + "/"

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "subscribe.js", url, roomURI, ca)
	cmd.Dir = jssipDir(t)
	cmd.Env = append(os.Environ(), "PARLEY_JSSIP_TRACE=1", "PARLEY_JSSIP_TIMEOUT_MS=15000")
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := stdout.String()
	t.Logf("JsSIP's results:\n%s\nJsSIP's WebSocket messages:\n%s", out, stderr.String())
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Errorf("subscribe.js did not end within 30 s")
		}
		t.Fatalf("subscribe.js failed: %v\n%s\nparleyd's log:\n%s", err, lastLines(stderr.String(), 3), d.log.String())
	}

	q := regexp.QuoteMeta
	for _, want := range []struct{ what, re string }{
		{"the sip subprotocol", `(?m)^connected url=` + q(url) + ` protocol=sip$`},
		{"OPTIONS to the room answered 200", `(?m)^options target=` + q(roomURI) + ` request-uri=` + q(roomURI) + ` status=200 `},
		{"OPTIONS to the server answered 200", `(?m)^options target=sip:127\.0\.0\.1 request-uri=sip:127\.0\.0\.1 status=200 `},
		{"SUBSCRIBE answered 2xx", `(?m)^subscribe status=2\d\d `},
		{"SUBSCRIBE accepted", `(?m)^subscribe accepted$`},
		// The entity is the room's canonical URI (issue 19): its name at
		// server.host and the SIP port, whatever URI and transport (here
		// WSS) the subscriber used.
		{"a NOTIFY with the room's conference-info", `(?m)^notify final=false content-type="application/conference-info\+xml[^"]*" entity="` + q("sip:"+room+"@"+d.sipTCP) + `" state="full" `},
		{"the unsubscription ended by a final NOTIFY", `(?m)^unsubscribed code=FINAL_NOTIFY_RECEIVED `},
		{"a clean stop", `(?m)^done$`},
	} {
		if !regexp.MustCompile(want.re).MatchString(out) {
			t.Errorf("JsSIP: no %s (want a line matching %s)", want.what, want.re)
		}
	}
	if strings.Contains(d.log.String(), "level=ERROR") {
		t.Errorf("parleyd logged errors:\n%s", d.log.String())
	}
	// -trace shows the raw SIP of the WebSocket, both ways.
	for _, want := range []string{`msg="SIP in" proto=SIP transport=WSS`, `raw="SUBSCRIBE ` + roomURI, `msg="SIP out"`, `raw="NOTIFY sip:`} {
		if !strings.Contains(d.log.String(), want) {
			t.Errorf("parleyd's -trace log has no %s", want)
		}
	}
	d.stop(t)
	if t.Failed() {
		t.Logf("parleyd's log:\n%s", d.log.String())
	}
}
