package main

import (
	"regexp"
	"testing"

	"github.com/parley-im/parley/internal/buildinfo"
)

// TestVersion: parleyd -version, --version and version print one line, the
// binary's build information (a test binary's: (devel), revision unknown).
func TestVersion(t *testing.T) {
	line := regexp.MustCompile(`^parleyd \S+ \(revision (unknown|[0-9a-f]{1,12})(, modified)?(, \S+)?\) go\S+ [a-z0-9]+/[a-z0-9]+\n$`)
	for _, arg := range []string{"-version", "--version", "version"} {
		code, out, errOut := parleyd(t, arg)
		if code != 0 || errOut != "" || !line.MatchString(out) || out != "parleyd "+buildinfo.Read().String()+"\n" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", arg, code, out, errOut)
		}
	}
	if code, out, errOut := parleyd(t, "version", "extra"); code != 2 || out != "" || errOut == "" {
		t.Errorf("version extra: exit %d, stdout %q, stderr %q; want a usage error", code, out, errOut)
	}
}
