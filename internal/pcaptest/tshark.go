package pcaptest

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// Tshark returns the path of Wireshark's tshark (Debian package tshark).
// Without it the test fails when CI is set (.ci/run installs it) and is
// skipped elsewhere.
func Tshark(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tshark is not installed; .ci/run must install it (apt-get install tshark)")
		}
		t.Skip("tshark not installed (apt-get install tshark); CI runs this test")
	}
	return p
}

// RunTshark runs tshark with args and a clean profile (HOME set to a
// temporary directory) and returns its standard output; a failure fails
// the test with tshark's standard error.
func RunTshark(t testing.TB, tshark string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tshark, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}
