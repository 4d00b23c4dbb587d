package buildinfo

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestFromBuildInfo: the version, the vcs.* settings, the toolchain and the
// platform are read from a build's information, and String is one line.
func TestFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/parley-im/parley", Version: "v0.0.0-20261207150000-abcdef1234567890+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "-trimpath", Value: "true"},
			{Key: "GOARCH", Value: "arm64"},
			{Key: "GOOS", Value: "freebsd"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "abcdef1234567890abcdef1234567890abcdef12"},
			{Key: "vcs.time", Value: "2026-12-07T15:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	got := FromBuildInfo(bi)
	want := Info{
		Version:   "v0.0.0-20261207150000-abcdef1234567890+dirty",
		Revision:  "abcdef1234567890abcdef1234567890abcdef12",
		Time:      "2026-12-07T15:00:00Z",
		Modified:  true,
		GoVersion: "go1.26.8",
		Platform:  "freebsd/arm64",
	}
	if got != want {
		t.Fatalf("FromBuildInfo = %+v, want %+v", got, want)
	}
	const line = "v0.0.0-20261207150000-abcdef1234567890+dirty (revision abcdef123456, modified, 2026-12-07T15:00:00Z) go1.26.8 freebsd/arm64"
	if s := got.String(); s != line {
		t.Fatalf("String = %q, want %q", s, line)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	const js = `{"version":"v0.0.0-20261207150000-abcdef1234567890+dirty","revision":"abcdef1234567890abcdef1234567890abcdef12","time":"2026-12-07T15:00:00Z","modified":true,"go_version":"go1.26.8","platform":"freebsd/arm64"}`
	if string(b) != js {
		t.Fatalf("JSON = %s, want %s", b, js)
	}

	clean := FromBuildInfo(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456"}, {Key: "vcs.modified", Value: "false"}}})
	if s := clean.String(); s != "v1.2.3 (revision 0123456) go1.26.8 "+runtime.GOOS+"/"+runtime.GOARCH {
		t.Fatalf("a clean build without vcs.time: %q", s)
	}
}

// TestDevel: without a module version or VCS information (go run, go test)
// the version is (devel) and the revision unknown; without any build
// information the running toolchain and platform are still named.
func TestDevel(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	for name, bi := range map[string]*debug.BuildInfo{
		"devel": {GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
		"empty": {GoVersion: "go1.26.8"},
		"nil":   nil,
	} {
		t.Run(name, func(t *testing.T) {
			got := FromBuildInfo(bi)
			goVersion := "go1.26.8"
			if bi == nil {
				goVersion = runtime.Version()
			}
			want := Info{Version: Devel, GoVersion: goVersion, Platform: platform}
			if got != want {
				t.Fatalf("FromBuildInfo = %+v, want %+v", got, want)
			}
			if s := got.String(); s != "(devel) (revision unknown) "+goVersion+" "+platform {
				t.Fatalf("String = %q", s)
			}
		})
	}
	if s := (Info{}).String(); s != "(devel) (revision unknown)" {
		t.Fatalf("the zero Info: %q", s)
	}
}

// TestRead: the test binary's own build information is read; it has a Go
// version and the running platform.
func TestRead(t *testing.T) {
	i := Read()
	if i.Version == "" || i.GoVersion != runtime.Version() || i.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Fatalf("Read = %+v", i)
	}
	if s := i.String(); strings.Contains(s, "\n") || !strings.HasSuffix(s, runtime.Version()+" "+i.Platform) {
		t.Fatalf("String = %q", s)
	}
}
